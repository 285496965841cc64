// Saved tensors as shared references (saved_tensors.ts): the training set-up installs it, gradients
// come out bit for bit as with tfjs's clones, nothing leaks, gradients of gradients still work (they
// keep the clones), and a step runs far fewer kernels.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { savedTensorsShared, useClonedSavedTensors, useSharedSavedTensors } from './saved_tensors.js';
import { modeTest, randomValues, rng } from './testing.js';

/** Gradients of a small conv net's loss for every parameter, flattened, and the kernels it ran. */
async function gradientsOfNet(seed: number): Promise<{ values: number[]; kernels: string[] }> {
  const next = rng(seed);
  const x = tf.tensor4d(randomValues(next, 2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const w1 = tf.tensor4d(randomValues(next, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
  const w2 = tf.tensor4d(randomValues(next, 3 * 3 * 4 * 2), [3, 3, 4, 2]);
  const f = (a: tf.Tensor, b: tf.Tensor) => {
    const h = tf.relu(tf.conv2d(x, a as tf.Tensor4D, 1, 'same'));
    const y = tf.conv2d(tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'), b as tf.Tensor4D, 1, 'same');
    return tf.mean(tf.mul(y, y)) as tf.Scalar;
  };
  let values: number[] = [];
  const info = await tf.profile(() => {
    const grads = tf.grads(f)([w1, w2]);
    values = grads.flatMap((g) => Array.from(g.dataSync()));
    tf.dispose(grads);
  });
  tf.dispose([x, w1, w2]);
  return { values, kernels: info.kernels.map((k) => k.name) };
}

modeTest('saved tensors are shared references in training: same gradients, no leaks, fewer kernels', async () => {
  await tf.setBackend('wasm');
  assert.ok(savedTensorsShared(), 'the training set-up installs them');
  const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
  const shared = await gradientsOfNet(3);
  assert.deepEqual({ tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() }, before, 'leaked');
  useClonedSavedTensors();
  assert.ok(!savedTensorsShared());
  const cloned = await gradientsOfNet(3);
  assert.ok(useSharedSavedTensors());
  assert.deepEqual(shared.values, cloned.values);
  const identities = (k: string[]) => k.filter((n) => n === 'Identity').length;
  assert.equal(identities(shared.kernels), 0, shared.kernels.join(', '));
  assert.ok(identities(cloned.kernels) >= 6, cloned.kernels.join(', '));
});

modeTest('gradients of gradients still see through saved tensors', async () => {
  await tf.setBackend('wasm');
  assert.ok(savedTensorsShared());
  const x = tf.tensor1d([0.5, -1, 2]);
  // d/dx of sum(d/dx sum(x^3)) = d/dx sum(3 x^2) = 6 x.
  const second = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.mul(u, u), u)))(t)))(x);
  assert.deepEqual(Array.from(second.dataSync()), [3, -6, 12]);
  tf.dispose([x, second]);
});
