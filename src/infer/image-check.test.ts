// Images that are not stained white blood cells (blank, black, white, noise, non-blood pictures)
// give no-cell with a named reason, never a cell with morphometrics, while every real image of both
// data sets still gives its cell; the checks on hand-built images; what a PNG with a bad CRC gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../data/types.js';
import { maskFromRows } from '../testing/masks.js';
import { sharedDataRoot } from '../testing/paths.js';
import { checkImage, checkSegmentation, classLuminance, imageStatistics, IMAGE_CHECK_LIMITS } from './image-check.js';
import { finishSegmentation } from './pipeline.js';
import { cellStatsRow, describeWarnings } from './morphometrics.js';
import { loadSegmenter, type Segmenter } from './segmenter.js';

/** A w x h RGB image with each pixel's colour from `colour(x, y)`. */
function paint(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  return { width, height, data };
}

/** Deterministic uniform noise in 0..255. */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * 256);
  };
}

/** A PNG whose chunk `name` has its CRC broken. */
async function pngWithBadCrc(image: RgbImage, name: 'IEND' | 'IDAT'): Promise<Buffer> {
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  const at = png.indexOf(Buffer.from(name, 'ascii'));
  const length = png.readUInt32BE(at - 4);
  png[at + 4 + length] ^= 0xff; // first CRC byte, after the chunk's type and data
  return png;
}

let segmenter: Segmenter;
before(async () => {
  segmenter = await loadSegmenter();
});
after(() => segmenter.dispose());

test('checkImage: one colour is blank, pixel noise is noise, a smooth picture passes', () => {
  assert.deepEqual(checkImage(paint(12, 9, () => [40, 40, 40])), { reason: 'blank-image', score: 0, limit: IMAGE_CHECK_LIMITS.minLuminanceSd });
  const rnd = noise(7);
  const noisy = checkImage(paint(64, 64, () => [rnd(), rnd(), rnd()]));
  assert.equal(noisy?.reason, 'noise-image');
  assert.ok(noisy!.score > 1 && noisy!.score < 1.3, `roughness of uniform noise ${noisy!.score}`);
  assert.equal(checkImage(paint(64, 64, (x) => [4 * x, 4 * x, 4 * x])), null);
});

test('checkSegmentation: a cell needs a nucleus, a bright background and a nucleus darker than it', () => {
  const mask = maskFromRows(['....', '.cn.', '....']);
  const image = (bg: number, nucleus: number) => paint(4, 3, (x, y) => (x === 2 && y === 1 ? [nucleus, nucleus, nucleus] : [bg, bg, bg]));
  assert.equal(checkSegmentation(maskFromRows(['....', '....'])), null); // no cell at all: already no-cell
  assert.deepEqual(checkSegmentation(maskFromRows(['....', '.cc.'])), { reason: 'no-nucleus', score: 0, limit: 1 });
  assert.equal(checkSegmentation(mask), null); // without the image only the nucleus is checked
  assert.equal(checkSegmentation(mask, image(200, 100)), null);
  assert.deepEqual(checkSegmentation(mask, image(100, 20)), { reason: 'dark-background', score: 100, limit: 110 });
  assert.deepEqual(checkSegmentation(mask, image(200, 170)), { reason: 'faint-nucleus', score: 30, limit: 40 });
  assert.throws(() => checkSegmentation(mask, image(200, 100) && paint(3, 3, () => [0, 0, 0])), /image is 3x3, mask 4x3/);
});

test('finishSegmentation without the image (the browser) still refuses a cell without nucleus', () => {
  // 2x1 probabilities: both pixels confidently cytoplasm.
  const probs = Float32Array.from([0.1, 0.8, 0.1, 0.1, 0.8, 0.1]);
  const { mask, rawMask, stats } = finishSegmentation(probs, 2, 1);
  assert.deepEqual([...rawMask.data], [1, 1]);
  assert.deepEqual([...mask.data], [0, 0]);
  assert.deepEqual(stats.warnings, ['no-cell', 'out-of-distribution']);
  assert.equal(stats.outOfDistribution?.reason, 'no-nucleus');
  assert.equal(stats.cellAreaPx, 0);
});

test('a black 10x10 PNG with a corrupt IEND chunk decodes and is blank, not a 100 px cell; a corrupt IDAT is refused', async () => {
  const black = paint(10, 10, () => [0, 0, 0]);
  const r = await segmenter.segment(await pngWithBadCrc(black, 'IEND'), { name: 'black.png' });
  assert.equal(r.stats.cellAreaPx, 0);
  assert.deepEqual(r.stats.warnings, ['no-cell', 'out-of-distribution']);
  assert.deepEqual(r.stats.outOfDistribution, { reason: 'blank-image', score: 0, limit: IMAGE_CHECK_LIMITS.minLuminanceSd });
  assert.ok(r.mask.data.every((v) => v === 0));
  const row = cellStatsRow(r.stats);
  assert.equal(row.outOfDistribution, 'blank-image');
  assert.equal(row.ncRatio, null);
  assert.equal(row.circularity, null);
  assert.equal(row.confidenceBackground, null); // the model's confidence was in a cell that is not reported
  assert.deepEqual(describeWarnings(r.stats), ['no cell found', 'not an image of a stained white blood cell (blank-image: 0, limit 4)']);
  await assert.rejects(segmenter.segment(await pngWithBadCrc(black, 'IDAT'), { name: 'black.png' }), /black\.png: truncated or corrupt/);
});

test('blank, black, white, noise and non-blood pictures give no-cell with the reason, never a cell', async () => {
  const rnd = noise(11);
  // Blank and noise are read off the image alone; the other checks read where the model put background
  // and nucleus, so for pictures past the image checks the bundled model decides which of them fails, or
  // finds no cell at all ('' below: no-cell with no out-of-distribution reason needed).
  const byModel = 'no-nucleus|dark-background|faint-nucleus|';
  const cases: Record<string, [RgbImage, string]> = {
    'black 120x120': [paint(120, 120, () => [0, 0, 0]), 'blank-image'],
    'white 120x120': [paint(120, 120, () => [255, 255, 255]), 'blank-image'],
    'mid-gray 120x120': [paint(120, 120, () => [128, 128, 128]), 'blank-image'],
    'colour noise 300x300': [paint(300, 300, () => [rnd(), rnd(), rnd()]), 'noise-image'],
    'gray noise 120x120': [paint(120, 120, () => { const v = rnd(); return [v, v, v]; }), 'noise-image'],
    'colour gradient 200x150': [paint(200, 150, (x, y) => [x, y, (x + y) / 2]), 'dark-background'],
    'sky over grass 200x150': [paint(200, 150, (x, y) => (y < 70 ? [90, 150, 230] : [60, 140 + (x % 7), 50])), byModel],
    'green disk on black 120x120': [paint(120, 120, (x, y) => ((x - 60) ** 2 + (y - 60) ** 2 < 900 ? [30, 200, 40] : [0, 0, 0])), byModel],
    'pink texture 150x150': [
      paint(150, 150, (x, y) => [200 + 40 * Math.sin(x / 9) * Math.cos(y / 7), 120 + 60 * Math.sin(y / 11), 180 + 50 * Math.cos((x + y) / 13)]),
      byModel,
    ],
  };
  for (const [name, [image, reason]] of Object.entries(cases)) {
    const r = await segmenter.segment({ ...image, channels: 3 });
    assert.equal(r.stats.cellAreaPx, 0, `${name}: cell of ${r.stats.cellAreaPx} px`);
    assert.ok(r.stats.warnings.includes('no-cell'), `${name}: ${r.stats.warnings.join(';')}`);
    assert.ok(reason.split('|').includes(r.stats.outOfDistribution?.reason ?? ''), `${name}: ${r.stats.outOfDistribution?.reason}`);
  }
});

test('every real image of Dataset 1 and Dataset 2 (400) still gives a cell with a nucleus', async (t) => {
  let images = 0;
  const extremes = { luminanceSd: Infinity, roughness: 0, backgroundLuminance: Infinity, nucleusContrast: Infinity };
  for (const dataset of ['Dataset 1', 'Dataset 2']) {
    const dir = resolve(sharedDataRoot(), dataset);
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.bmp')).sort()) {
      const { stats, image, mask } = await segmenter.segment(resolve(dir, file));
      const { luminanceSd, roughness } = imageStatistics(image);
      const lum = classLuminance(mask, image);
      extremes.luminanceSd = Math.min(extremes.luminanceSd, luminanceSd);
      extremes.roughness = Math.max(extremes.roughness, roughness);
      extremes.backgroundLuminance = Math.min(extremes.backgroundLuminance, lum.background ?? Infinity);
      extremes.nucleusContrast = Math.min(extremes.nucleusContrast, (lum.background ?? Infinity) - (lum.nucleus ?? 0));
      assert.equal(stats.outOfDistribution, null, `${dataset}/${file}: ${JSON.stringify(stats.outOfDistribution)}`);
      assert.ok(stats.cellAreaPx > 0 && stats.nucleusAreaPx > 0, `${dataset}/${file}: ${stats.warnings.join(';')}`);
      images++;
    }
  }
  assert.equal(images, 400);
  // The figures README.md gives beside each limit.
  t.diagnostic(`over the 400: luminance sd >= ${extremes.luminanceSd.toFixed(1)}, roughness <= ${extremes.roughness.toFixed(3)}, ` +
    `background luminance >= ${extremes.backgroundLuminance.toFixed(1)}, nucleus contrast >= ${extremes.nucleusContrast.toFixed(1)}`);
});
