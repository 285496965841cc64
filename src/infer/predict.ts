// Runs a model over many preprocessed images in batches and returns softmax probabilities and
// argmax labels as plain arrays; every tensor is freed before returning.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { NUM_CLASSES } from '../data/types.js';

export interface Predictions {
  /** Softmax output, NHWC: probs[((i * size + y) * size + x) * 3 + c]. */
  probs: Float32Array;
  /** Argmax class per pixel, NHW. */
  labels: Uint8Array;
}

/** Index of the largest of each run of `numClasses` values (first wins on ties, like numpy). */
export function argmaxLabels(probs: Float32Array, numClasses = NUM_CLASSES): Uint8Array {
  const labels = new Uint8Array(probs.length / numClasses);
  for (let p = 0, o = 0; p < labels.length; p++, o += numClasses) {
    let best = 0;
    let bestValue = probs[o];
    for (let c = 1; c < numClasses; c++) {
      if (probs[o + c] > bestValue) {
        bestValue = probs[o + c];
        best = c;
      }
    }
    labels[p] = best;
  }
  return labels;
}

/**
 * @param images NHWC float32 input, already scaled, `count` images of `size` x `size` x 3.
 */
export async function predictBatches(
  model: tfl.LayersModel,
  images: Float32Array,
  count: number,
  size: number,
  batchSize = 16,
): Promise<Predictions> {
  const pixels = size * size;
  const probs = new Float32Array(count * pixels * NUM_CLASSES);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const input = images.subarray(start * pixels * 3, (start + n) * pixels * 3);
    const out = tf.tidy(() => model.predict(tf.tensor4d(input, [n, size, size, 3])) as tf.Tensor);
    probs.set(await out.data<'float32'>(), start * pixels * NUM_CLASSES);
    out.dispose();
  }
  return { probs, labels: argmaxLabels(probs) };
}
