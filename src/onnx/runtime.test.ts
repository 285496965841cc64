// The ONNX Runtime wrapper: flips by hand on a 2x2 image, flip test-time augmentation equal to tfjs's
// predictProbs(model, x, true), and input checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { predictProbs } from '../models/predict.js';
import { flipNhwc, loadOnnxRuntime, OnnxPredictor } from './runtime.js';

test('flipNhwc mirrors rows and/or columns of each image', () => {
  // one 2x2 image, 1 channel: [[1, 2], [3, 4]]
  const img = Float32Array.of(1, 2, 3, 4);
  assert.deepEqual([...flipNhwc(img, 1, 2, 1, false, true)], [2, 1, 4, 3]);
  assert.deepEqual([...flipNhwc(img, 1, 2, 1, true, false)], [3, 4, 1, 2]);
  assert.deepEqual([...flipNhwc(img, 1, 2, 1, true, true)], [4, 3, 2, 1]);
  // two images of 2 channels: channels travel together, images stay apart
  const two = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual([...flipNhwc(two, 2, 2, 2, false, true)], [2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13]);
});

test('onnxruntime-node loads here (it is a dependency)', async () => {
  const ort = await loadOnnxRuntime();
  assert.ok(!(ort instanceof Error), ort instanceof Error ? ort.message : '');
});

test('flip TTA on ONNX Runtime equals tfjs predictProbs(model, x, true) within 1e-4', async () => {
  await initEngine();
  const model = createModel('unet-small', { inputSize: 64, seed: 3 });
  const predictor = await OnnxPredictor.fromLayersModel(model, { threads: 1 });
  try {
    const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 8);
    const want = tf.tidy(() => predictProbs(model, x as tf.Tensor4D, true).dataSync());
    const got = await predictor.predictTta(x.dataSync() as Float32Array, 2, 64, true);
    x.dispose();
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - got[i]));
    assert.ok(max < 1e-4, `max difference ${max}`);
    await assert.rejects(predictor.predict(new Float32Array(10), 1, 64), /1 images of 64x64x3 need 12288 values, got 10/);
  } finally {
    await predictor.dispose();
    model.dispose();
  }
});
