// A convolution of a 2x nearest up-sampling, computed on the small image as four phases
// (upsampled_conv.ts), against the up-sampling and the convolution as tfjs runs them: values and
// all three gradients, on cpu and on the engine's wasm; and Model 3's training gradients through
// the patched layers against tfjs-layers as shipped (the 1x1 head after the second up-sampling
// included), in both engine modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useFusedLayers, useLayersAsShipped } from './fused_layers.js';
import { buildModel3 } from './model3.js';
import { categoricalCrossentropy } from './ops.js';
import { foldTaps, phaseConv, phasesPay, phaseTaps, smallOffset, unfoldTaps } from './upsampled_conv.js';
import { modeTest, randomValues, relativeError, rng, setupBackends, TOLERANCE } from './testing.js';

test("each tap of a 5x5, 7x7 or 9x9 filter lands on one tap of each phase, and the fold's gradient is its adjoint", () => {
  const next = rng(3);
  for (const k of [5, 7, 9]) {
    const ke = phaseTaps(k);
    assert.equal(ke, k === 5 ? 3 : 5);
    // One input and one output channel: phase p's taps are channel p of the phases' filter.
    for (let tap = 0; tap < k * k; tap++) {
      const oneHot = new Float32Array(k * k);
      oneHot[tap] = 1;
      const folded = foldTaps(oneHot, k, 1, 1);
      for (let phase = 0; phase < 4; phase++) {
        const hits: number[] = Array.from({ length: ke * ke }, (_, e) => folded[e * 4 + phase]);
        assert.deepEqual([hits.filter((v) => v === 1).length, hits.filter((v) => v !== 0 && v !== 1).length], [1, 0], `k ${k}, phase ${phase}, tap ${tap}`);
      }
    }
    // <fold(w), g> = <w, unfold(g)>, with channels.
    const [ci, co] = [3, 2];
    const w = randomValues(next, k * k * ci * co);
    const g = randomValues(next, ke * ke * ci * 4 * co);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
    assert.ok(Math.abs(dot(foldTaps(w, k, ci, co), g) - dot(w, unfoldTaps(g, k, ci, co))) < 1e-4, `k ${k}: fold and unfold are not adjoint`);
    // The offsets are centred, so 'same' padding of the small image is the large image's.
    assert.equal(smallOffset(0, 0, k), -(ke - 1) / 2);
    assert.equal(smallOffset(k - 1, 1, k), (ke - 1) / 2);
  }
  assert.deepEqual([1, 3, 4, 5, 7].map(phasesPay), [false, false, false, true, true]);
});

interface Outcome { y: Float32Array; dSmall: Float32Array; dKernel: Float32Array; dBias: Float32Array }

function run(shape: [number, number, number, number], k: number, co: number, activation: 'relu' | 'linear', phases: boolean, seed: number): Outcome {
  const next = rng(seed);
  const [b, h, w, ci] = shape;
  const small = tf.tensor4d(randomValues(next, b * h * w * ci), shape);
  const kernel = tf.tensor4d(randomValues(next, k * k * ci * co), [k, k, ci, co]);
  const bias = tf.tensor1d(randomValues(next, co));
  const weights = tf.tensor4d(randomValues(next, b * 2 * h * 2 * w * co), [b, 2 * h, 2 * w, co]);
  // The reference's up-sampling as a tile of each pixel: tfjs-backend-cpu 4.22's nearest-resize
  // gradient is wrong for batches over 1 (see small_kernels.test.ts).
  const upSample = (s: tf.Tensor4D) => {
    const columns = tf.reshape(tf.tile(tf.reshape(s, [b * h, w, 1, ci]), [1, 1, 2, 1]), [b * h, 1, 2 * w, ci]);
    return tf.reshape(tf.tile(columns, [1, 2, 1, 1]), [b, 2 * h, 2 * w, ci]) as tf.Tensor4D;
  };
  const forward = (s: tf.Tensor4D, f: tf.Tensor4D, c: tf.Tensor1D) =>
    phases ? phaseConv(s, f, c, activation) : tf.fused.conv2d({ x: upSample(s), filter: f, strides: 1, pad: 'same', bias: c, activation });
  const y = tf.tidy(() => forward(small, kernel, bias));
  // A weighted sum, so each output's gradient differs.
  const grads = tf.grads((s: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(forward(s as tf.Tensor4D, f as tf.Tensor4D, c as tf.Tensor1D), weights)))([small, kernel, bias]);
  const out = { y: y.dataSync() as Float32Array, dSmall: grads[0].dataSync() as Float32Array, dKernel: grads[1].dataSync() as Float32Array, dBias: grads[2].dataSync() as Float32Array };
  tf.dispose([small, kernel, bias, weights, y, ...grads]);
  return out;
}

test('phases give the convolution of the up-sampled image and its three gradients, on cpu and wasm', async () => {
  await setupBackends();
  const cases: Array<{ shape: [number, number, number, number]; k: number; co: number; activation: 'relu' | 'linear' }> = [
    { shape: [2, 8, 8, 32], k: 5, co: 16, activation: 'relu' }, // Model 3's conv4 at 16x16 of 128
    { shape: [1, 5, 7, 3], k: 5, co: 4, activation: 'linear' }, // odd sizes: the border phases
    { shape: [2, 6, 4, 2], k: 7, co: 3, activation: 'relu' },
    { shape: [1, 1, 1, 2], k: 5, co: 2, activation: 'linear' }, // one pixel: every tap but the centre's reads padding
  ];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    for (const [i, c] of cases.entries()) {
      const expected = run(c.shape, c.k, c.co, c.activation, false, 30 + i);
      const actual = run(c.shape, c.k, c.co, c.activation, true, 30 + i);
      for (const part of ['y', 'dSmall', 'dKernel', 'dBias'] as const) {
        const error = relativeError(actual[part], expected[part]);
        assert.ok(error <= 1e-5, `${backend} ${JSON.stringify(c)}: ${part} differs by ${error}`);
      }
    }
  }
});

/** Model 3's loss and every weight's gradient from a seeded start (batch 2), and the channels of each nearest up-sampling's gradient. */
async function model3Step(): Promise<{ values: Float32Array; resizeGrads: number[] }> {
  const next = rng(12);
  const model = buildModel3(16);
  const start = model.getWeights().map((w) => tf.tensor(randomValues(next, w.size).map((v) => v / 4), w.shape));
  model.setWeights(start);
  tf.dispose(start);
  const xs = tf.tensor4d(randomValues(next, 2 * 16 * 16 * 3), [2, 16, 16, 3]);
  const ys = tf.oneHot(tf.tensor3d(Array.from({ length: 2 * 16 * 16 }, () => Math.floor(next() * 3)), [2, 16, 16], 'int32'), 3);
  let values = new Float32Array(0);
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => {
      const predicted = model.apply(xs, { training: true }) as tf.Tensor;
      return tf.mean(categoricalCrossentropy(ys, predicted)) as tf.Scalar;
    }, model.trainableWeights.map((w) => w.read() as tf.Variable));
    values = Float32Array.from([value, ...Object.values(grads)].flatMap((g) => Array.from(g.dataSync())));
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([xs, ys]);
  model.optimizer.dispose();
  model.dispose();
  const resizeGrads = info.kernels.filter((k) => k.name === 'ResizeNearestNeighborGrad').map((k) => k.inputShapes[0]![3]);
  return { values, resizeGrads };
}

modeTest("in training, Model 3's convolutions after an up-sampling run on the small image, with tfjs-layers' loss and gradients", async () => {
  await tf.setBackend('wasm');
  try {
    useLayersAsShipped();
    const shipped = await model3Step();
    useFusedLayers();
    const phased = await model3Step();
    // Two up-samplings, of 32 and 16 channels. The 5x5 convolution after the first convolves phases of
    // the small image, and the 1x1 head after the second runs on the small image, its 3 channels of
    // output up-sampled: only that up-sampling has a gradient.
    assert.deepEqual(shipped.resizeGrads, [16, 32]);
    assert.deepEqual(phased.resizeGrads, [3]);
    const error = relativeError(phased.values, shipped.values);
    assert.ok(error <= TOLERANCE, `loss and gradients: relative error ${error}`);
  } finally {
    useFusedLayers();
  }
});
