// The wasm backend on tfjs's threaded build (2 threads, whatever the machine): it starts in Node with the
// threads asked for, its convolutions, their gradients and Model 3's gradients match the cpu
// backend, the process's Worker global and os.cpus are left as they were, and a process using it exits.
// Own file: the first initEngine of a process decides the build.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { categoricalCrossentropy, engineInfo, initEngine } from './index.js';
import { buildModel3 } from './model3.js';
import { loadNativeConv } from './native.js';
import { heapIsShared } from './tfjs-internals.js';
import { compareBackends, randomValues, relativeError, rng, TOLERANCE } from './testing.js';
import { MAX_WASM_THREADS, THREADS_ENV, wasmThreadsWanted } from './wasm_threads.js';

const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
const cpusBefore = cpus().length;

before(async () => {
  await initEngine({ threads: 2, training: true });
  await initEngine({ backend: 'cpu', training: true });
});

test('the threaded build starts with 2 threads on a shared heap, and puts Worker and os.cpus back', async () => {
  await initEngine({ training: true });
  const info = engineInfo();
  assert.equal(info.threads, 2);
  assert.equal(info.threadsUnavailable, undefined);
  assert.ok(heapIsShared(tf.backend() as BackendWasm));
  // The SIMD kernels' shared-memory module, on the same heap (Model 3's gradients below go through them).
  assert.equal(info.simdKernels, true, info.simdKernelsUnavailable);
  if (!(loadNativeConv() instanceof Error)) {
    assert.equal(info.native, null);
    assert.match(info.nativeUnavailable ?? '', /threaded build \(2 threads\), whose shared heap/);
  }
  assert.deepEqual(Object.getOwnPropertyDescriptor(globalThis, 'Worker'), workerBefore);
  assert.equal(cpus().length, cpusBefore);
});

test('a 5x5 convolution and both its gradients at Model 3 widths match cpu on 2 threads', async () => {
  const next = rng(31);
  const [xShape, filterShape] = [[2, 24, 24, 16], [5, 5, 16, 32]] as const;
  const x = randomValues(next, 2 * 24 * 24 * 16);
  const filter = randomValues(next, 5 * 5 * 16 * 32);
  const dy = randomValues(next, 2 * 24 * 24 * 32);
  const { error } = await compareBackends(() => {
    const f = (xs: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xs as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), tf.tensor4d(dy, [2, 24, 24, 32])));
    const { value, grads } = tf.valueAndGrads(f)([tf.tensor4d(x, [...xShape]), tf.tensor4d(filter, [...filterShape])]);
    return tf.concat([tf.reshape(value, [1]), ...grads.map((g) => tf.reshape(g, [-1]))]);
  });
  assert.ok(error <= TOLERANCE, `relative error ${error}`);
});

/**
 * Model 3's loss and the gradients of every trainable weight from a seeded start, then two training steps
 * (Adam's steps are about sign(gradient) x lr, so weights after them are not compared: a gradient near 0
 * may take either sign on either backend).
 */
async function model3Gradients(backend: 'cpu' | 'wasm'): Promise<Float32Array> {
  await tf.setBackend(backend);
  const next = rng(7);
  const model = buildModel3(16);
  const start = model.getWeights().map((w) => tf.tensor(randomValues(next, w.size).map((v) => v / 4), w.shape));
  model.setWeights(start);
  tf.dispose(start);
  // Batch 1: tfjs's cpu ResizeNearestNeighborGrad, the reference for the up-sampling, is wrong for more.
  const xs = tf.tensor4d(randomValues(next, 16 * 16 * 3), [1, 16, 16, 3]);
  const labels = tf.tensor3d(Array.from({ length: 16 * 16 }, () => Math.floor(next() * 3)), [1, 16, 16], 'int32');
  const ys = tf.oneHot(labels, 3);
  const { value, grads } = tf.variableGrads(() => {
    const predicted = model.apply(xs, { training: true }) as tf.Tensor;
    return tf.mean(categoricalCrossentropy(ys, predicted)) as tf.Scalar;
  }, model.trainableWeights.map((w) => w.read() as tf.Variable));
  const out = Float32Array.from([value, ...Object.values(grads)].flatMap((g) => Array.from(g.dataSync())));
  tf.dispose([value, ...Object.values(grads)]);
  for (let step = 0; step < 2; step++) await model.trainOnBatch(xs, ys);
  tf.dispose([xs, labels, ys]);
  model.optimizer.dispose();
  model.dispose();
  return out;
}

test("Model 3's loss and gradients on 2 threads match cpu, and its training steps free what they make", async () => {
  const cpu = await model3Gradients('cpu');
  const before = tf.memory().numTensors;
  const wasm = await model3Gradients('wasm');
  assert.equal(tf.memory().numTensors, before);
  const error = relativeError(wasm, cpu);
  assert.ok(error <= TOLERANCE, `loss and gradients: relative error ${error}`);
});

test('a process that starts the threaded build exits by itself when done', async () => {
  const engine = new URL('./index.js', import.meta.url).href;
  const script = `import * as tf from '@tensorflow/tfjs-core';
import { engineInfo, initEngine } from ${JSON.stringify(engine)};
await initEngine({ threads: 2 });
tf.conv2d(tf.ones([1, 64, 64, 8]), tf.ones([3, 3, 8, 8]), 1, 'same').dataSync();
console.log(engineInfo().threads);`;
  // The pool's threads run until the backend is disposed; Node must not wait for them.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  assert.equal(stdout.trim().split('\n').pop(), '2');
});

test('threads come from the option, else the environment, else every core for training and half of them otherwise where the native kernels cannot load', () => {
  const saved = process.env[THREADS_ENV];
  try {
    delete process.env[THREADS_ENV];
    assert.equal(wasmThreadsWanted(3, true), 3);
    assert.equal(wasmThreadsWanted(undefined, true), 1);
    assert.equal(wasmThreadsWanted(undefined, false), Math.max(1, Math.min(MAX_WASM_THREADS, Math.ceil(availableParallelism() / 2))));
    assert.equal(wasmThreadsWanted(undefined, false, true), Math.min(MAX_WASM_THREADS, availableParallelism()));
    assert.equal(wasmThreadsWanted(undefined, true, true), 1);
    process.env[THREADS_ENV] = '2';
    assert.equal(wasmThreadsWanted(undefined, true), 2);
    assert.equal(wasmThreadsWanted(1, false), 1);
    assert.equal(wasmThreadsWanted(undefined, false, true), 2);
    process.env[THREADS_ENV] = 'two';
    assert.throws(() => wasmThreadsWanted(undefined, false), /LEUKOSEG_WASM_THREADS must be a whole number from 1 to 8, but got 'two'/);
    assert.throws(() => wasmThreadsWanted(9, false), /threads option must be a whole number from 1 to 8, but got '9'/);
    assert.throws(() => wasmThreadsWanted(0, false), /but got '0'/);
  } finally {
    if (saved === undefined) delete process.env[THREADS_ENV];
    else process.env[THREADS_ENV] = saved;
  }
});
