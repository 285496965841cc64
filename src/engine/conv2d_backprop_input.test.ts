// Checks leukoseg's wasm Conv2DBackpropInput against the cpu backend, directly
// and through conv2dTranspose, whose forward pass is this kernel.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { describe, MODEL_CASES, randomCases } from './conv_cases.js';
import type { ConvCase } from './conv_cases.js';
import { compareBackends, randomValues, rng, modeTest, TOLERANCE } from './testing.js';

function inputGrad(c: ConvCase, seed: number, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): () => tf.Tensor {
  const next = rng(seed);
  const dyValues = randomValues(next, c.dyShape.reduce((a, b) => a * b));
  const filterValues = randomValues(next, c.filterShape.reduce((a, b) => a * b));
  return () => tf.engine().runKernel('Conv2DBackpropInput',
    { dy: tf.tensor4d(dyValues, c.dyShape), filter: tf.tensor4d(filterValues, c.filterShape) },
    { strides: c.strides, pad: c.pad, dataFormat, dimRoundingMode: c.dimRoundingMode, inputShape: c.xShape } as
      unknown as tf.NamedAttrMap) as tf.Tensor;
}

modeTest('input gradient matches cpu on the model geometries', async () => {
  for (const [i, c] of MODEL_CASES.entries()) {
    const { error } = await compareBackends(inputGrad(c, i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('input gradient matches cpu on 60 random geometries', async () => {
  for (const [i, c] of randomCases(4321, 60).entries()) {
    const { error } = await compareBackends(inputGrad(c, 200 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('input gradient covers edge geometries', async () => {
  const edge: ConvCase[] = [
    { xShape: [1, 1, 1, 2], filterShape: [5, 5, 2, 3], strides: [1, 1], pad: 'same', dyShape: [1, 1, 1, 3] },
    // Stride larger than the filter: some dx rows get no gradient at all.
    { xShape: [2, 9, 9, 1], filterShape: [2, 2, 1, 1], strides: [3, 3], pad: 'valid', dyShape: [2, 3, 3, 1] },
    { xShape: [1, 3, 4, 2], filterShape: [1, 1, 2, 2], strides: [1, 1], pad: [[0, 0], [2, 3], [0, 2], [0, 0]],
      dyShape: [1, 8, 6, 2] },
    { xShape: [1, 6, 6, 1], filterShape: [3, 3, 1, 1], strides: [2, 2], pad: 0, dimRoundingMode: 'ceil',
      dyShape: [1, 3, 3, 1] },
    // Unequal strides, filter not a multiple of either.
    { xShape: [2, 7, 10, 3], filterShape: [5, 3, 3, 4], strides: [2, 3], pad: 'same', dyShape: [2, 4, 4, 4] },
  ];
  for (const [i, c] of edge.entries()) {
    const { error } = await compareBackends(inputGrad(c, 600 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('conv2dTranspose 2x2 stride 2 matches cpu', async () => {
  const next = rng(77);
  const x = randomValues(next, 2 * 8 * 8 * 16);
  const w = randomValues(next, 2 * 2 * 8 * 16);
  const { error } = await compareBackends(() =>
    tf.conv2dTranspose(tf.tensor4d(x, [2, 8, 8, 16]), tf.tensor4d(w, [2, 2, 8, 16]), [2, 16, 16, 8], 2, 'same'));
  assert.ok(error <= TOLERANCE, `relative error ${error}`);
});

modeTest('input gradient rejects NCHW with a clear error', async () => {
  await tf.setBackend('wasm');
  assert.throws(() => tf.tidy(inputGrad(MODEL_CASES[0], 1, 'NCHW')), /only dataFormat 'NHWC'/);
});
