// Flip test-time augmentation on plain arrays, for runtimes that take and give NHWC Float32Arrays (ONNX
// Runtime in Node and in the page): the batch of an image and its flips, and the mean flipped back.
// Pure (no Node or tfjs imports), so the page bundles it.

/** [vertical, horizontal]: the image itself, mirrored left-right, upside down, and both (infer/predict.ts's order). */
export const FLIPS: ReadonlyArray<readonly [boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

/** `count` square NHWC images flipped vertically (rows) and/or horizontally (columns). */
export function flipNhwc(data: Float32Array, count: number, size: number, channels: number, vertical: boolean, horizontal: boolean): Float32Array {
  if (!vertical && !horizontal) return data.slice();
  const out = new Float32Array(data.length);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < size; y++) {
      const sy = vertical ? size - 1 - y : y;
      for (let x = 0; x < size; x++) {
        const sx = horizontal ? size - 1 - x : x;
        const src = ((n * size + sy) * size + sx) * channels;
        const dst = ((n * size + y) * size + x) * channels;
        for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
      }
    }
  }
  return out;
}

/** One batch of 4 x `count` images: the images, then each flip of them, in FLIPS order. */
export function flipBatch(images: Float32Array, count: number, size: number, channels = 3): Float32Array {
  const batch = new Float32Array(images.length * FLIPS.length);
  FLIPS.forEach(([v, h], k) => batch.set(flipNhwc(images, count, size, channels, v, h), k * images.length));
  return batch;
}

/** The mean over FLIPS of the predictions for a flipBatch, each flipped back first: `count` NHWC outputs. */
export function unflipMean(probs: Float32Array, count: number, size: number, classes: number): Float32Array {
  const per = count * size * size * classes;
  if (probs.length !== per * FLIPS.length) throw new Error(`unflipMean: ${probs.length} values for ${FLIPS.length} x ${count} images of ${size}x${size}x${classes}`);
  const sum = new Float32Array(per);
  FLIPS.forEach(([v, h], k) => {
    const back = flipNhwc(probs.subarray(k * per, (k + 1) * per), count, size, classes, v, h);
    for (let i = 0; i < per; i++) sum[i] += back[i];
  });
  for (let i = 0; i < per; i++) sum[i] /= FLIPS.length;
  return sum;
}
