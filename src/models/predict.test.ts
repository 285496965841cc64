// probsToImageSize, the one way predictions go back to an image's own size: the stretched square
// resized bilinearly, the padded square cropped exactly (or cropped and resized when the image was shrunk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { probsToImageSize } from './predict.js';

/** A size x size x 3 block whose every value is different, so a crop's position shows in its values. */
function distinctProbs(size: number): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from({ length: size * size * 3 }, (_, i) => i / 1000), [size, size, 3]);
}

test('pad: an image that fitted unshrunk gets exactly its rectangle of the square, no resampling', async () => {
  await initEngine();
  const probs = distinctProbs(6);
  const before = tf.memory().numTensors;
  const back = probsToImageSize(probs, 4, 3, 'pad'); // placed at x 1, y 1
  assert.deepEqual(back.shape, [3, 4, 3]);
  const expected = (await probs.array()).slice(1, 4).map((row) => row.slice(1, 5));
  assert.deepEqual(await back.array(), expected);
  back.dispose();
  assert.equal(tf.memory().numTensors, before, 'intermediate tensors were freed');
  probs.dispose();
});

test('pad: a shrunk image gets its crop resized bilinearly (half-pixel centres) to its own size', async () => {
  await initEngine();
  const probs = distinctProbs(4);
  const back = probsToImageSize(probs, 8, 4, 'pad'); // shrunk to 4x2, placed at y 1
  const expected = tf.image.resizeBilinear(tf.slice(probs, [1, 0, 0], [2, 4, 3]), [4, 8], false, true);
  assert.deepEqual(back.shape, [4, 8, 3]);
  assert.deepEqual(await back.array(), await expected.array());
  // Not the whole square stretched: rows of the reflected margins must not leak in.
  const stretched = tf.image.resizeBilinear(probs, [4, 8], false, true);
  assert.notDeepEqual(await back.array(), await stretched.array());
  tf.dispose([probs, back, expected, stretched]);
});

test('stretch: the whole square resized bilinearly, as before padding existed; non-square input is refused', async () => {
  await initEngine();
  const probs = distinctProbs(5);
  const back = probsToImageSize(probs, 7, 3, 'stretch');
  const expected = tf.image.resizeBilinear(probs, [3, 7], false, true);
  assert.deepEqual(await back.array(), await expected.array());
  const wide = tf.zeros([4, 5, 3]) as tf.Tensor3D;
  assert.throws(() => probsToImageSize(wide, 4, 4, 'pad'), /probabilities must be square, got 5x4/);
  tf.dispose([probs, back, expected, wide]);
});
