// The fused Conv2D + bias + ReLU training kernel and its gradient against tfjs's composition
// (conv2d, add, relu) on the cpu backend, and its routing: tfjs-layers' Conv2D with a ReLU trains
// through it with the addon (the first layer's input gradient is never computed, the others' in the
// same call as the filter's), while inference and WebAssembly alone keep tfjs-layers' own path.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adam } from './index.js';
import { CONV2D_LAYER_GRAD, CONV2D_RELU_TRAINING, CONV2D_RELU_TRAINING_GRAD } from './kernels/conv_relu_training.js';
import { nativeModule } from './kernels/native_conv.js';
import { describe, MODEL_CASES, randomCases, type ConvCase } from './conv_cases.js';
import { modeTest, randomValues, relativeError, rng, runOn, TOLERANCE } from './testing.js';

/**
 * y and the gradients of sum(y * r) for x, filter and bias, flattened: fused (wasm; with inputGradient,
 * all three gradients from one kernel) or composed.
 */
function layerStep(c: ConvCase, seed: number, withBias: boolean, fused: boolean, inputGradient = false, relu = true): tf.Tensor {
  const next = rng(seed);
  const x = tf.tensor4d(randomValues(next, c.xShape.reduce((a, b) => a * b)), c.xShape);
  const filter = tf.tensor4d(randomValues(next, c.filterShape.reduce((a, b) => a * b)), c.filterShape);
  const bias = tf.tensor1d(randomValues(next, c.filterShape[3]).map((v) => v / 2));
  const r = tf.tensor4d(randomValues(next, c.dyShape.reduce((a, b) => a * b)), c.dyShape);
  const pad = c.pad as 'same' | 'valid';
  const activation = relu ? 'relu' : 'linear';
  const act = (t: tf.Tensor) => (relu ? tf.relu(t) : t);
  const layer = (...p: tf.Tensor[]) => {
    const [xx, ff, bb] = p as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D | undefined];
    const y = fused
      ? (tf.engine().runKernel(CONV2D_RELU_TRAINING, bb ? { x: xx, filter: ff, bias: bb } : { x: xx, filter: ff },
        { strides: c.strides, pad, hasBias: bb !== undefined, inputGradient, activation }) as tf.Tensor)
      : act(bb ? tf.add(tf.conv2d(xx, ff, c.strides, pad), bb) : tf.conv2d(xx, ff, c.strides, pad));
    return tf.sum(tf.mul(y, r)) as tf.Scalar;
  };
  const inputs = withBias ? [x, filter, bias] : [x, filter];
  const { value, grads } = tf.valueAndGrads(layer)(inputs);
  const y = tf.tidy(() => (fused
    ? tf.engine().runKernel(CONV2D_RELU_TRAINING, withBias ? { x, filter, bias } : { x, filter }, { strides: c.strides, pad, hasBias: withBias, activation }) as tf.Tensor
    : act(withBias ? tf.add(tf.conv2d(x, filter, c.strides, pad), bias) : tf.conv2d(x, filter, c.strides, pad))));
  return tf.concat([tf.reshape(value, [1]), tf.reshape(y, [-1]), ...grads.map((g) => tf.reshape(g, [-1]))]);
}

modeTest('the fused Conv2D + ReLU (or linear) kernel and its gradients match conv2d, add and relu on cpu', async () => {
  const samePadOrValid = (c: ConvCase) => (c.pad === 'same' || c.pad === 'valid') && c.dimRoundingMode === undefined;
  // The shipped XNNPACK kernel (used without the addon) is wrong for some strided geometries (see
  // native_conv.test), so WebAssembly alone is checked at stride 1.
  const stride1 = (c: ConvCase) => nativeModule() !== null || (c.strides[0] === 1 && c.strides[1] === 1);
  const cases = [...MODEL_CASES, ...randomCases(5150, 60)].filter((c) => samePadOrValid(c) && stride1(c));
  assert.ok(cases.length >= 20, `only ${cases.length} geometries`);
  for (const [i, c] of cases.entries()) {
    for (const withBias of [true, false]) {
      const cpu = await runOn('cpu', () => layerStep(c, 300 + i, withBias, false));
      for (const inputGradient of [false, true]) {
        const wasm = await runOn('wasm', () => layerStep(c, 300 + i, withBias, true, inputGradient));
        const error = relativeError(wasm.values, cpu.values);
        assert.ok(error <= TOLERANCE, `${describe(c)} bias=${withBias} inputGradient=${inputGradient}: relative error ${error}`);
      }
      // Without activation (tfjs-layers applies any other after the kernel).
      const cpuLinear = await runOn('cpu', () => layerStep(c, 300 + i, withBias, false, false, false));
      for (const inputGradient of [false, true]) {
        const wasm = await runOn('wasm', () => layerStep(c, 300 + i, withBias, true, inputGradient, false));
        const error = relativeError(wasm.values, cpuLinear.values);
        assert.ok(error <= TOLERANCE, `${describe(c)} linear bias=${withBias} inputGradient=${inputGradient}: relative error ${error}`);
      }
    }
  }
});

/** Kernel names of one training step and of one prediction of a small conv net. */
async function kernelsOfModel(): Promise<{ train: string[]; predict: string[] }> {
  await tf.setBackend('wasm');
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', useBias: false }),
    ],
  });
  model.compile({ optimizer: adam(), loss: 'meanSquaredError' });
  const x = tf.randomNormal([2, 8, 8, 3]);
  const y = tf.randomNormal([2, 8, 8, 2]);
  // Every kernel call in order (profile's kernelNames lists each name once).
  const train = (await tf.profile(() => model.trainOnBatch(x, y))).kernels.map((k) => k.name);
  const predict = (await tf.profile(() => model.predict(x) as tf.Tensor)).kernels.map((k) => k.name);
  tf.dispose([x, y]);
  model.dispose();
  return { train, predict };
}

modeTest('tfjs-layers Conv2D with a ReLU trains through the fused kernel with the addon, inference as shipped', async () => {
  const { train, predict } = await kernelsOfModel();
  const count = (names: string[], name: string) => names.filter((n) => n === name).length;
  if (nativeModule() !== null) {
    assert.equal(count(train, CONV2D_RELU_TRAINING), 2, `training: ${train.join(', ')}`);
    // The first layer's input is the image: its input gradient is never computed; the second
    // layer's gradients all come from one call.
    assert.equal(count(train, CONV2D_RELU_TRAINING_GRAD), 1, `training: ${train.join(', ')}`);
    assert.equal(count(train, CONV2D_LAYER_GRAD), 1, `training: ${train.join(', ')}`);
    assert.equal(count(train, 'Conv2DBackpropInput'), 0, `training: ${train.join(', ')}`);
    assert.ok(!train.includes('Relu') && !train.includes('Conv2D'), `training: ${train.join(', ')}`);
  } else {
    assert.ok(!train.includes(CONV2D_RELU_TRAINING), `training: ${train.join(', ')}`);
  }
  assert.ok(!predict.includes(CONV2D_RELU_TRAINING) && predict.includes('FusedConv2D'), `prediction: ${predict.join(', ')}`);
});
