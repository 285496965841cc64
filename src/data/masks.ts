// Converts between mask gray levels (0/128/255) and class indices (0/1/2), and one-hot encodes labels.
// Levels near a class level (anti-aliased borders) are moved and counted; levels far from all are reported.
//
//   const { mask, strayPixels, farLevels } = labelsFromGray(gray); // farLevels.length > 0 -> reject file
import { MASK_LEVELS, type GrayImage, type LabelMask } from './types.js';

/** Default for how far (in gray levels) a pixel may be from 0/128/255 and still be mapped to it. */
export const DEFAULT_MAX_MASK_DISTANCE = 32;

export interface LabelsFromGrayOptions {
  /** Levels within this distance of a class level are mapped to it (default 32, at most 127). */
  maxDistance?: number;
}

export interface GrayToLabels {
  /** Class per pixel; every pixel, even a far one, gets its nearest class. */
  mask: LabelMask;
  /** Pixels that were not exactly 0/128/255 but within maxDistance of one of them. */
  strayPixels: number;
  /** Pixels farther than maxDistance from every class level. */
  farPixels: number;
  /** The distinct far gray levels, ascending. */
  farLevels: number[];
  /** The distinct near (moved) gray levels, ascending. */
  strayLevels: number[];
}

/** Class index for each of the 256 gray levels: the nearest MASK_LEVELS entry (ties go to the lower class). */
export function nearestClassTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (let level = 0; level < 256; level++) {
    let best = 0;
    for (let cls = 1; cls < MASK_LEVELS.length; cls++) {
      if (Math.abs(level - MASK_LEVELS[cls]) < Math.abs(level - MASK_LEVELS[best])) best = cls;
    }
    table[level] = best;
  }
  return table;
}

const NEAREST_CLASS = nearestClassTable();

/** Maps gray levels to classes, counting the pixels that had to be moved. */
export function labelsFromGray(gray: GrayImage, options: LabelsFromGrayOptions = {}): GrayToLabels {
  const maxDistance = options.maxDistance ?? DEFAULT_MAX_MASK_DISTANCE;
  // 127 keeps every level within reach of exactly one side of the 0/128 and 128/255 midpoints.
  if (!Number.isFinite(maxDistance) || maxDistance < 0 || maxDistance > 127) {
    throw new Error(`labelsFromGray: maxDistance must be between 0 and 127 gray levels, got ${maxDistance}`);
  }
  const pixels = gray.width * gray.height;
  if (gray.data.length !== pixels) {
    throw new Error(`labelsFromGray: a ${gray.width}x${gray.height} mask needs ${pixels} bytes, got ${gray.data.length}`);
  }
  const histogram = new Uint32Array(256);
  const labels = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const level = gray.data[i];
    histogram[level]++;
    labels[i] = NEAREST_CLASS[level];
  }
  let strayPixels = 0;
  let farPixels = 0;
  const farLevels: number[] = [];
  const strayLevels: number[] = [];
  for (let level = 0; level < 256; level++) {
    const count = histogram[level];
    if (count === 0) continue;
    const distance = Math.abs(level - MASK_LEVELS[NEAREST_CLASS[level]]);
    if (distance === 0) continue;
    if (distance <= maxDistance) {
      strayPixels += count;
      strayLevels.push(level);
    } else {
      farPixels += count;
      farLevels.push(level);
    }
  }
  return { mask: { width: gray.width, height: gray.height, data: labels }, strayPixels, farPixels, farLevels, strayLevels };
}

/** Class indices back to the gray levels a mask file uses (0 -> 0, 1 -> 128, 2 -> 255). */
export function grayFromLabels(mask: LabelMask): Uint8Array {
  const gray = new Uint8Array(mask.data.length);
  for (let i = 0; i < mask.data.length; i++) {
    const cls = mask.data[i];
    if (cls >= MASK_LEVELS.length) {
      throw new Error(`grayFromLabels: pixel ${i} has class ${cls}, expected 0..${MASK_LEVELS.length - 1}`);
    }
    gray[i] = MASK_LEVELS[cls];
  }
  return gray;
}

/** One-hot encoding, pixel-major: out[i * numClasses + labels[i]] = 1 (matches NHWC tensors). */
export function oneHot(labels: Uint8Array, numClasses: number): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  }
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const cls = labels[i];
    if (cls >= numClasses) throw new Error(`oneHot: label ${cls} at index ${i} is not below numClasses ${numClasses}`);
    out[i * numClasses + cls] = 1;
  }
  return out;
}

/** "37, 64" (at most `limit` levels, then "and N more") for error messages. */
export function formatLevels(levels: number[], limit = 10): string {
  const shown = levels.slice(0, limit).join(', ');
  return levels.length > limit ? `${shown} and ${levels.length - limit} more` : shown;
}
