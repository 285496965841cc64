// Is this a bright-field image of a stained white blood cell at all? Blank, noise and non-blood
// images used to come back as confident "cells" with morphometrics. Each check measures one quantity
// of the image itself or of the predicted mask against a limit far outside what the 400 real images
// of segmentation_WBC (both data sets) give; the first failed check names the reason.
// Pure (no Node imports): the in-browser segmenter runs the same checks.
import type { LabelMask, RgbImage } from '../data/types.js';

const BACKGROUND = 0;
const NUCLEUS = 2;

export type OutOfDistributionReason = 'blank-image' | 'noise-image' | 'no-nucleus' | 'dark-background' | 'faint-nucleus';

/** Why an image is not taken for a cell: the check that failed, the quantity it measured and its limit. */
export interface OutOfDistribution {
  reason: OutOfDistributionReason;
  /** The measured quantity (see IMAGE_CHECK_LIMITS for what each reason measures). */
  score: number;
  limit: number;
}

/**
 * Limits of the checks, in the order they run. Real images (Dataset 1 and 2, bundled model, flip TTA,
 * post-processed; `npm test` checks all 400) lie far inside each: luminance standard deviation
 * 36.2 or more; roughness at most 0.095; a nucleus in every predicted cell; mean background
 * luminance at least 171.6; background minus nucleus luminance at least 79.8.
 */
export const IMAGE_CHECK_LIMITS = {
  /** blank-image: standard deviation of the luminance (0..255) below this: an image of one colour. */
  minLuminanceSd: 4,
  /**
   * noise-image: mean absolute difference of horizontally adjacent luminances, divided by the
   * luminance's standard deviation, above this. Microscope images are smooth at the pixel scale
   * (about 0.05); independent noise gives about 1.15.
   */
  maxRoughness: 0.5,
  /** dark-background: mean luminance of the predicted background below this: bright-field slides are bright. */
  minBackgroundLuminance: 110,
  /** faint-nucleus: background minus nucleus mean luminance below this: stained nuclei are dark. */
  minNucleusContrast: 40,
} as const;

/** ITU-R 601 luma of every pixel. */
function luminance(image: RgbImage): Float32Array {
  const pixels = image.width * image.height;
  const d = image.data;
  const lum = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) lum[p] = 0.299 * d[p * 3] + 0.587 * d[p * 3 + 1] + 0.114 * d[p * 3 + 2];
  return lum;
}

/** Spread of the luminance and its pixel-scale roughness (see IMAGE_CHECK_LIMITS). */
export function imageStatistics(image: RgbImage): { luminanceSd: number; roughness: number } {
  const { width, height } = image;
  const lum = luminance(image);
  let sum = 0;
  for (const v of lum) sum += v;
  const mean = sum / lum.length;
  let squares = 0;
  for (const v of lum) squares += (v - mean) ** 2;
  const luminanceSd = Math.sqrt(squares / lum.length);
  let steps = 0;
  let pairs = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x + 1 < width; x++) {
      steps += Math.abs(lum[y * width + x + 1] - lum[y * width + x]);
      pairs++;
    }
  }
  return { luminanceSd, roughness: pairs === 0 || luminanceSd === 0 ? 0 : steps / pairs / luminanceSd };
}

/** Checks that need only the image: one flat colour, or pixel-scale noise. */
export function checkImage(image: RgbImage): OutOfDistribution | null {
  const { luminanceSd, roughness } = imageStatistics(image);
  if (luminanceSd < IMAGE_CHECK_LIMITS.minLuminanceSd) return { reason: 'blank-image', score: luminanceSd, limit: IMAGE_CHECK_LIMITS.minLuminanceSd };
  if (roughness > IMAGE_CHECK_LIMITS.maxRoughness) return { reason: 'noise-image', score: roughness, limit: IMAGE_CHECK_LIMITS.maxRoughness };
  return null;
}

/** Mean luminance of the pixels labelled background and nucleus (null where there are none). */
export function classLuminance(mask: LabelMask, image: RgbImage): { background: number | null; nucleus: number | null } {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`checkSegmentation: image is ${image.width}x${image.height}, mask ${mask.width}x${mask.height}`);
  }
  const lum = luminance(image);
  const sums = [0, 0, 0];
  const counts = [0, 0, 0];
  for (let p = 0; p < lum.length; p++) {
    sums[mask.data[p]] += lum[p];
    counts[mask.data[p]]++;
  }
  const mean = (c: number): number | null => (counts[c] === 0 ? null : sums[c] / counts[c]);
  return { background: mean(BACKGROUND), nucleus: mean(NUCLEUS) };
}

/**
 * Checks of the predicted (post-processed) mask: a white blood cell has a nucleus; with the image,
 * the background must be bright and the nucleus clearly darker than it. A mask without any cell
 * passes (it already says no-cell).
 */
export function checkSegmentation(mask: LabelMask, image?: RgbImage): OutOfDistribution | null {
  let cell = 0;
  let nucleus = 0;
  for (const v of mask.data) {
    if (v !== BACKGROUND) cell++;
    if (v === NUCLEUS) nucleus++;
  }
  if (cell === 0) return null;
  if (nucleus === 0) return { reason: 'no-nucleus', score: 0, limit: 1 };
  if (image === undefined) return null;
  const lum = classLuminance(mask, image);
  if (lum.background === null || lum.nucleus === null) return null; // the cell fills the image: nothing to compare with
  if (lum.background < IMAGE_CHECK_LIMITS.minBackgroundLuminance) {
    return { reason: 'dark-background', score: lum.background, limit: IMAGE_CHECK_LIMITS.minBackgroundLuminance };
  }
  const contrast = lum.background - lum.nucleus;
  if (contrast < IMAGE_CHECK_LIMITS.minNucleusContrast) {
    return { reason: 'faint-nucleus', score: contrast, limit: IMAGE_CHECK_LIMITS.minNucleusContrast };
  }
  return null;
}
