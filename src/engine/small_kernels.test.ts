// Checks leukoseg's smaller wasm kernels (Tile, Concat and SplitV, MaxPoolGrad, the nearest-
// neighbour resize and its gradient, reductions, broadcasting arithmetic) against cpu.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { leadingRepeats } from './kernels/broadcast_binary.js';
import { simplifyTile } from './kernels/tile.js';
import { nativeModule } from './kernels/native_conv.js';
import { simdKernels, useSimdKernels } from './kernels/simd.js';
import { compareBackends, modeTest, pick, randInt, randomValues, relativeError, rng, runOn, setupBackends, TOLERANCE } from './testing.js';

// Each test sets the engine up itself: modeTest runs some in both engine modes.
before(() => setupBackends());

test('tile axis merging keeps the meaning of reps', () => {
  assert.deepEqual(simplifyTile([1, 1, 1, 16], [2, 64, 64, 1]), { shape: [16], reps: [8192] });
  assert.deepEqual(simplifyTile([2, 3], [1, 2]), { shape: [2, 3], reps: [1, 2] });
  assert.deepEqual(simplifyTile([2, 3, 4], [2, 1, 1]), { shape: [24], reps: [2] });
  assert.deepEqual(simplifyTile([3, 1, 4], [1, 5, 2]), { shape: [3, 4], reps: [1, 10] });
});

test('tile matches cpu for float32, int32 and bool of ranks 0-5', async () => {
  const next = rng(9);
  for (let i = 0; i < 40; i++) {
    const rank = i === 0 ? 0 : randInt(next, 1, 5);
    const shape = Array.from({ length: rank }, () => pick(next, [1, 1, 2, 3, 5]));
    const reps = Array.from({ length: rank }, () => pick(next, [1, 1, 2, 3, 4]));
    const dtype = pick(next, ['float32', 'int32', 'bool'] as const);
    const values = randomValues(next, shape.reduce((a, b) => a * b, 1));
    const typed = dtype === 'float32' ? values
      : dtype === 'int32' ? Int32Array.from(values, (v) => Math.round(v * 100)) : Uint8Array.from(values, (v) => (v > 0 ? 1 : 0));
    const { error, wasm, cpu } = await compareBackends(() => tf.tile(tf.tensor(typed, shape, dtype), reps));
    assert.equal(wasm.values.constructor, cpu.values.constructor, `dtype ${dtype}`);
    assert.equal(error, 0, `shape ${shape} reps ${reps} ${dtype}`);
  }
});

test('concat and split match cpu along every axis, by the SIMD module and by the JS loop', async () => {
  const simd = simdKernels();
  assert.ok(simd !== null, 'set up for training without the addon, the SIMD module is loaded');
  const next = rng(17);
  const cases = Array.from({ length: 30 }, (_, i) => {
    const rank = randInt(next, 1, 4);
    const shape = Array.from({ length: rank }, () => pick(next, [1, 2, 3, 5, 16]));
    const axis = randInt(next, -rank, rank - 1);
    const parts = Array.from({ length: randInt(next, 2, 3) }, () => pick(next, [1, 2, 3, 5, 7, 32]));
    const dtype = i % 5 === 4 ? 'int32' as const : i % 7 === 6 ? 'bool' as const : 'float32' as const;
    return { shape, axis, parts, dtype };
  });
  // A U-Net's skip connection at 128x128: channels 16 + 16, batch 2.
  cases.push({ shape: [2, 128, 128, 1], axis: 3, parts: [16, 16], dtype: 'float32' });
  for (const kernels of [simd, null]) {
    useSimdKernels(kernels);
    try {
      for (const { shape, axis, parts, dtype } of cases) {
        const a = (shape.length + axis) % shape.length;
        const partShapes = parts.map((p) => shape.map((d, k) => (k === a ? p : d)));
        const values = partShapes.map((ps) => randomValues(next, ps.reduce((x, y) => x * y, 1)));
        const make = (v: Float32Array, ps: number[]) =>
          dtype === 'float32' ? tf.tensor(v, ps) : dtype === 'int32' ? tf.tensor(Int32Array.from(v, (x) => Math.round(x * 100)), ps, 'int32') : tf.tensor(Uint8Array.from(v, (x) => (x > 0 ? 1 : 0)), ps, 'bool');
        const label = `${kernels ? 'SIMD' : 'JS'} ${dtype} parts ${JSON.stringify(partShapes)} axis ${axis}`;
        const joined = await compareBackends(() => tf.concat(values.map((v, k) => make(v, partShapes[k])), axis));
        assert.equal(joined.error, 0, `concat ${label}`);
        for (let k = 0; k < parts.length; k++) {
          // Each part of the joined tensor, cut out again by split.
          const cut = await compareBackends(() => tf.split(tf.concat(values.map((v, j) => make(v, partShapes[j])), axis), parts, axis)[k]);
          assert.equal(cut.error, 0, `split part ${k} of ${label}`);
          const own = await runOn('wasm', () => make(values[k], partShapes[k]));
          assert.deepEqual(Array.from(cut.wasm.values), Array.from(own.values), `split part ${k} of ${label} is not the part concatenated`);
        }
      }
    } finally {
      useSimdKernels(simd);
    }
  }
});

test('tile of the BatchNorm gradient shape matches cpu', async () => {
  const values = randomValues(rng(3), 16);
  const { error } = await compareBackends(() => tf.tile(tf.tensor4d(values, [1, 1, 1, 16]), [2, 32, 32, 1]));
  assert.equal(error, 0);
});

modeTest('max pool and its gradient match cpu, ties included', async () => {
  const next = rng(21);
  type Case = { shape: [number, number, number, number]; size: number; stride: number; pad: 'valid' | 'same' };
  // Windows tiling the input (the unrolled 2x2 path and the general one), then random ones.
  const cases: Case[] = [
    { shape: [2, 8, 8, 4], size: 2, stride: 2, pad: 'valid' },
    // Four channels at a time and the rest one by one in the SIMD kernel.
    { shape: [2, 4, 6, 11], size: 2, stride: 2, pad: 'valid' },
    { shape: [3, 6, 10, 1], size: 2, stride: 2, pad: 'same' },
    { shape: [1, 6, 6, 3], size: 3, stride: 3, pad: 'valid' },
  ];
  while (cases.length < 40) {
    const shape: Case['shape'] = [randInt(next, 1, 3), randInt(next, 1, 9), randInt(next, 1, 9), randInt(next, 1, 8)];
    const c: Case = { shape, size: pick(next, [1, 2, 3]), stride: pick(next, [1, 2, 3]), pad: pick(next, ['valid', 'same'] as const) };
    if (c.pad === 'same' || (shape[1] >= c.size && shape[2] >= c.size)) cases.push(c);
  }
  for (const { shape, size, stride, pad } of cases) {
    // Few distinct values, so windows hold ties, and all-negative windows (as
    // after BatchNorm), which the shipped wasm kernel gives no gradient at all.
    const xValues = randomValues(next, shape.reduce((a, b) => a * b)).map((v) => Math.round(v * 3));
    const dyValues = randomValues(next, 4096);
    const { error } = await compareBackends(() => {
      const x = tf.tensor4d(xValues, shape);
      const f = (t: tf.Tensor4D) => tf.maxPool(t, size, stride, pad);
      const y = f(x);
      const dy = tf.tensor(dyValues.subarray(0, y.size), y.shape);
      // The pool itself too: the 2x2 tiling ones run natively with the addon.
      return tf.concat([tf.reshape(y, [-1]), tf.reshape(tf.grad((t) => tf.mul(f(t as tf.Tensor4D), dy))(x), [-1])]);
    });
    assert.ok(error <= TOLERANCE, `x=${shape} pool=${size} stride=${stride} pad=${pad}: relative error ${error}`);
  }
  // A BatchNorm-sized 2x2 pool, large enough for the native kernel's threads.
  const big = randomValues(next, 2 * 64 * 64 * 16).map((v) => Math.round(v * 3));
  const bigDy = randomValues(next, 2 * 32 * 32 * 16);
  const { error } = await compareBackends(() => {
    const x = tf.tensor4d(big, [2, 64, 64, 16]);
    const dx = tf.grad((t) => tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), tf.tensor4d(bigDy, [2, 32, 32, 16])))(x);
    return tf.concat([tf.reshape(tf.maxPool(x, 2, 2, 'valid'), [-1]), tf.reshape(dx, [-1])]);
  });
  assert.ok(error <= TOLERANCE, `2x64x64x16 pool 2: relative error ${error}`);
});

/** dx of nearest-neighbour up-scaling: sum of dy over the pixels each input pixel became. */
function resizeGradReference(dy: Float32Array, shape: number[], outHeight: number, outWidth: number): Float32Array {
  const [batch, height, width, channels] = shape;
  const dx = new Float32Array(batch * height * width * channels);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outHeight; y++) {
      const sy = Math.min(height - 1, Math.floor(y * height / outHeight));
      for (let x = 0; x < outWidth; x++) {
        const sx = Math.min(width - 1, Math.floor(x * width / outWidth));
        for (let c = 0; c < channels; c++) {
          dx[((b * height + sy) * width + sx) * channels + c] += dy[((b * outHeight + y) * outWidth + x) * channels + c];
        }
      }
    }
  }
  return dx;
}

modeTest('nearest-neighbour resize and its gradient match cpu (the gradient: batch 1) and a direct sum (any batch)', async () => {
  // tfjs-backend-cpu 4.22 offsets dy by the images' batch stride, so its
  // result is wrong for batch > 1; those cases are checked against a plain
  // loop instead (the shipped wasm kernel agrees with that loop).
  const next = rng(5);
  const cases: Array<{ shape: [number, number, number, number]; size: [number, number]; align: boolean; half: boolean }> = [
    { shape: [1, 8, 8, 16], size: [16, 16], align: false, half: false },
    { shape: [3, 8, 8, 16], size: [16, 16], align: false, half: false },
    { shape: [1, 5, 3, 2], size: [15, 6], align: false, half: true },
    { shape: [2, 5, 3, 2], size: [15, 6], align: false, half: false },
    { shape: [1, 4, 4, 3], size: [8, 8], align: true, half: false },
    { shape: [1, 4, 6, 1], size: [7, 9], align: false, half: false },
    { shape: [2, 3, 3, 2], size: [3, 3], align: false, half: false },
    // UpSampling2D in Model 3, large enough for the addon's threads.
    { shape: [2, 32, 32, 32], size: [64, 64], align: false, half: false },
  ];
  for (const c of cases) {
    const xValues = randomValues(next, c.shape.reduce((a, b) => a * b));
    const dyValues = randomValues(next, c.shape[0] * c.size[0] * c.size[1] * c.shape[3]);
    const compute = () => {
      const x = tf.tensor4d(xValues, c.shape);
      const dy = tf.tensor4d(dyValues, [c.shape[0], ...c.size, c.shape[3]]);
      return tf.grad((t) => tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.align, c.half), dy))(x);
    };
    const forward = await compareBackends(() => tf.image.resizeNearestNeighbor(tf.tensor4d(xValues, c.shape), c.size, c.align, c.half));
    assert.equal(forward.error, 0, `${JSON.stringify(c)}: forward differs from cpu`);
    if (c.shape[0] === 1) {
      const { error } = await compareBackends(compute);
      assert.ok(error <= TOLERANCE, `${JSON.stringify(c)}: relative error vs cpu ${error}`);
    }
    if (!c.align) {
      const wasm = await runOn('wasm', compute);
      const error = relativeError(wasm.values, resizeGradReference(dyValues, c.shape, c.size[0], c.size[1]));
      assert.ok(error <= TOLERANCE, `${JSON.stringify(c)}: relative error vs direct sum ${error}`);
    }
  }
});

modeTest('sum and mean over leading, trailing and mixed axes match cpu', async () => {
  const next = rng(31);
  const shape = [3, 7, 5, 6];
  const values = randomValues(next, 3 * 7 * 5 * 6);
  for (const axis of [[0], [0, 1], [0, 1, 2], [1, 0], [3], [1, 2], [0, 2], [0, 1, 2, 3]]) {
    for (const keepDims of [false, true]) {
      for (const op of ['sum', 'mean'] as const) {
        const { error } = await compareBackends(() => tf[op](tf.tensor(values, shape), axis, keepDims));
        assert.ok(error <= 1e-6, `${op} axis ${axis} keepDims ${keepDims}: relative error ${error}`);
      }
    }
  }
  // Large BatchNorm-like reduction: float64 accumulation keeps it tight.
  const big = randomValues(next, 2 * 64 * 64 * 16);
  const { error } = await compareBackends(() => tf.sum(tf.tensor4d(big, [2, 64, 64, 16]), [0, 1, 2]));
  assert.ok(error <= 1e-6, `large sum: relative error ${error}`);
  // A loss's total (every axis): split over the addon's threads with float64 sums, else the shipped
  // kernel, which sums in float32 (9e-6 here).
  const total = await compareBackends(() => tf.concat([tf.reshape(tf.sum(tf.tensor4d(big, [2, 64, 64, 16])), [1]), tf.reshape(tf.mean(tf.tensor4d(big, [2, 64, 64, 16])), [1])]));
  const tolerance = nativeModule() !== null ? 1e-6 : TOLERANCE;
  assert.ok(total.error <= tolerance, `total sum and mean: relative error ${total.error}`);
});

test('broadcast detection only accepts repeats along leading axes', () => {
  assert.equal(leadingRepeats([16], [2, 4, 4, 16]), 32);
  assert.equal(leadingRepeats([1, 1, 1, 16], [2, 4, 4, 16]), 32);
  assert.equal(leadingRepeats([4, 16], [2, 4, 16]), 2);
  assert.equal(leadingRepeats([1, 1, 5], [2, 1, 5]), 2);
  assert.equal(leadingRepeats([2, 1, 16], [2, 4, 16]), 0);
  assert.equal(leadingRepeats([4, 1], [4, 3]), 0);
  assert.equal(leadingRepeats([2, 3, 4], [3, 4]), 0);
});

modeTest('add, sub, mul and div with broadcasting match cpu exactly', async () => {
  const next = rng(41);
  const pairs: Array<[number[], number[]]> = [
    [[2, 8, 8, 16], [16]], [[16], [2, 8, 8, 16]], [[1, 1, 1, 6], [3, 5, 5, 6]], [[2, 3, 4], [3, 4]],
    [[2, 5, 1], [2, 5, 3]], [[4, 1, 3], [4, 2, 3]], [[3, 4], [3, 4]], [[2, 6, 6, 5], []], [[2, 2, 3], [1, 3]],
    // Large enough for the native kernels' threads: same shape, per-channel, scalar.
    [[2, 64, 64, 16], [2, 64, 64, 16]], [[2, 64, 64, 16], [1, 1, 1, 16]], [[], [2, 64, 64, 16]],
  ];
  for (const [shapeA, shapeB] of pairs) {
    const a = randomValues(next, shapeA.reduce((x, y) => x * y, 1));
    // Divisors away from zero so the quotient is well conditioned.
    const b = randomValues(next, shapeB.reduce((x, y) => x * y, 1)).map((v) => v + Math.sign(v || 1) * 0.5);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const { error } = await compareBackends(() => tf[op](tf.tensor(a, shapeA), tf.tensor(b, shapeB)));
      assert.ok(error <= 1e-6, `${op} ${shapeA} by ${shapeB}: relative error ${error}`);
    }
  }
});

test('cast to bool is x != 0 like cpu; other casts unchanged; to its own dtype shared', async () => {
  const values = Float32Array.from([0.5, -0.2, 0, 0.9, -1, 3, -0, 1e-30, Number.NaN]);
  for (const [from, to] of [['float32', 'bool'], ['int32', 'bool'], ['float32', 'int32'], ['bool', 'float32']] as const) {
    const { error, wasm, cpu } = await compareBackends(() => {
      const x = from === 'float32' ? tf.tensor1d(values)
        : tf.tensor1d(Int32Array.from(values, (v) => Math.trunc(v * 2) || 0), from === 'int32' ? 'int32' : undefined);
      return tf.cast(from === 'bool' ? tf.cast(x, 'bool') : x, to);
    });
    assert.equal(error, 0, `${from} -> ${to}: wasm ${wasm.values} vs cpu ${cpu.values}`);
  }
  // A cast to the tensor's own dtype is another reference to its buffer, freed with the last of them.
  await tf.setBackend('wasm');
  const buffers = tf.engine().backend.numDataIds();
  const x = tf.tensor1d(values);
  const same = tf.cast(x, 'float32');
  assert.equal(tf.engine().backend.numDataIds(), buffers + 1);
  x.dispose();
  assert.deepEqual(Array.from(same.dataSync()), Array.from(values));
  same.dispose();
  assert.equal(tf.engine().backend.numDataIds(), buffers);
});

modeTest('batchNorm with and without offset and scale matches cpu', async () => {
  const next = rng(61);
  for (const shape of [[2, 16, 16, 8], [2, 64, 64, 16], [3, 5, 7]] as number[][]) {
    const c = shape[shape.length - 1];
    const x = randomValues(next, shape.reduce((a, b) => a * b));
    const mean = randomValues(next, c);
    const variance = randomValues(next, c).map((v) => Math.abs(v) + 0.1);
    const offset = randomValues(next, c);
    const scale = randomValues(next, c);
    for (const [withOffset, withScale] of [[true, true], [false, true], [true, false], [false, false]]) {
      const { error } = await compareBackends(() =>
        tf.batchNorm(tf.tensor(x, shape), tf.tensor1d(mean), tf.tensor1d(variance),
          withOffset ? tf.tensor1d(offset) : undefined, withScale ? tf.tensor1d(scale) : undefined, 1e-3));
      assert.ok(error <= TOLERANCE, `${shape} offset=${withOffset} scale=${withScale}: relative error ${error}`);
    }
  }
  // A single mean and variance for every channel (the shipped kernel reads them per channel).
  const small = randomValues(next, 2 * 4 * 3);
  const { error } = await compareBackends(() =>
    tf.batchNorm(tf.tensor(small, [2, 4, 3]), tf.scalar(0.2), tf.scalar(1.5), undefined, undefined, 1e-3));
  assert.ok(error <= TOLERANCE, `scalar mean: relative error ${error}`);
});
