// Photometric transforms for augmentation, on RGB images only (never on masks): colour jitter as one 3x4
// colour matrix, a 3x3 gaussian blur and additive gaussian noise. Pure; new arrays out.
import { fillGaussian, type Rng } from './random.js';
import type { RgbImage } from './types.js';

/** Jitter strengths as drawn for one image; all-neutral = 1, 1, 1, 0. */
export interface ColorJitter {
  /** Multiplies R, G and B. */
  brightness: number;
  /** Scales each pixel's distance from the image's mean luminance. */
  contrast: number;
  /** Scales each pixel's distance from its own luminance (0 = gray, 1 = unchanged). */
  saturation: number;
  /** Hue rotation in turns of the colour wheel (0.02 = 7.2 degrees). */
  hue: number;
}

/** Row-major 3x3 colour matrix plus an offset per channel: out_c = sum_j m[c*3+j] * in_j + offset_c. */
interface ColorMap {
  m: Float64Array;
  offset: Float64Array;
}

// ITU-R BT.601 luma, as torchvision's rgb_to_grayscale (used by its contrast and saturation jitter).
const LUMA = [0.299, 0.587, 0.114] as const;

export function isNeutralJitter(j: ColorJitter): boolean {
  return j.brightness === 1 && j.contrast === 1 && j.saturation === 1 && j.hue === 0;
}

function multiply(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  }
  return out;
}

/** Blend with a luma-weighted gray: f * I + (1 - f) * (rows of luma weights). */
function saturationMatrix(f: number): Float64Array {
  const m = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[r * 3 + c] = (r === c ? f : 0) + (1 - f) * LUMA[c];
  }
  return m;
}

/**
 * The SVG/CSS `hueRotate` matrix (Filter Effects spec, feColorMatrix): a rotation about the gray axis that
 * keeps luminance, exact identity at 0; cheaper than a round trip through HSV for every pixel.
 */
function hueMatrix(turns: number): Float64Array {
  const a = turns * 2 * Math.PI;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  return Float64Array.from([
    0.213 + cos * 0.787 - sin * 0.213, 0.715 - cos * 0.715 - sin * 0.715, 0.072 - cos * 0.072 + sin * 0.928,
    0.213 - cos * 0.213 + sin * 0.143, 0.715 + cos * 0.285 + sin * 0.14, 0.072 - cos * 0.072 - sin * 0.283,
    0.213 - cos * 0.213 - sin * 0.787, 0.715 - cos * 0.715 + sin * 0.715, 0.072 + cos * 0.928 + sin * 0.072,
  ]);
}

/**
 * Brightness, then contrast, then saturation, then hue (torchvision's ColorJitter draws the order; a fixed
 * one is simpler and the steps nearly commute at these strengths). Each step is affine in RGB, so they
 * compose into one matrix and the image is touched once; torchvision clamps between steps, we clamp once
 * at the end, which differs only for pixels pushed past 0 or 255 midway.
 */
function composeJitter(img: RgbImage, j: ColorJitter): ColorMap {
  // Contrast blends with the mean luma of the image as it is after the brightness step.
  let lumaSum = 0;
  const { data } = img;
  for (let i = 0; i < data.length; i += 3) lumaSum += LUMA[0] * data[i] + LUMA[1] * data[i + 1] + LUMA[2] * data[i + 2];
  const meanLuma = (j.brightness * lumaSum) / Math.max(1, data.length / 3);
  // After brightness and contrast: contrast * brightness * I, offset (1 - contrast) * meanLuma.
  const scale = j.contrast * j.brightness;
  let m: Float64Array = Float64Array.from([scale, 0, 0, 0, scale, 0, 0, 0, scale]);
  let offset: Float64Array = Float64Array.from([1, 1, 1].map(() => (1 - j.contrast) * meanLuma));
  for (const next of [saturationMatrix(j.saturation), hueMatrix(j.hue)]) {
    m = multiply(next, m);
    offset = Float64Array.from([0, 1, 2].map((r) => next[r * 3] * offset[0] + next[r * 3 + 1] * offset[1] + next[r * 3 + 2] * offset[2]));
  }
  return { m, offset };
}

/** Colour jitter with the given strengths. */
export function colorJitter(img: RgbImage, j: ColorJitter): RgbImage {
  const { m, offset } = composeJitter(img, j);
  const { data } = img;
  const out = new Uint8Array(data.length);
  const clamped = new Uint8ClampedArray(out.buffer);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m;
  const [o0, o1, o2] = offset;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i];
    const g = data[i + 1];
    const b = data[i + 2];
    clamped[i] = m0 * r + m1 * g + m2 * b + o0;
    clamped[i + 1] = m3 * r + m4 * g + m5 * b + o1;
    clamped[i + 2] = m6 * r + m7 * g + m8 * b + o2;
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * Gaussian blur with standard deviation `sigma` <= 1 px on a 3x3 support (radius 1), separable, edges
 * replicated. At sigma 1 the 3-tap kernel holds ~80% of the true gaussian's mass, which is the point: a
 * mild softening like a slightly defocused slide, not a strong low-pass.
 */
export function gaussianBlur3(img: RgbImage, sigma: number): RgbImage {
  if (!(sigma >= 0 && sigma <= 1)) throw new Error(`gaussianBlur3: sigma must be in [0, 1], got ${sigma}`);
  const { width, height, data } = img;
  if (sigma === 0) return { width, height, data: data.slice() };
  const side = Math.exp(-1 / (2 * sigma * sigma));
  const wSide = side / (1 + 2 * side);
  const wMid = 1 / (1 + 2 * side);
  const horizontal = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const left = x > 0 ? i - 3 : i;
      const right = x < width - 1 ? i + 3 : i;
      for (let c = 0; c < 3; c++) horizontal[i + c] = wSide * (data[left + c] + data[right + c]) + wMid * data[i + c];
    }
  }
  const out = new Uint8Array(data.length);
  const clamped = new Uint8ClampedArray(out.buffer);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    const up = y > 0 ? -rowBytes : 0;
    const down = y < height - 1 ? rowBytes : 0;
    for (let i = y * rowBytes; i < (y + 1) * rowBytes; i++) {
      clamped[i] = wSide * (horizontal[i + up] + horizontal[i + down]) + wMid * horizontal[i];
    }
  }
  return { width, height, data: out };
}

/** Adds independent gaussian noise of standard deviation `sigma` gray levels to every channel of every pixel. */
export function gaussianNoise(img: RgbImage, sigma: number, rng: Rng): RgbImage {
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new Error(`gaussianNoise: sigma must be a finite number >= 0, got ${sigma}`);
  const { width, height, data } = img;
  if (sigma === 0) return { width, height, data: data.slice() };
  const noise = fillGaussian(rng, new Float32Array(data.length));
  const out = new Uint8Array(data.length);
  const clamped = new Uint8ClampedArray(out.buffer);
  for (let i = 0; i < data.length; i++) clamped[i] = data[i] + sigma * noise[i];
  return { width, height, data: out };
}
