// End-to-end: gradients of a small conv net (conv2d, batchNorm, maxPool,
// conv2dTranspose) and tfjs-layers training steps, cpu vs wasm (where BatchNormalization, the loss
// and Adam run as leukoseg's fused kernels).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adam, categoricalCrossentropy } from './index.js';
import { randomValues, relativeError, rng, runOn, modeTest, TOLERANCE } from './testing.js';

interface NetValues { x: Float32Array; w1: Float32Array; w2: Float32Array; w3: Float32Array; gamma: Float32Array; beta: Float32Array }

function netValues(seed: number): NetValues {
  const next = rng(seed);
  return {
    x: randomValues(next, 2 * 12 * 12 * 3),
    w1: randomValues(next, 5 * 5 * 3 * 8),
    w2: randomValues(next, 2 * 2 * 6 * 8),
    w3: randomValues(next, 3 * 3 * 6 * 4),
    gamma: randomValues(next, 8).map((v) => 1 + v / 2),
    beta: randomValues(next, 8),
  };
}

/** Loss of the net and its gradients for every parameter, flattened in a fixed order. */
function lossAndGrads(v: NetValues): tf.Tensor {
  const x = tf.tensor4d(v.x, [2, 12, 12, 3]);
  const params = {
    w1: tf.tensor4d(v.w1, [5, 5, 3, 8]), w2: tf.tensor4d(v.w2, [2, 2, 6, 8]), w3: tf.tensor4d(v.w3, [3, 3, 6, 4]),
    gamma: tf.tensor1d(v.gamma), beta: tf.tensor1d(v.beta),
  };
  const names = Object.keys(params) as Array<keyof typeof params>;
  const f = (...p: tf.Tensor[]) => {
    const [w1, w2, w3, gamma, beta] = p as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    const h1 = tf.relu(tf.conv2d(x, w1, 1, 'same'));
    const { mean, variance } = tf.moments(h1, [0, 1, 2]);
    const bn = tf.batchNorm(h1, mean, variance, beta, gamma, 1e-3);
    const pooled = tf.maxPool(bn as tf.Tensor4D, 2, 2, 'valid');
    const up = tf.conv2dTranspose(pooled, w2, [2, 12, 12, 6], 2, 'same');
    const out = tf.conv2d(tf.relu(up), w3, [2, 2], 'valid');
    return tf.mean(tf.square(out));
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
  return tf.concat([tf.reshape(value, [1]), ...grads.map((g) => tf.reshape(g, [-1]))]);
}

modeTest('gradients of a conv / batchNorm / conv2dTranspose net match cpu', async () => {
  for (const seed of [1, 2, 3]) {
    const v = netValues(seed);
    const cpu = await runOn('cpu', () => lossAndGrads(v));
    const wasm = await runOn('wasm', () => lossAndGrads(v));
    const error = relativeError(wasm.values, cpu.values);
    assert.ok(error <= TOLERANCE, `seed ${seed}: relative error ${error}`);
  }
});

/**
 * Model 3's layer types at 16x16. tfjs-backend-cpu's ResizeNearestNeighborGrad
 * is wrong for batch > 1 (see small_kernels.test), so batches > 1 upsample with
 * a 2x2 stride-2 conv2dTranspose (U-Net style) instead of UpSampling2D.
 */
function smallModel(upsampling: 'nearest' | 'transpose'): tfl.LayersModel {
  const l2 = () => tfl.regularizers.l2({ l2: 0.001 });
  const conv = (filters: number, kernelSize: number, activation: 'relu' | 'softmax', inputShape?: number[]) =>
    tfl.layers.conv2d({ filters, kernelSize, padding: 'same', activation, inputShape, kernelRegularizer: l2() });
  const up = upsampling === 'nearest'
    ? tfl.layers.upSampling2d({ size: [2, 2] })
    : tfl.layers.conv2dTranspose({ filters: 8, kernelSize: 2, strides: 2, padding: 'same', kernelRegularizer: l2() });
  const model = tfl.sequential({
    layers: [
      conv(4, 5, 'relu', [16, 16, 3]), tfl.layers.batchNormalization(), tfl.layers.maxPooling2d({ poolSize: 2 }),
      conv(8, 3, 'relu'), tfl.layers.batchNormalization(), up,
      conv(3, 1, 'softmax'),
    ],
  });
  // leukoseg's Adam and loss: fused kernels on wasm, tfjs's own composition on cpu.
  model.compile({ optimizer: adam(0.01), loss: categoricalCrossentropy });
  return model;
}

/**
 * Gradients of the training loss for every trainable weight, then the weights
 * after two Adam steps, flattened. Adam's steps are nearly sign(gradient) * lr,
 * so the gradients themselves are compared too, where errors are not masked.
 */
async function gradientsAndSteps(backend: 'cpu' | 'wasm', upsampling: 'nearest' | 'transpose', batch: number,
  seed: number): Promise<{ grads: Float32Array; weights: Float32Array }> {
  await tf.setBackend(backend);
  const next = rng(seed);
  const model = smallModel(upsampling);
  // Same starting point on both backends, independent of their initialisers.
  model.setWeights(model.getWeights().map((w) => tf.tensor(randomValues(next, w.size), w.shape)));
  const xs = tf.tensor4d(randomValues(next, batch * 16 * 16 * 3), [batch, 16, 16, 3]);
  const labels = tf.tensor3d(Array.from({ length: batch * 16 * 16 }, () => Math.floor(next() * 3)), [batch, 16, 16], 'int32');
  const ys = tf.oneHot(labels, 3);
  const { value, grads } = tf.variableGrads(() => {
    const predicted = model.apply(xs, { training: true }) as tf.Tensor;
    return tf.mean(categoricalCrossentropy(ys, predicted)) as tf.Scalar;
  }, model.trainableWeights.map((w) => w.read() as tf.Variable));
  const gradValues = Float32Array.from([value, ...Object.values(grads)].flatMap((g) => Array.from(g.dataSync())));
  tf.dispose([value, ...Object.values(grads)]);
  for (let step = 0; step < 2; step++) {
    await model.trainOnBatch(xs, ys);
  }
  const weights = Float32Array.from(model.getWeights().flatMap((w) => Array.from(w.dataSync())));
  tf.dispose([xs, labels, ys]);
  model.dispose();
  return { grads: gradValues, weights };
}

modeTest('tfjs-layers gradients and Adam steps match cpu', async () => {
  for (const [upsampling, batch] of [['nearest', 1], ['transpose', 3]] as const) {
    const cpu = await gradientsAndSteps('cpu', upsampling, batch, 8);
    const wasm = await gradientsAndSteps('wasm', upsampling, batch, 8);
    const gradError = relativeError(wasm.grads, cpu.grads);
    const weightError = relativeError(wasm.weights, cpu.weights);
    assert.ok(gradError <= TOLERANCE, `${upsampling} upsampling, batch ${batch}: gradient relative error ${gradError}`);
    assert.ok(weightError <= TOLERANCE, `${upsampling} upsampling, batch ${batch}: weight relative error ${weightError}`);
  }
});

modeTest('tfjs rejects gradients of dilated conv2d on both backends', async () => {
  // The reason the backprop kernels carry no dilation attribute at all.
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const x = tf.ones([1, 7, 7, 2]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
    assert.throws(() => tf.grad((t) => tf.sum(tf.conv2d(t as tf.Tensor4D, w, 1, 'same', 'NHWC', 2)))(x), /dilation/);
    tf.dispose([x, w]);
  }
});
