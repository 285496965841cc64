// JPEG artefacts: lossy but faithful on average, blockier at lower quality, and off unless asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jpegArtefacts } from './augment-jpeg.js';
import { applyAugmentation, AugmentConfigSchema, NEUTRAL_PARAMS, sampleAugmentParams } from './augment.js';
import { createRng } from './random.js';
import type { LabelMask, RgbImage } from './types.js';

// A 32x24 image with a purple disk on a pink background and fine stripes (what compression smears).
function cellImage(): RgbImage {
  const width = 32, height = 24, data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 3, inDisk = (x - 16) ** 2 + (y - 12) ** 2 < 64;
    const stripe = (x + y) % 2 === 0 ? 20 : -20;
    data.set(inDisk ? [90 + stripe, 40, 140] : [230, 190 + stripe, 200], i);
  }
  return { width, height, data };
}
const meanAbsError = (a: RgbImage, b: RgbImage) => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length;

test('a JPEG round trip keeps the size, changes pixels, and loses more at lower quality', () => {
  const image = cellImage();
  const high = jpegArtefacts(image, 95), low = jpegArtefacts(image, 10);
  assert.deepEqual([high.width, high.height, high.data.length], [32, 24, 32 * 24 * 3]);
  const [eHigh, eLow] = [meanAbsError(image, high), meanAbsError(image, low)];
  assert.ok(eHigh > 0, 'lossy even at 95');
  assert.ok(eHigh < 8, `quality 95 stays close (mean error ${eHigh})`);
  assert.ok(eLow > eHigh * 1.5, `quality 10 loses more (${eLow} against ${eHigh})`);
  assert.throws(() => jpegArtefacts(image, 0), /quality must be within 1\.\.100, got 0/);
});

test('applyAugmentation compresses the image only, leaving the mask exact', () => {
  const image = cellImage();
  const mask: LabelMask = { width: 32, height: 24, data: image.data.filter((_, i) => i % 3 === 1).map((g) => (g < 100 ? 2 : 0)) };
  const out = applyAugmentation(image, mask, { ...NEUTRAL_PARAMS, jpegQuality: 30 });
  assert.deepEqual(out.mask.data, mask.data);
  assert.deepEqual(out.image.data, jpegArtefacts(image, 30).data);
});

test('jpeg is drawn only when asked for, at a quality within the range, with the asked probability', () => {
  const plain = AugmentConfigSchema.parse({ enabled: true });
  const withJpeg = AugmentConfigSchema.parse({ enabled: true, jpeg: 0.5, jpegQuality: [30, 60] });
  const [r1, r2] = [createRng(3), createRng(3)];
  const a = sampleAugmentParams(plain, r1, 16, 16), b = sampleAugmentParams(withJpeg, r2, 16, 16);
  assert.equal(a.jpegQuality, 0);
  for (const key of ['flipHorizontal', 'quarterTurns', 'angleDegrees', 'scale', 'noiseSeed'] as const) assert.equal(a[key], b[key], key);
  const rng = createRng(11);
  const qualities = Array.from({ length: 400 }, () => sampleAugmentParams(withJpeg, rng, 16, 16).jpegQuality);
  const applied = qualities.filter((q) => q > 0);
  assert.ok(applied.length > 150 && applied.length < 250, `about half compressed: ${applied.length} of 400`);
  assert.ok(applied.every((q) => q >= 30 && q <= 60));
  assert.throws(() => AugmentConfigSchema.parse({ jpegQuality: [80, 40] }), /jpegQuality must be \[min, max\]/);
  assert.throws(() => AugmentConfigSchema.parse({ jpegQuality: [0, 40] }));
});
