// Label masks to viewable images: colour (for figures) and gray (the dataset's own 0/128/255
// mask file format), so predictions can be saved and compared with the input masks.
import type { LabelMask, RgbImage } from '../data/types.js';
import { PALETTE } from './colors.js';

function checkLabel(label: number, index: number, numLevels: number): void {
  if (label >= numLevels) throw new Error(`mask label ${label} at pixel ${index} is not a class (0..${numLevels - 1})`);
}

/** Colour image of a mask using PALETTE; throws on labels that are not a class. */
export function maskToRgb(mask: LabelMask): RgbImage {
  const { width, height, data: labels } = mask;
  const data = new Uint8Array(labels.length * 3);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    checkLabel(label, i, PALETTE.length);
    const [r, g, b] = PALETTE[label]!;
    data[i * 3] = r;
    data[i * 3 + 1] = g;
    data[i * 3 + 2] = b;
  }
  return { width, height, data };
}

/** One gray byte per pixel: 0 background, 128 cytoplasm, 255 nucleus (MASK_LEVELS): the inverse of reading a mask file, kept in one place. */
export { grayFromLabels as maskToGray } from '../data/masks.js';
