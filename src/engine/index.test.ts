// Checks initEngine / engineInfo: idempotent setup, backend switching and
// that the wasm registry serves leukoseg's kernels after repeated calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { engineInfo, initEngine } from './index.js';
import { isLeukosegKernel, replacedKernelNames } from './kernels/register.js';

test('engineInfo before initEngine explains itself', () => {
  assert.throws(() => engineInfo(), /initEngine/);
});

test('initEngine defaults to wasm and is idempotent', async () => {
  assert.equal(await initEngine(), 'wasm');
  const registered = replacedKernelNames.map((name) => tf.getKernel(name, 'wasm').kernelFunc);
  assert.equal(await initEngine({ backend: 'wasm' }), 'wasm');
  assert.equal(await initEngine(), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  replacedKernelNames.forEach((name, i) => {
    const kernelFunc = tf.getKernel(name, 'wasm').kernelFunc;
    assert.ok(isLeukosegKernel(kernelFunc), name);
    assert.equal(kernelFunc, registered[i], `${name} re-registered`);
  });
  const info = engineInfo();
  assert.equal(info.backend, 'wasm');
  assert.equal(info.simd, true);
  assert.ok(info.threads >= 1);
  assert.deepEqual(info.replacedKernels, [...replacedKernelNames]);
});

test('initEngine switches to cpu and back', async () => {
  assert.equal(await initEngine({ backend: 'cpu' }), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(engineInfo(), {
    backend: 'cpu', simd: false, threads: 1, replacedKernels: [], native: null, nativeUnavailable: 'the cpu backend has no native kernels',
    simdKernels: false, training: false, missingInternals: [],
  });
  assert.equal(await initEngine({ backend: 'wasm' }), 'wasm');
  const y = tf.tile(tf.tensor1d([1, 2]), [3]);
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 1, 2, 1, 2]);
  y.dispose();
});

test('initEngine rejects unknown backends', async () => {
  await assert.rejects(initEngine({ backend: 'webgl' as 'wasm' }), /unknown backend 'webgl'/);
});
