// A window that covers a crop exactly as 'pad' fits it gives the model the crop's very input and
// brings the output back as probsToImageSize does, so stage 2 sees a cell as crop mode does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { fitToSquare } from '../data/fit-square.js';
import { probsToImageSize } from '../models/predict.js';
import { cropRgb, windowAround, windowIndexTable, windowOnImage, windowPixels, windowProbsOnImage } from './window.js';
import type { RgbImage } from '../data/types.js';

function noise(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761 + seed * 97) % 251;
  return { width, height, data };
}

test("a window over a crop gives the pad fit's input: 120 px reflected out to 128, 300 px shrunk to 128", () => {
  for (const side of [120, 104, 300]) {
    const crop = noise(side, side, side);
    const w = windowAround(side / 2, side / 2, Math.max(side, 128));
    assert.deepEqual(windowPixels(crop, w, 128), fitToSquare(crop, 128, 3, 'pad').data, `${side} px crop`);
  }
});

test("with 'pad-smooth' a window over a crop gives that fit's input: shrunk smoothly when larger, as 'pad' when not", () => {
  for (const side of [120, 300, 257]) {
    const crop = noise(side, side, side);
    const w = windowAround(side / 2, side / 2, Math.max(side, 128));
    const smooth = windowPixels(crop, w, 128, { resize: 'pad-smooth' });
    assert.deepEqual(smooth, fitToSquare(crop, 128, 3, 'pad-smooth').data, `${side} px crop`);
    if (side > 128) assert.notDeepEqual(smooth, windowPixels(crop, w, 128), `${side} px: not the nearest samples`);
    else assert.deepEqual(smooth, windowPixels(crop, w, 128), `${side} px: nothing to shrink`);
  }
});

test('a window past the edge reflects the image there (the edge pixel not repeated)', () => {
  assert.deepEqual([...windowIndexTable(-2, 6, 10, 6)], [2, 1, 0, 1, 2, 3]);
  assert.deepEqual([...windowIndexTable(7, 4, 10, 4)], [7, 8, 9, 8]);
  assert.deepEqual(windowAround(10, 100, 50), { x: -15, y: 75, side: 50 });
  assert.deepEqual(windowOnImage({ x: -50, y: 10, side: 300 }, 200, 120), { x: 0, y: 10, width: 200, height: 110 });
  const image = noise(5, 4, 1);
  assert.deepEqual(cropRgb(image, { x: 1, y: 2, width: 3, height: 2 }).data, Uint8Array.from([
    ...image.data.subarray((2 * 5 + 1) * 3, (2 * 5 + 4) * 3), ...image.data.subarray((3 * 5 + 1) * 3, (3 * 5 + 4) * 3),
  ]));
});

test('probabilities come back as probsToImageSize brings a crop back (bilinear, half-pixel centres)', async () => {
  await tf.setBackend('cpu');
  const size = 16;
  const probs = Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * 7919) % 101) / 101);
  for (const [side, crop] of [[40, 40], [16, 12]] as const) {
    const w = windowAround(crop / 2, crop / 2, Math.max(side, size));
    const ours = windowProbsOnImage(probs, size, w, windowOnImage(w, crop, crop));
    const theirs = tf.tidy(() => probsToImageSize(tf.tensor3d(probs, [size, size, 3]), crop, crop, 'pad').dataSync());
    assert.equal(ours.length, theirs.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    assert.ok(worst < 1e-6, `${crop} px crop: largest difference ${worst}`);
  }
});
