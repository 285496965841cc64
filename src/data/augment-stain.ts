// Stain and camera variation for augmentation, on RGB images only: jitter in HED optical-density space
// (how much of each stain a lab's protocol deposits), a gamma curve and a white balance (the camera).
// Pure; new arrays out.
import type { RgbImage } from './types.js';

/** Stain and camera changes drawn for one image; all-neutral = 1s and 0s. */
export interface StainJitter {
  /** Multiplies each stain's optical density (haematoxylin, eosin, residual), e.g. [1.1, 0.9, 1]. */
  stainScale: readonly [number, number, number];
  /** Added to each stain's optical density. */
  stainShift: readonly [number, number, number];
  /** Intensity (0..1) raised to this power. */
  gamma: number;
  /** Gain of R, G and B (white balance). */
  channelGain: readonly [number, number, number];
}

export const NEUTRAL_STAIN: StainJitter = Object.freeze({
  stainScale: [1, 1, 1] as const,
  stainShift: [0, 0, 0] as const,
  gamma: 1,
  channelGain: [1, 1, 1] as const,
});

export function isNeutralStain(j: StainJitter): boolean {
  return (
    j.gamma === 1 &&
    j.stainScale.every((v) => v === 1) &&
    j.stainShift.every((v) => v === 0) &&
    j.channelGain.every((v) => v === 1)
  );
}

// Ruifrok & Johnston's stain vectors (rows: haematoxylin, eosin, DAB as residual), as scikit-image's
// rgb_from_hed: optical density (row vector) = stains x RGB_FROM_HED. Blood films are Romanowsky-stained,
// not H&E, but both put a blue-purple nuclear stain over a pink one: jittering these two directions
// spans stain differences better than hue rotation, which also turns pink red cells green.
const RGB_FROM_HED = [
  [0.65, 0.7, 0.29],
  [0.07, 0.99, 0.11],
  [0.27, 0.57, 0.78],
] as const;

function normalizeRows(m: readonly (readonly number[])[]): number[][] {
  return m.map((row) => {
    const norm = Math.hypot(...row);
    return row.map((v) => v / norm);
  });
}

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

const STAIN_TO_OD = normalizeRows(RGB_FROM_HED);
const OD_TO_STAIN = invert3(STAIN_TO_OD);
/** Optical density of each byte value: -ln((v + 1) / 256), so 255 (white) is 0 and nothing is infinite. */
const OD_OF_BYTE = Float64Array.from({ length: 256 }, (_, v) => -Math.log((v + 1) / 256));

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Applies stain jitter, then gamma, then white balance, per pixel. */
export function stainJitter(image: RgbImage, j: StainJitter): RgbImage {
  const out = new Uint8Array(image.data.length);
  const src = image.data;
  // One matrix from OD to OD (to stains, scaled, back) and one offset: 9 multiply-adds per pixel.
  const m = Array.from({ length: 3 }, (_, r) =>
    Array.from({ length: 3 }, (_, c) => OD_TO_STAIN[r][0] * j.stainScale[0] * STAIN_TO_OD[0][c] + OD_TO_STAIN[r][1] * j.stainScale[1] * STAIN_TO_OD[1][c] + OD_TO_STAIN[r][2] * j.stainScale[2] * STAIN_TO_OD[2][c]),
  );
  const offset = [0, 1, 2].map((c) => j.stainShift[0] * STAIN_TO_OD[0][c] + j.stainShift[1] * STAIN_TO_OD[1][c] + j.stainShift[2] * STAIN_TO_OD[2][c]);
  const stainOn = !(j.stainScale.every((v) => v === 1) && j.stainShift.every((v) => v === 0));
  for (let i = 0; i < src.length; i += 3) {
    let r = src[i];
    let g = src[i + 1];
    let b = src[i + 2];
    if (stainOn) {
      const o0 = OD_OF_BYTE[r];
      const o1 = OD_OF_BYTE[g];
      const o2 = OD_OF_BYTE[b];
      r = 256 * Math.exp(-Math.max(0, o0 * m[0][0] + o1 * m[1][0] + o2 * m[2][0] + offset[0])) - 1;
      g = 256 * Math.exp(-Math.max(0, o0 * m[0][1] + o1 * m[1][1] + o2 * m[2][1] + offset[1])) - 1;
      b = 256 * Math.exp(-Math.max(0, o0 * m[0][2] + o1 * m[1][2] + o2 * m[2][2] + offset[2])) - 1;
    }
    if (j.gamma !== 1) {
      r = 255 * Math.pow(Math.max(0, r) / 255, j.gamma);
      g = 255 * Math.pow(Math.max(0, g) / 255, j.gamma);
      b = 255 * Math.pow(Math.max(0, b) / 255, j.gamma);
    }
    out[i] = toByte(r * j.channelGain[0]);
    out[i + 1] = toByte(g * j.channelGain[1]);
    out[i + 2] = toByte(b * j.channelGain[2]);
  }
  return { width: image.width, height: image.height, data: out };
}
