// The kernels of leukoseg's own that fuse a training step's pieces (BatchNormalization's training
// pass and its gradient, Keras's cross-entropy, the L2 penalty, softmax and Relu gradients, Adam's
// update), each against the tfjs composition it replaces, run on the cpu backend.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adam, categoricalCrossentropy, useFusedLayers, useLayersAsShipped, useShippedGradients } from './index.js';
import { useTrainingGradients } from './kernels/register.js';
import { BATCH_NORM_TRAINING } from './kernels/batch_norm_training.js';
import { L2_PENALTY } from './kernels/l2_penalty.js';
import { nativeModule } from './kernels/native_conv.js';
import { simdKernels, useSimdKernels } from './kernels/simd.js';
import { adamState } from './tfjs-internals.js';
import { modeTest, randomValues, relativeError, rng, runOn, TOLERANCE } from './testing.js';

const EPSILON = 1e-3;
const MOMENTUM = 0.99;

interface BnCase { shape: number[]; shift: number; seed: number }

/**
 * y, batch mean and variance, new moving statistics, and the gradients of sum(y * w) for x, scale and
 * offset, flattened: by leukoseg's kernel (fused) or as tfjs-layers composes it (moments, batchNorm).
 */
function batchNormTrainingStep(c: BnCase, fused: boolean): tf.Tensor {
  const next = rng(c.seed);
  const channels = c.shape[c.shape.length - 1];
  const size = c.shape.reduce((a, b) => a * b, 1);
  // A shift far from 0 checks the variance is computed from deviations, not E[x^2] - E[x]^2.
  const x = tf.tensor(randomValues(next, size).map((v) => v * 3 + c.shift), c.shape);
  const w = tf.tensor(randomValues(next, size), c.shape);
  const scale = tf.tensor1d(randomValues(next, channels).map((v) => 1 + v / 2));
  const offset = tf.tensor1d(randomValues(next, channels));
  const movingMean = tf.tensor1d(randomValues(next, channels));
  const movingVariance = tf.tensor1d(randomValues(next, channels).map((v) => 1 + v / 2));
  const stats: tf.Tensor[] = [];
  const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    let y: tf.Tensor;
    if (fused) {
      const out = tf.engine().runKernel(BATCH_NORM_TRAINING, { x: xx, scale: s, offset: o, movingMean, movingVariance }, { epsilon: EPSILON, momentum: MOMENTUM }) as tf.Tensor[];
      y = out[0];
      stats.push(...out.slice(1).map((t) => tf.keep(t.clone())));
    } else {
      const axes = c.shape.slice(0, -1).map((_, i) => i);
      const { mean, variance } = tf.moments(xx, axes);
      y = tf.batchNorm(xx, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, EPSILON);
      const decay = 1 - MOMENTUM;
      stats.push(...[mean, variance, tf.sub(movingMean, tf.mul(tf.sub(movingMean, mean), decay)), tf.sub(movingVariance, tf.mul(tf.sub(movingVariance, variance), decay))].map((t) => tf.keep(t.clone())));
    }
    return tf.sum(tf.mul(y, w)) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)([x, scale, offset]);
  const out = tf.concat([tf.reshape(value, [1]), ...stats.map((t) => tf.reshape(t, [-1])), ...grads.map((g) => tf.reshape(g, [-1]))]);
  tf.dispose(stats);
  return out;
}

modeTest('fused BatchNormalization training pass and gradient match tfjs-layers on cpu', async () => {
  const cases: BnCase[] = [
    { shape: [2, 5, 5, 3], shift: 0, seed: 1 },
    { shape: [1, 1, 1, 4], shift: 0.5, seed: 2 },
    { shape: [7, 6], shift: -2, seed: 3 },
    // Enough values for the addon to split the work over threads.
    { shape: [2, 32, 32, 16], shift: 40, seed: 4 },
  ];
  for (const c of cases) {
    const cpu = await runOn('cpu', () => batchNormTrainingStep(c, false));
    const wasm = await runOn('wasm', () => batchNormTrainingStep(c, true));
    const error = relativeError(wasm.values, cpu.values);
    assert.ok(error <= TOLERANCE, `shape ${c.shape} shift ${c.shift}: relative error ${error}`);
  }
});

/** Mean cross-entropy and its gradient for the outputs, flattened. */
function crossEntropyAndGradient(target: Float32Array, output: Float32Array, shape: number[], fused: boolean): tf.Tensor {
  const t = tf.tensor(target, shape);
  const f = (o: tf.Tensor) => tf.mean(fused ? categoricalCrossentropy(t, o) : tfl.metrics.categoricalCrossentropy(t, o)) as tf.Scalar;
  const { value, grad } = tf.valueAndGrad(f)(tf.tensor(output, shape));
  return tf.concat([tf.reshape(value, [1]), tf.reshape(grad, [-1])]);
}

modeTest('fused categorical cross-entropy and its gradient match tfjs-layers on cpu', async () => {
  const next = rng(5);
  const shape = [2, 9, 7, 3];
  const pixels = 2 * 9 * 7;
  const target = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) target[p * 3 + Math.floor(next() * 3)] = 1;
  // Softmax-like outputs, unnormalised ones (rescaled by the loss) and ones at the clipping bounds.
  const output = Float32Array.from(randomValues(next, pixels * 3), (v) => (v + 1) / 2 + 0.01);
  output.set([1, 0, 0, 0, 1, 0, 0.5, 0.5, 0], 0);
  for (const fused of [false, true]) {
    const cpu = await runOn('cpu', () => crossEntropyAndGradient(target, output, shape, false));
    const wasm = await runOn('wasm', () => crossEntropyAndGradient(target, output, shape, fused));
    const error = relativeError(wasm.values, cpu.values);
    assert.ok(error <= TOLERANCE, `${fused ? 'fused' : 'composed'} on wasm: relative error ${error}`);
  }
});

/** Three Adam steps of two variables with fixed gradients, then the weights and moments. */
async function adamSteps(optimizer: tf.Optimizer, seed: number, steps = 3, resumeAfter?: number): Promise<Float32Array> {
  const next = rng(seed);
  const a = tf.variable(tf.tensor2d(randomValues(next, 12), [3, 4]), true, `a${seed}`);
  const b = tf.variable(tf.tensor1d(randomValues(next, 5)), true, `b${seed}`);
  const grads = Array.from({ length: steps }, () => ({ [a.name]: tf.tensor2d(randomValues(next, 12), [3, 4]), [b.name]: tf.tensor1d(randomValues(next, 5)) }));
  let opt = optimizer;
  for (let s = 0; s < steps; s++) {
    if (s === resumeAfter) {
      // A checkpoint's round trip: the state of one optimizer into a fresh plain Adam.
      const state = await opt.getWeights();
      const fresh = tf.train.adam(0.01);
      await fresh.setWeights(state.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
      opt.dispose();
      opt = fresh;
    }
    opt.applyGradients(grads[s]);
  }
  const state = await opt.getWeights();
  const values = Float32Array.from([a, b, ...state.map((w) => w.tensor)].flatMap((t) => Array.from(t.dataSync())));
  tf.dispose([a, b, ...grads.flatMap((g) => Object.values(g))]);
  opt.dispose();
  return values;
}

modeTest('fused Adam steps and state match tfjs Adam, across a checkpoint to plain Adam', async () => {
  await tf.setBackend('cpu');
  const reference = await adamSteps(tf.train.adam(0.01), 6);
  await tf.setBackend('wasm');
  const fused = await adamSteps(adam(0.01), 6);
  assert.ok(relativeError(fused, reference) <= 1e-6, `fused Adam: relative error ${relativeError(fused, reference)}`);
  const resumed = await adamSteps(adam(0.01), 6, 3, 2);
  assert.ok(relativeError(resumed, reference) <= 1e-6, `resumed from fused Adam's state: relative error ${relativeError(resumed, reference)}`);
  // And on a backend without the kernel, the same optimizer runs tfjs's step.
  await tf.setBackend('cpu');
  const fallback = await adamSteps(adam(0.01), 6);
  assert.ok(relativeError(fallback, reference) <= 1e-6, `fused Adam on cpu: relative error ${relativeError(fallback, reference)}`);
});

modeTest('the L2 penalty and BatchNormalization train through fused kernels, and can be put back', async () => {
  await tf.setBackend('wasm');
  const kernelsOfOneStep = async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [4, 4, 2], filters: 2, kernelSize: 3, padding: 'same', kernelRegularizer: tfl.regularizers.l2({ l2: 0.001 }) }),
        tfl.layers.batchNormalization(),
      ],
    });
    model.compile({ optimizer: adam(), loss: 'meanSquaredError' });
    const x = tf.randomNormal([2, 4, 4, 2]);
    const info = await tf.profile(() => model.trainOnBatch(x, x));
    x.dispose();
    model.dispose();
    return info.kernelNames;
  };
  try {
    useLayersAsShipped();
    const shipped = await kernelsOfOneStep();
    assert.ok(!shipped.includes(BATCH_NORM_TRAINING) && !shipped.includes(L2_PENALTY), `as shipped: ${shipped.join(', ')}`);
    useFusedLayers();
    const fused = await kernelsOfOneStep();
    assert.ok(fused.includes(L2_PENALTY), `fused: ${fused.join(', ')}`);
    // BatchNormalization's fused kernel runs on the addon or on the SIMD kernels, one of which is in use
    // in either engine mode (without both, its JS loops are slower than tfjs's kernels: not fused).
    assert.ok(nativeModule() !== null || simdKernels() !== null, 'neither the addon nor the SIMD kernels are in use');
    assert.ok(fused.includes(BATCH_NORM_TRAINING), `fused: ${fused.join(', ')}`);
  } finally {
    useFusedLayers();
  }
});

modeTest('L2 penalty and Relu gradient match tfjs on cpu', async () => {
  const next = rng(11);
  const w = randomValues(next, 5 * 5 * 3 * 8);
  const x = randomValues(next, 2 * 16 * 16 * 8).map((v) => (Math.abs(v) < 0.1 ? 0 : v));
  const weights = randomValues(next, x.length);
  const compute = () => {
    const regularizer = tfl.regularizers.l2({ l2: 0.003 });
    const penalty = tf.valueAndGrad((t: tf.Tensor) => tf.mul(regularizer.apply(t), 3) as tf.Scalar)(tf.tensor(w, [5, 5, 3, 8]));
    const relu = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor(weights, [2, 16, 16, 8]))) as tf.Scalar)(tf.tensor(x, [2, 16, 16, 8]));
    return tf.concat([tf.reshape(penalty.value, [1]), tf.reshape(penalty.grad, [-1]), tf.reshape(relu.value, [1]), tf.reshape(relu.grad, [-1])]);
  };
  const cpu = await runOn('cpu', compute);
  const wasm = await runOn('wasm', compute);
  const error = relativeError(wasm.values, cpu.values);
  assert.ok(error <= TOLERANCE, `relative error ${error}`);
});

modeTest('softmax and its gradient match cpu, the gradient through one kernel on wasm', async () => {
  const next = rng(7);
  for (const shape of [[2, 9, 7, 3], [5, 11], [2, 128, 128, 3]]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const logits = randomValues(next, size).map((v) => v * 8);
    const weights = randomValues(next, size);
    const compute = () => {
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(x), tf.tensor(weights, shape))) as tf.Scalar)(tf.tensor(logits, shape));
      return tf.concat([tf.reshape(value, [1]), tf.reshape(tf.softmax(tf.tensor(logits, shape)), [-1]), tf.reshape(grad, [-1])]);
    };
    const cpu = await runOn('cpu', compute);
    const wasm = await runOn('wasm', compute);
    const error = relativeError(wasm.values, cpu.values);
    assert.ok(error <= TOLERANCE, `shape ${shape}: relative error ${error}`);
  }
  await tf.setBackend('wasm');
  const x = tf.randomNormal([2, 4, 3]);
  const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.softmax(t)))(x));
  x.dispose();
  assert.ok(info.kernelNames.includes('LeukosegSoftmaxGrad'), `kernels: ${info.kernelNames.join(', ')}`);
});

/**
 * Three Adam steps of two variables that own their buffers (made in a tidy, as layers and Adam's
 * moments are), then the weights and moments; with `cloneFirst`, a clone of the first variable is
 * held during the steps. Also, per variable, whether its moments kept their buffers from the first
 * step on (written in place) and whether the variable kept its own.
 */
async function adamStepsOwned(optimizer: tf.AdamOptimizer, seed: number, cloneFirst: boolean): Promise<{
  values: Float32Array; momentsInPlace: boolean[]; valueKept: boolean[]; clone: Float32Array | null; initial: Float32Array;
}> {
  const next = rng(seed);
  const initial = randomValues(next, 12);
  const a = tf.tidy(() => tf.variable(tf.tensor2d(initial, [3, 4]), true, `owned-a${seed}${cloneFirst}`));
  const b = tf.tidy(() => tf.variable(tf.tensor1d(randomValues(next, 5)), true, `owned-b${seed}${cloneFirst}`));
  const clone = cloneFirst ? a.clone() : null;
  const buffers = [a.dataId, b.dataId];
  const state = adamState(optimizer);
  const moments = () => [0, 1].map((i) => [state.accumulatedFirstMoment[i]!.variable.dataId, state.accumulatedSecondMoment[i]!.variable.dataId]);
  let afterFirst: object[][] = [];
  for (let s = 0; s < 3; s++) {
    const grads = { [a.name]: tf.tensor2d(randomValues(next, 12), [3, 4]), [b.name]: tf.tensor1d(randomValues(next, 5)) };
    optimizer.applyGradients(grads as unknown as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
    tf.dispose(Object.values(grads));
    if (s === 0) afterFirst = moments();
  }
  const momentsInPlace = moments().map((ids, i) => ids[0] === afterFirst[i][0] && ids[1] === afterFirst[i][1]);
  const weights = await optimizer.getWeights();
  const values = Float32Array.from([a, b, ...weights.map((w) => w.tensor)].flatMap((t) => Array.from(t.dataSync())));
  const result = {
    values, momentsInPlace, valueKept: [a.dataId === buffers[0], b.dataId === buffers[1]],
    clone: clone ? (clone.dataSync() as Float32Array) : null, initial,
  };
  tf.dispose([a, b, ...(clone ? [clone] : [])]);
  optimizer.dispose();
  return result;
}

modeTest('Adam steps the moments of variables it alone holds in place, in one call of the addon or the SIMD module; held ones as tfjs does', async () => {
  await tf.setBackend('cpu');
  const reference = await adamStepsOwned(tf.train.adam(0.01), 9, false);
  await tf.setBackend('wasm');
  // Both engine modes have a one-call pass: the addon's, or (set up for training without it) the SIMD module's.
  assert.ok(nativeModule() !== null || simdKernels() !== null, 'neither the addon nor the SIMD module is in use');
  const owned = await adamStepsOwned(adam(0.01), 9, false);
  assert.ok(relativeError(owned.values, reference.values) <= 1e-6, `relative error ${relativeError(owned.values, reference.values)}`);
  assert.deepEqual(owned.momentsInPlace, [true, true]);
  // A new value buffer every step: the backend's cached matrix products and convolutions are keyed
  // by the weight's buffer, so one written in place would go on with the old weights.
  assert.deepEqual(owned.valueKept, [false, false]);
  // A clone shares the variable's buffer (leukoseg's Identity): the update must not reach it.
  const held = await adamStepsOwned(adam(0.01), 9, true);
  assert.ok(relativeError(held.values, reference.values) <= 1e-6, `relative error ${relativeError(held.values, reference.values)}`);
  assert.deepEqual(Array.from(held.clone!), Array.from(held.initial));
  // (Its first step gave it a buffer of its own, so from then on it steps as the other.)
  assert.deepEqual(held.momentsInPlace, [true, true]);
  assert.deepEqual(held.valueKept, [false, false]);
  // In place or one kernel per variable, the same bits.
  assert.deepEqual(Array.from(held.values), Array.from(owned.values));
  if (nativeModule() === null) {
    // The SIMD module's pass and the JS loop (one kernel per variable, new moments), the same bits.
    const kernels = simdKernels();
    assert.ok(kernels !== null, 'the SIMD module is loaded');
    useSimdKernels(null);
    try {
      const loops = await adamStepsOwned(adam(0.01), 9, false);
      assert.deepEqual(loops.momentsInPlace, [false, false]);
      assert.deepEqual(Array.from(loops.values), Array.from(owned.values), "the SIMD module's pass and the JS loop differ");
    } finally {
      useSimdKernels(kernels);
    }
  }
});

/** Loss of each of `steps` Adam steps of a small two-Dense-layer classifier, on the active backend. */
async function denseLosses(steps: number): Promise<number[]> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [12], units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
      tfl.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  model.compile({ optimizer: adam(0.01), loss: 'categoricalCrossentropy' });
  const next = rng(21);
  const x = tf.tensor2d(randomValues(next, 64 * 12), [64, 12]);
  const labels = Array.from({ length: 64 }, (_, i) => (x.dataSync()[i * 12] > 0 ? 1 : 0) + (x.dataSync()[i * 12 + 1] > 0 ? 2 : 0));
  const y = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 4), 'float32');
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(Number(await model.trainOnBatch(x, y)));
  tf.dispose([x, y]);
  model.dispose();
  return losses;
}

modeTest('Dense layers train on the engine as on cpu (a weight written in place would leave a stale cached matrix product)', async () => {
  await tf.setBackend('cpu');
  const cpu = await denseLosses(30);
  await tf.setBackend('wasm');
  const wasm = await denseLosses(30);
  assert.ok(cpu[29] < 0.5 * cpu[0], `the reference learns: ${cpu[0]} -> ${cpu[29]}`);
  for (let s = 0; s < 30; s++) {
    assert.ok(Math.abs(wasm[s] - cpu[s]) <= 1e-3 * Math.max(1, cpu[s]), `step ${s + 1}: wasm loss ${wasm[s]}, cpu ${cpu[s]}`);
  }
});

modeTest("leukoseg's Mean gradient gives exactly tfjs-core's", async () => {
  await tf.setBackend('wasm');
  const next = rng(13);
  const cases: Array<{ shape: number[]; axis?: number | number[]; keepDims: boolean }> = [
    { shape: [2, 128, 128], keepDims: false }, // a loss's mean over pixels
    { shape: [2, 5, 7, 3], axis: [1, 2], keepDims: true },
    { shape: [4, 6], axis: -1, keepDims: false },
    { shape: [3, 1, 5], axis: 0, keepDims: false },
  ];
  for (const c of cases) {
    const x = tf.tensor(randomValues(next, c.shape.reduce((a, b) => a * b)), c.shape);
    const grad = () => {
      const w = tf.tidy(() => tf.mean(x, c.axis, c.keepDims));
      const weights = tf.tensor(randomValues(rng(1), w.size), w.shape);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, c.axis, c.keepDims), weights)))(x);
      const values = Array.from(g.dataSync());
      tf.dispose([w, weights, g]);
      return values;
    };
    const ours = grad();
    useShippedGradients();
    const shipped = grad();
    useTrainingGradients();
    assert.deepEqual(ours, shipped, `shape ${c.shape} axis ${String(c.axis)}`);
    x.dispose();
  }
});
