// Draws the segmentation as outlines over the microscope image, so a person can check the cell and
// nucleus edges against the stain itself. Pure: returns a new image, nothing is encoded here.
import type { LabelMask, RgbImage } from '../data/types.js';
import { erode } from '../infer/morphology.js';

/** An 8-bit colour (same shape as colors.ts's Rgb). */
export type OverlayColor = readonly [number, number, number];

/**
 * Bright, unstained-looking colours: cyan stands out on the pink background and pale cytoplasm,
 * yellow on the dark purple nucleus. They differ mainly in blue, so they stay apart for red-green
 * colour blindness.
 */
export const OVERLAY_COLORS: { cell: OverlayColor; nucleus: OverlayColor } = {
  cell: [0, 230, 255],
  nucleus: [255, 225, 0],
};

export interface OverlayOptions {
  /** Outline thickness in pixels, drawn inside the region. Default 1. */
  outlineWidth?: number;
}

/**
 * The image with two outlines: the cell's outer edge (cytoplasm ∪ nucleus against background) in
 * cyan, and the nucleus edge (nucleus against anything else) in yellow, drawn last so it wins where
 * the nucleus reaches the background. An outline pixel is a region pixel removed by eroding the
 * region with a disk of radius outlineWidth (width 1: a pixel with a 4-neighbour outside the region).
 * The image edge is not an edge of the region, so a cell cut by the frame is left open there.
 */
export function renderOverlay(image: RgbImage, mask: LabelMask, options: OverlayOptions = {}): RgbImage {
  const { width, height } = image;
  if (mask.width !== width || mask.height !== height) {
    throw new Error(`mask is ${mask.width}x${mask.height} but the image is ${width}x${height}`);
  }
  if (image.data.length !== width * height * 3) throw new Error(`image data has ${image.data.length} bytes, expected ${width * height * 3}`);
  if (mask.data.length !== width * height) throw new Error(`mask data has ${mask.data.length} pixels, expected ${width * height}`);
  const outlineWidth = options.outlineWidth ?? 1;
  if (!Number.isInteger(outlineWidth) || outlineWidth < 1) throw new Error(`outlineWidth must be a whole number >= 1, got ${outlineWidth}`);

  const cell = new Uint8Array(width * height);
  const nucleus = new Uint8Array(width * height);
  for (let p = 0; p < cell.length; p++) {
    cell[p] = mask.data[p] !== 0 ? 1 : 0;
    nucleus[p] = mask.data[p] === 2 ? 1 : 0;
  }
  const out = new Uint8Array(image.data);
  paintOutline(out, cell, erode(cell, width, height, outlineWidth), OVERLAY_COLORS.cell);
  paintOutline(out, nucleus, erode(nucleus, width, height, outlineWidth), OVERLAY_COLORS.nucleus);
  return { width, height, data: out };
}

function paintOutline(rgb: Uint8Array, region: Uint8Array, interior: Uint8Array, [r, g, b]: OverlayColor): void {
  for (let p = 0; p < region.length; p++) {
    if (region[p] === 0 || interior[p] !== 0) continue;
    rgb[p * 3] = r;
    rgb[p * 3 + 1] = g;
    rgb[p * 3 + 2] = b;
  }
}
