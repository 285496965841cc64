// A square window of a field as the model's input, and the model's output brought back onto the
// field's pixels: the geometry of both field stages. Pure (no Node imports): the page runs it too.
//
//   const w = windowAround(cx, cy, side);                 // side image px -> inputSize model px
//   const rgb = windowPixels(image, w, 128, pre);          // nearest samples (or smooth), reflected past the edge
//   const probs = windowProbsOnImage(p, 128, w, region);   // bilinear, half-pixel centres
//
// The rules are those of src/data/fit-square.ts and models/predict.ts's probsToImageSize, so a window
// that covers a crop exactly as 'pad' fits it (a 300 px crop shrunk to 128, a 120 px crop reflected
// out to 128) gives the model the very input the crop gives, and the same probabilities back.
import { gatherPixels, nearestIndexTable } from '../data/resize.js';
import { resizeSmooth } from '../data/resample.js';
import type { RgbImage } from '../data/types.js';
import type { PixelNormalization } from '../data/pixels.js';
import type { Preprocessing } from '../models/preprocessing.js';

/**
 * What the field's windows and tiles need of a model's preprocessing: the pixel values, and its
 * resize ('pad-smooth' shrinks them with the antialiased filter).
 */
export interface WindowPreprocessing {
  scale: number;
  normalize?: PixelNormalization;
  resize?: Preprocessing['resize'];
}

/** A square of `side` image pixels whose top-left corner is (x, y); it may reach past the image. */
export interface SquareWindow {
  x: number;
  y: number;
  side: number;
}

/** A rectangle of image pixels. */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The window of `side` pixels centred on (cx, cy) (an odd margin puts the extra pixel right / below, as 'pad' does). */
export function windowAround(cx: number, cy: number, side: number): SquareWindow {
  if (!Number.isInteger(side) || side < 1) throw new Error(`window side must be a whole number >= 1, got ${side}`);
  return { x: Math.round(cx - side / 2), y: Math.round(cy - side / 2), side };
}

/** The part of the window inside the image. */
export function windowOnImage(w: SquareWindow, width: number, height: number): PixelRect {
  const x = Math.max(0, w.x);
  const y = Math.max(0, w.y);
  return { x, y, width: Math.max(0, Math.min(width, w.x + w.side) - x), height: Math.max(0, Math.min(height, w.y + w.side) - y) };
}

/**
 * For each of `size` input positions along one axis, the image position it reads: PIL's nearest
 * rule over the window's `side` pixels from `start`, reflected about the image's edge pixel past it
 * (numpy 'reflect'), and the edge pixel itself when reflection would still be outside.
 */
export function windowIndexTable(start: number, side: number, length: number, size: number): Int32Array {
  const nearest = nearestIndexTable(side, size);
  const table = new Int32Array(size);
  for (let o = 0; o < size; o++) {
    let p = start + nearest[o];
    if (p < 0 || p >= length) p = p < 0 ? -p : 2 * (length - 1) - p;
    table[o] = Math.min(Math.max(p, 0), length - 1);
  }
  return table;
}

/** Whether a model's preprocessing shrinks with the antialiased filter ('pad-smooth') rather than picking pixels. */
export function shrinksSmoothly(pre: Pick<WindowPreprocessing, 'resize'>): boolean {
  return pre.resize === 'pad-smooth';
}

/**
 * The window as a size x size RGB square (HWC bytes), ready for pixelsToInput. A window larger than
 * `size` is sampled by PIL's nearest rule, or, when the model's preprocessing says 'pad-smooth',
 * taken at the image's own pixels (reflected past its edge) and shrunk with resizeSmooth, as that fit
 * shrinks a crop; a window of `size` or fewer pixels is enlarged by the nearest rule either way.
 */
export function windowPixels(image: RgbImage, w: SquareWindow, size: number, pre: Pick<WindowPreprocessing, 'resize'> = {}): Uint8Array {
  if (!shrinksSmoothly(pre) || w.side <= size) {
    return gatherPixels(image, windowIndexTable(w.x, w.side, image.width, size), windowIndexTable(w.y, w.side, image.height, size), 3);
  }
  const side = w.side;
  const own = gatherPixels(image, windowIndexTable(w.x, side, image.width, side), windowIndexTable(w.y, side, image.height, side), 3);
  return resizeSmooth({ width: side, height: side, data: own }, size, size, 3).data;
}

/** Bilinear source coordinates along one axis: TensorFlow's resizeBilinear with half-pixel centres. */
interface Taps {
  low: Int32Array;
  high: Int32Array;
  frac: Float32Array;
}

function bilinearTaps(from: number, count: number, offset: number, inSize: number, scale: number): Taps {
  const low = new Int32Array(count);
  const high = new Int32Array(count);
  const frac = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const src = Math.max(0, (from + i - offset + 0.5) * scale - 0.5);
    const l = Math.min(Math.floor(src), inSize - 1);
    low[i] = l;
    high[i] = Math.min(l + 1, inSize - 1);
    frac[i] = src - l;
  }
  return { low, high, frac };
}

/**
 * The model's `size` x `size` HWC output for window `w`, resampled onto the image pixels of
 * `region` (inside the window): row-major region.width x region.height x channels. A window of
 * `size` pixels maps one to one; any other is resized bilinearly with half-pixel centres, the rule
 * probsToImageSize applies to a crop (TensorFlow's resizeBilinear(halfPixelCenters)).
 */
export function windowProbsOnImage(probs: Float32Array, size: number, w: SquareWindow, region: PixelRect, channels = 3): Float32Array {
  if (probs.length !== size * size * channels) throw new Error(`window output has ${probs.length} values, expected ${size}x${size}x${channels}`);
  const out = new Float32Array(region.width * region.height * channels);
  const scale = size / w.side;
  const xs = bilinearTaps(region.x, region.width, w.x, size, scale);
  const ys = bilinearTaps(region.y, region.height, w.y, size, scale);
  for (let y = 0; y < region.height; y++) {
    const top = ys.low[y] * size;
    const bottom = ys.high[y] * size;
    const fy = ys.frac[y];
    for (let x = 0; x < region.width; x++) {
      const fx = xs.frac[x];
      const tl = (top + xs.low[x]) * channels;
      const tr = (top + xs.high[x]) * channels;
      const bl = (bottom + xs.low[x]) * channels;
      const br = (bottom + xs.high[x]) * channels;
      const o = (y * region.width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const t = probs[tl + c] + (probs[tr + c] - probs[tl + c]) * fx;
        const b = probs[bl + c] + (probs[br + c] - probs[bl + c]) * fx;
        out[o + c] = t + (b - t) * fy;
      }
    }
  }
  return out;
}

/** The pixels of `rect` (inside the image) as an image of their own. */
export function cropRgb(image: RgbImage, rect: PixelRect): RgbImage {
  const data = new Uint8Array(rect.width * rect.height * 3);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 3;
    data.set(image.data.subarray(from, from + rect.width * 3), y * rect.width * 3);
  }
  return { width: rect.width, height: rect.height, data };
}
