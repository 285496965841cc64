// One pixel-to-input function for every path: the study's image / 255 bit for bit, the percentile
// normalisation by hand on small inputs, and training, scoring, evaluation and segmenting agreeing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pixelsToInput } from './pixels.js';
import { imagesToFloat32 } from './dataset.js';
import { toFloatImages } from '../train/loop.js';
import { prepareInput } from '../infer/pipeline.js';
import { preprocessingFor } from '../models/preprocessing.js';
import { fitToSquare } from './fit-square.js';
import type { Sample } from './types.js';

const everyByte = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));

test('scale: every byte value enters the network as float32(v / 255), the study\'s numpy division', () => {
  const out = pixelsToInput(everyByte, { scale: 1 / 255 });
  for (let i = 0; i < everyByte.length; i++) assert.equal(out[i], Math.fround(everyByte[i] / 255), `byte ${everyByte[i]}`);
  // The rounding the segmenter used before (v * float32(1/255)) differs for about half of them.
  const older = everyByte.filter((v, i) => i % 3 === 0 && Math.fround(v * Math.fround(1 / 255)) !== out[i * 3]);
  assert.ok(older.length > 100, `${older.length}`);
});

test('percentile: each channel maps its 1st..99th percentile to 0..1, unclipped', () => {
  // 101 pixels: channel 0 holds 0..100, channel 1 is constant, channel 2 holds 100..200.
  const rgb = new Uint8Array(101 * 3);
  for (let i = 0; i <= 100; i++) rgb.set([i, 7, 100 + i], i * 3);
  const out = pixelsToInput(rgb, { scale: 1 / 255, normalize: 'percentile' });
  // rank 1 and 99 of 0..100 are the values 1 and 99.
  assert.equal(out[1 * 3], 0);
  assert.equal(out[99 * 3], 1);
  assert.equal(out[0], Math.fround(-1 / 98));
  assert.ok(Math.abs(out[100 * 3 + 2] - (200 - 101) / 98) < 1e-6);
  // A flat channel cannot be stretched: it maps to 0 rather than dividing by zero.
  assert.ok([...Array(101).keys()].every((i) => out[i * 3 + 1] === 0));
  assert.throws(() => pixelsToInput(rgb, { scale: 1 / 255, normalize: 'zscore' as never }), /unknown normalize 'zscore'/);
});

test('training batches, per-epoch scoring, evaluation and the segmenter feed the network the same bits', () => {
  // 11x9 fits the 16 px square; 40x30 is shrunk into it, by the nearest rule or smoothly.
  const cases = [['pad', 11, 9], ['pad', 40, 30], ['pad-smooth', 40, 30]] as const;
  for (const [fit, width, height] of cases) for (const normalize of ['scale', 'percentile'] as const) {
    const what = `${fit} ${width}x${height} ${normalize}`;
    const pre = preprocessingFor(16, fit, normalize);
    const image = { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256) };
    const fitted = fitToSquare(image, 16, 3, fit);
    const segmenter = prepareInput(image, pre);
    const sample = { image: fitted, mask: { width: 16, height: 16, data: new Uint8Array(256) } } as unknown as Sample;
    const evaluation = imagesToFloat32([sample, sample], [0, 1], pre);
    const scoring = toFloatImages(Uint8Array.from([...fitted.data, ...fitted.data]), 2, pre);
    const batch = new Float32Array(16 * 16 * 3 * 2);
    pixelsToInput(fitted.data, pre, batch, 16 * 16 * 3); // the training loop's call, second image of a batch
    assert.deepEqual(evaluation.subarray(0, segmenter.length), segmenter, what);
    assert.deepEqual(evaluation.subarray(segmenter.length), segmenter, what);
    assert.deepEqual(scoring, evaluation, what);
    assert.deepEqual(batch.subarray(16 * 16 * 3), segmenter, what);
  }
});
