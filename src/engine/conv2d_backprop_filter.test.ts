// Checks leukoseg's wasm Conv2DBackpropFilter against the cpu backend on the
// model geometries and on seeded random shapes, strides and paddings.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { describe, MODEL_CASES, randomCases } from './conv_cases.js';
import type { ConvCase } from './conv_cases.js';
import { conv2DBackpropFilterWasm } from './kernels/conv2d_backprop_filter.js';
import type { FilterGradLayout } from './kernels/conv2d_backprop_filter.js';
import type { BackendWasm } from './kernels/scratch.js';
import { simdKernels } from './kernels/simd.js';
import { nativeModule } from './kernels/native_conv.js';
import { compareBackends, randomValues, relativeError, rng, runOn, modeTest, TOLERANCE } from './testing.js';

function filterGrad(c: ConvCase, seed: number, dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
  layout?: FilterGradLayout): () => tf.Tensor {
  const next = rng(seed);
  const xValues = randomValues(next, c.xShape.reduce((a, b) => a * b));
  const dyValues = randomValues(next, c.dyShape.reduce((a, b) => a * b));
  const attrs = { strides: c.strides, pad: c.pad, dataFormat, dimRoundingMode: c.dimRoundingMode, filterShape: c.filterShape };
  return () => {
    const inputs = { x: tf.tensor4d(xValues, c.xShape), dy: tf.tensor4d(dyValues, c.dyShape) };
    if (layout === undefined) {
      return tf.engine().runKernel('Conv2DBackpropFilter', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    }
    const backend = tf.engine().backend as unknown as BackendWasm;
    const out = conv2DBackpropFilterWasm({ inputs, backend, attrs: attrs as unknown as tf.NamedAttrMap }, layout);
    return tf.engine().makeTensorFromTensorInfo(out);
  };
}

modeTest('filter gradient matches cpu on the model geometries', async () => {
  for (const [i, c] of MODEL_CASES.entries()) {
    const { error } = await compareBackends(filterGrad(c, i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('filter gradient matches cpu on 60 random geometries', async () => {
  for (const [i, c] of randomCases(1234, 60).entries()) {
    const { error } = await compareBackends(filterGrad(c, 100 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('every filter-gradient layout matches cpu on stride-1 geometries', async () => {
  const cases = [...MODEL_CASES, ...randomCases(777, 80)].filter((c) => c.strides[0] === 1 && c.strides[1] === 1);
  assert.ok(cases.length >= 20);
  // The patch matrix needs the SIMD kernels, which the engine loads where the addon is not in use.
  const layouts: FilterGradLayout[] = ['dy-as-filter', 'x-as-filter', ...(simdKernels() !== null ? ['im2col' as const] : [])];
  if (nativeModule() === null) assert.ok(layouts.includes('im2col'), 'WebAssembly only, but the SIMD kernels are not loaded');
  for (const [i, c] of cases.entries()) {
    const cpu = await runOn('cpu', filterGrad(c, 300 + i));
    for (const layout of layouts) {
      const wasm = await runOn('wasm', filterGrad(c, 300 + i, 'NHWC', layout));
      const error = relativeError(wasm.values, cpu.values);
      assert.ok(error <= TOLERANCE, `${layout} ${describe(c)}: relative error ${error}`);
    }
  }
});

modeTest('the patch matrix handles strides, rounding and padding of every kind', async () => {
  // With the addon in use the engine does not load the SIMD kernels; its filter gradient is the addon's.
  if (nativeModule() !== null) return;
  for (const [i, c] of randomCases(4321, 60).entries()) {
    const cpu = await runOn('cpu', filterGrad(c, 700 + i));
    const wasm = await runOn('wasm', filterGrad(c, 700 + i, 'NHWC', 'im2col'));
    const error = relativeError(wasm.values, cpu.values);
    assert.ok(error <= TOLERANCE, `im2col ${describe(c)}: relative error ${error}`);
  }
});

modeTest('filter gradient covers edge geometries', async () => {
  const edge: ConvCase[] = [
    // 1x1 image, 'same' 5x5: every tap but the centre reads padding.
    { xShape: [1, 1, 1, 2], filterShape: [5, 5, 2, 3], strides: [1, 1], pad: 'same', dyShape: [1, 1, 1, 3] },
    // Stride larger than the filter: rows between taps are never read.
    { xShape: [2, 9, 9, 1], filterShape: [2, 2, 1, 1], strides: [3, 3], pad: 'valid', dyShape: [2, 3, 3, 1] },
    // Padding larger than the filter: whole dy rows see only zeros.
    { xShape: [1, 3, 4, 2], filterShape: [1, 1, 2, 2], strides: [1, 1], pad: [[0, 0], [2, 3], [0, 2], [0, 0]],
      dyShape: [1, 8, 6, 2] },
    // Ceil rounding makes the last output read past the padded input.
    { xShape: [1, 6, 6, 1], filterShape: [3, 3, 1, 1], strides: [2, 2], pad: 0, dimRoundingMode: 'ceil',
      dyShape: [1, 3, 3, 1] },
  ];
  for (const [i, c] of edge.entries()) {
    const { error } = await compareBackends(filterGrad(c, 500 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

modeTest('filter gradient rejects NCHW with a clear error', async () => {
  await tf.setBackend('wasm');
  const c = MODEL_CASES[0];
  assert.throws(() => tf.tidy(filterGrad(c, 1, 'NCHW')), /only dataFormat 'NHWC'/);
});
