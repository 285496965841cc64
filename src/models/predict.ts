// Runs a model over many preprocessed images in batches and returns softmax probabilities and
// argmax labels as plain arrays; every tensor is freed before returning.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { NUM_CLASSES } from '../data/types.js';
import { argmaxLabels } from '../metrics/labels.js';

export { argmaxLabels } from '../metrics/labels.js';
import { isResampled, placement, type SquareFit } from '../data/fit-square.js';

export interface Predictions {
  /** Softmax output, NHWC: probs[((i * size + y) * size + x) * 3 + c]. */
  probs: Float32Array;
  /** Argmax class per pixel, NHW. */
  labels: Uint8Array;
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
 * Class probabilities of one image brought from the model's `size` x `size` square back to the image's
 * own `width` x `height`, undoing how `fit` put it there (see src/data/fit-square.ts). 'stretch': the
 * whole square resized bilinearly (half-pixel centres): smoother borders than enlarging the label map.
 * 'pad': the image's rectangle cut out of the square, an exact crop unless the image was shrunk to fit,
 * in which case the crop is resized bilinearly the same way. Every caller that maps predictions back
 * (segmenter, evaluation, calibration, the page) goes through here, so they all agree.
 * @param probs HWC softmax of one image at size x size.
 */
export function probsToImageSize(probs: tf.Tensor3D, width: number, height: number, fit: SquareFit): tf.Tensor3D {
  const [size, columns] = probs.shape;
  if (size !== columns) throw new Error(`probsToImageSize: probabilities must be square, got ${columns}x${size}`);
  return tf.tidy(() => {
    if (fit === 'stretch') return tf.image.resizeBilinear(probs, [height, width], false, true);
    const where = placement(width, height, size, fit);
    const crop = tf.slice(probs, [where.y, where.x, 0], [where.height, where.width, -1]);
    return isResampled(where, width, height) ? tf.image.resizeBilinear(crop, [height, width], false, true) : crop;
  });
}

/**
 * Each image's probabilities at its own size, from one NHWC block of `sizes.length` images at `size`
 * (see probsToImageSize); every tensor is freed.
 */
export function probsAtImageSizes(
  probs: Float32Array,
  size: number,
  sizes: ReadonlyArray<{ width: number; height: number }>,
  fit: SquareFit,
): Float32Array[] {
  const perImage = size * size * NUM_CLASSES;
  return sizes.map(({ width, height }, i) => {
    const native = tf.tidy(() =>
      probsToImageSize(tf.tensor3d(probs.subarray(i * perImage, (i + 1) * perImage), [size, size, NUM_CLASSES]), width, height, fit),
    );
    const data = native.dataSync() as Float32Array;
    native.dispose();
    return data;
  });
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
