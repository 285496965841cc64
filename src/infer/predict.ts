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

/**
 * Index of the largest of each run of `numClasses` values (first wins on ties, like numpy). With
 * `classWeights`, each class's probability is first multiplied by its weight: a decision threshold
 * moved by calibration (see calibrate.ts), the probabilities themselves are left as they are.
 */
export function argmaxLabels(probs: Float32Array, numClasses = NUM_CLASSES, classWeights?: readonly number[]): Uint8Array {
  if (classWeights && classWeights.length !== numClasses) {
    throw new Error(`argmaxLabels: ${classWeights.length} class weights for ${numClasses} classes`);
  }
  const labels = new Uint8Array(probs.length / numClasses);
  for (let p = 0, o = 0; p < labels.length; p++, o += numClasses) {
    let best = 0;
    let bestValue = classWeights ? probs[o] * classWeights[0] : probs[o];
    for (let c = 1; c < numClasses; c++) {
      const value = classWeights ? probs[o + c] * classWeights[c] : probs[o + c];
      if (value > bestValue) {
        bestValue = value;
        best = c;
      }
    }
    labels[p] = best;
  }
  return labels;
}

/**
 * Softmax output for a batch; with `tta`, the mean over the identity and the horizontal, vertical
 * and both flips (each prediction flipped back), which evens out the model's orientation quirks.
 */
export function predictProbs(model: tfl.LayersModel, x: tf.Tensor4D, tta = false): tf.Tensor4D {
  return tf.tidy(() => {
    const plain = model.predict(x) as tf.Tensor4D;
    if (!tta) return plain;
    const flips: number[][] = [[2], [1], [1, 2]];
    const sum = flips.reduce(
      (acc, axes) => tf.add(acc, tf.reverse(model.predict(tf.reverse(x, axes)) as tf.Tensor4D, axes)),
      plain as tf.Tensor4D,
    );
    return tf.div(sum, flips.length + 1);
  });
}

/**
 * Class probabilities of one image brought from the model's `size` x `size` to `width` x `height`
 * bilinearly (half-pixel centres), then the argmax: smoother borders than enlarging the label map.
 * @param probs HWC softmax of one image at size x size.
 */
export function probsToSize(probs: tf.Tensor3D, width: number, height: number): tf.Tensor3D {
  return tf.tidy(() => tf.image.resizeBilinear(probs, [height, width], false, true));
}

export interface PredictOptions {
  batchSize?: number;
  /** Flip test-time augmentation (4 passes per image). */
  tta?: boolean;
}

/**
 * @param images NHWC float32 input, already scaled, `count` images of `size` x `size` x 3.
 */
export async function predictBatches(
  model: tfl.LayersModel,
  images: Float32Array,
  count: number,
  size: number,
  options: PredictOptions = {},
): Promise<Predictions> {
  const pixels = size * size;
  const batchSize = options.batchSize ?? 16;
  const probs = new Float32Array(count * pixels * NUM_CLASSES);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const input = images.subarray(start * pixels * 3, (start + n) * pixels * 3);
    const out = tf.tidy(() => predictProbs(model, tf.tensor4d(input, [n, size, size, 3]), options.tta));
    probs.set(await out.data<'float32'>(), start * pixels * NUM_CLASSES);
    out.dispose();
  }
  return { probs, labels: argmaxLabels(probs) };
}
