// Stain standardisation of a cell's crop, so that one lab's cells look like another's to the network:
// each channel's optical density against the crop's own bright background is scaled so that the
// segmented nucleus has a fixed reference density (a Reinhard-like transfer anchored on the nucleus,
// which every white cell has and every Romanowsky-type stain colours). The background becomes white,
// the nucleus the reference colour, and cytoplasm and granules keep their density relative to the
// nucleus. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import { histogramPercentile } from '../data/pixels.js';
import { WHITE_PERCENTILE } from './features.js';

/** 'none': the crop's colours as the camera gave them; 'nucleus': see this module's header. */
export const STAIN_NORMALIZATIONS = ['none', 'nucleus'] as const;
export type StainNormalization = (typeof STAIN_NORMALIZATIONS)[number];

/**
 * Optical density (log10) of the nucleus in R, G and B after standardisation: the mean of Dataset 1's
 * nuclei in their 64 px crops (0.366, 0.909, 0.271 over its 300 annotated cells; Dataset 2's are 0.386,
 * 0.643, 0.161), so Dataset 1's cells change little and other labs' move towards them.
 */
export const REFERENCE_NUCLEUS_OD = Object.freeze([0.37, 0.91, 0.27]);
/** Limits of the per-channel density scale, so a pale or missing nucleus cannot blow up a channel. */
export const STAIN_SCALE_LIMITS = Object.freeze([0.25, 4]);

const NUCLEUS = 2;

/** Optical density of a byte value against a white reference (both offset by 1 so 0 stays finite). */
function density(value: number, white: number): number {
  return -Math.log10((value + 1) / (white + 1));
}

/**
 * The white reference (WHITE_PERCENTILE of the background pixels, label 0; of all pixels when the crop
 * has no background) and the nucleus's mean density per channel; null without nucleus pixels.
 */
export function stainReference(image: RgbImage, mask: LabelMask): { white: number[]; nucleusOd: number[] } | null {
  const pixels = image.width * image.height;
  if (mask.data.length !== pixels) throw new Error(`stainReference: a ${image.width}x${image.height} crop with a mask of ${mask.data.length} pixels`);
  const background = [0, 1, 2].map(() => new Uint32Array(256));
  const sums = [0, 0, 0];
  let backgroundPixels = 0;
  let nucleusPixels = 0;
  for (let p = 0; p < pixels; p++) {
    const label = mask.data[p];
    if (label === 0) {
      backgroundPixels++;
      for (let c = 0; c < 3; c++) background[c][image.data[p * 3 + c]]++;
    } else if (label === NUCLEUS) {
      nucleusPixels++;
      for (let c = 0; c < 3; c++) sums[c] += image.data[p * 3 + c];
    }
  }
  if (nucleusPixels === 0) return null;
  if (backgroundPixels === 0) for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) background[c][image.data[p * 3 + c]]++;
  const white = background.map((h) => histogramPercentile(h, backgroundPixels > 0 ? WHITE_PERCENTILE : 99, backgroundPixels > 0 ? backgroundPixels : pixels));
  return { white, nucleusOd: sums.map((s, c) => density(s / nucleusPixels, white[c])) };
}

/**
 * Per channel, the byte -> byte table of the standardisation: density against `white`, times
 * reference / nucleusOd (within STAIN_SCALE_LIMITS), back to a byte against a white of 255.
 */
export function stainTables(white: readonly number[], nucleusOd: readonly number[], reference: readonly number[] = REFERENCE_NUCLEUS_OD): Uint8Array[] {
  const [low, high] = STAIN_SCALE_LIMITS;
  return [0, 1, 2].map((c) => {
    const scale = nucleusOd[c] > 0 ? Math.min(high, Math.max(low, reference[c] / nucleusOd[c])) : 1;
    return Uint8Array.from({ length: 256 }, (_, v) => {
      const od = Math.max(0, density(v, white[c])) * scale;
      return Math.min(255, Math.max(0, Math.round(256 * 10 ** -od - 1)));
    });
  });
}

/** The crop with its stain standardised as `kind` says (a new image; the crop itself is left alone). */
export function standardizeStain(image: RgbImage, mask: LabelMask, kind: StainNormalization): RgbImage {
  if (kind === 'none') return image;
  const reference = stainReference(image, mask);
  if (!reference) return image;
  const tables = stainTables(reference.white, reference.nucleusOd);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = tables[i % 3][image.data[i]];
  return { ...image, data };
}
