// What `segment --crops DIR` writes for each cell: the image around it (its box grown by half its
// size on each side, within the image) and that cell's own mask there, 0 / 128 / 255. Pure.
import type { RgbImage } from '../data/types.js';
import { cellMaskIn, type SegmentedCell } from '../field/cells.js';
import { cropRgb, type PixelRect } from '../field/window.js';
import { maskToGray } from './masks.js';

/** The crop's rectangle: the cell's box with half its longer side added on each side, clipped to the image. */
export function cellCropRect(cell: SegmentedCell, width: number, height: number): PixelRect {
  const margin = Math.round(Math.max(cell.bbox.width, cell.bbox.height) / 2);
  const x = Math.max(0, cell.bbox.x - margin);
  const y = Math.max(0, cell.bbox.y - margin);
  return { x, y, width: Math.min(width, cell.bbox.x + cell.bbox.width + margin) - x, height: Math.min(height, cell.bbox.y + cell.bbox.height + margin) - y };
}

/** The cell's crop of `image` and its mask (gray levels), this cell's pixels only. */
export function cellCrop(image: RgbImage, cell: SegmentedCell): { rect: PixelRect; image: RgbImage; mask: Uint8Array } {
  const rect = cellCropRect(cell, image.width, image.height);
  return { rect, image: cropRgb(image, rect), mask: maskToGray(cellMaskIn(cell, rect)) };
}
