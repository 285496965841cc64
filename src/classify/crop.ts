// The classifier's view of a cell: a square around the segmented cell (its bounding box plus a margin),
// cut from the image at its own resolution and resized to the network's side. Cells of every source
// then fill the crop alike, whether the lab's images hold them at 75 px (Dataset 1) or 156 px among
// red cells (Dataset 2). Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import { gatherPixels, resizeNearest } from '../data/resize.js';
import { resizeSmooth } from '../data/resample.js';
import { findMainCell } from '../infer/postprocess.js';
import type { StainNormalization } from './stain.js';

/** A square of the image, in image pixels; it may reach beyond the image (filled by reflection). */
export interface CropBox {
  x: number;
  y: number;
  side: number;
}

export interface CellCrop {
  /** size x size RGB. */
  image: RgbImage;
  /** size x size labels of the main cell alone (other cells' pixels are background). */
  mask: LabelMask;
  box: CropBox;
}

export interface CropOptions {
  /** Side of the crop the network sees. */
  size: number;
  /** Space around the cell's bounding box on each side, as a fraction of its longer side. */
  margin: number;
  /**
   * 'cell' (the default): the square around the cell, so every cell fills the crop alike. 'image': the
   * whole image squared (centred, reflected margins), the cell at whatever scale the lab's camera gave
   * it; kept to measure what the cell's square is worth.
   */
  around?: 'cell' | 'image';
  /** Colour standardisation of the crop (src/classify/stain.ts); none when absent. */
  stain?: StainNormalization;
}

/**
 * The square around the mask's main cell (src/infer/postprocess.ts findMainCell): centred on its
 * bounding box, side = longer box side x (1 + 2 margin). Null when the mask has no cell.
 */
export function cellBox(mask: LabelMask, margin: number): { box: CropBox; cell: Uint8Array } | null {
  const { components, label } = findMainCell(mask);
  if (label === 0) return null;
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = -1;
  let y1 = -1;
  const cell = new Uint8Array(mask.data.length);
  for (let p = 0; p < cell.length; p++) {
    if (components.labels[p] !== label) continue;
    cell[p] = 1;
    const x = p % mask.width;
    const y = (p - x) / mask.width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const longer = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const side = Math.max(1, Math.round(longer * (1 + 2 * margin)));
  const cx = (x0 + x1 + 1) / 2;
  const cy = (y0 + y1 + 1) / 2;
  return { box: { x: Math.round(cx - side / 2), y: Math.round(cy - side / 2), side }, cell };
}

/** The box's pixels at the image's resolution; outside the image they are mirrored in (edge pixels repeated when too far). */
export function cutBox<T extends { width: number; height: number; data: Uint8Array }>(grid: T, box: CropBox, channels: number): T {
  const axis = (length: number, start: number) =>
    Int32Array.from({ length: box.side }, (_, i) => {
      const at = start + i;
      const mirrored = at < 0 ? -at : at >= length ? 2 * (length - 1) - at : at;
      return Math.min(length - 1, Math.max(0, mirrored));
    });
  const data = gatherPixels(grid, axis(grid.width, box.x), axis(grid.height, box.y), channels);
  return { ...grid, width: box.side, height: box.side, data };
}

/**
 * The crop of the mask's main cell, or null when the mask has no cell. `found` is cellBox(mask,
 * options.margin) when the caller has it already (finding the main cell is the costly part of a big image).
 */
export function cellCrop(image: RgbImage, mask: LabelMask, options: CropOptions, found = cellBox(mask, options.margin)): CellCrop | null {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`cellCrop: the mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}`);
  }
  if (!found) return null;
  const { cell } = found;
  const side = Math.max(image.width, image.height);
  const box = options.around === 'image' ? { x: Math.floor((image.width - side) / 2), y: Math.floor((image.height - side) / 2), side } : found.box;
  const imageCut = cutBox(image, box, 3);
  // Only the box is copied: other cells' pixels in it become background.
  const maskCut = cutBox(mask, box, 1);
  const cellCut = cutBox({ width: mask.width, height: mask.height, data: cell }, box, 1);
  for (let p = 0; p < maskCut.data.length; p++) if (!cellCut.data[p]) maskCut.data[p] = 0;
  return {
    image: resizeSmooth(imageCut, options.size, options.size, 3),
    mask: resizeNearest(maskCut, options.size, options.size, 1),
    box,
  };
}
