// Stain and camera jitter: neutral is the identity, each part moves the colours the way it says, and
// recipes without it keep every draw they had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEUTRAL_STAIN, stainJitter } from './augment-stain.js';
import { AugmentConfigSchema, sampleAugmentParams } from './augment.js';
import { createRng } from './random.js';
import type { RgbImage } from './types.js';

// A white background pixel, a purple nucleus pixel and a pink red-cell pixel.
const image: RgbImage = { width: 3, height: 1, data: Uint8Array.from([255, 255, 255, 90, 40, 140, 220, 140, 160]) };

test('neutral stain jitter returns the same pixels', () => {
  assert.deepEqual(stainJitter(image, NEUTRAL_STAIN).data, image.data);
});

test('more haematoxylin darkens the purple nucleus most and leaves white background white', () => {
  const out = stainJitter(image, { ...NEUTRAL_STAIN, stainScale: [1.5, 1, 1] }).data;
  assert.deepEqual([...out.subarray(0, 3)], [255, 255, 255], 'zero optical density stays zero');
  const darkening = (i: number) => image.data.subarray(i * 3, i * 3 + 3).reduce((a, b) => a + b, 0) - out.subarray(i * 3, i * 3 + 3).reduce((a, b) => a + b, 0);
  assert.ok(darkening(1) > 0 && darkening(1) > darkening(2), `nucleus ${darkening(1)}, red cell ${darkening(2)}`);
  const lessEosin = stainJitter(image, { ...NEUTRAL_STAIN, stainScale: [1, 0.5, 1] }).data;
  assert.ok(lessEosin[7] > image.data[7], 'less eosin: the pink pixel lets more green through');
});

test('gamma and white balance act per intensity and per channel', () => {
  const bright = stainJitter(image, { ...NEUTRAL_STAIN, gamma: 0.5 }).data;
  assert.ok(bright[3] > image.data[3] && bright[0] === 255);
  const warm = stainJitter(image, { ...NEUTRAL_STAIN, channelGain: [1, 1, 0.8] }).data;
  assert.deepEqual([warm[0], warm[1], warm[2]], [255, 255, 204]);
  assert.equal(warm[3], image.data[3]);
});

test('a recipe without stain, gamma or white balance draws exactly what it drew before they existed', () => {
  const plain = AugmentConfigSchema.parse({ enabled: true });
  const stained = AugmentConfigSchema.parse({ enabled: true, stain: 0.3, gamma: 0.2, whiteBalance: 0.1 });
  const [r1, r2] = [createRng(7), createRng(7)];
  const a = sampleAugmentParams(plain, r1, 16, 16);
  const b = sampleAugmentParams(stained, r2, 16, 16);
  // The old draws come first and are unchanged; the new ones follow only when asked for.
  for (const key of ['flipHorizontal', 'quarterTurns', 'angleDegrees', 'scale', 'hue', 'noiseSeed'] as const) assert.equal(a[key], b[key], key);
  assert.deepEqual([a.stainScale, a.gamma], [[1, 1, 1], 1]);
  assert.notEqual(b.gamma, 1);
  assert.notEqual(r1(), r2(), 'the stained draw consumed more of the stream');
});
