// A field's cell seen as the classifier was trained to see cells: in a square window around it,
// framed as a single-cell crop frames its cell. The classifier's `cellToImage` feature reads a crop's
// frame as its only ruler; a field's frame says nothing of one cell's size, so the window is sized to
// give the training cells' mean of that feature (neutral after standardisation) and the cell is typed
// by its look, masks and shape. Other cells in the window count as background, as red cells do. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import type { PixelRect } from '../field/window.js';
import { cellMaskIn, type SegmentedCell } from '../field/cells.js';

/** Cell diameter over the crop's side when a classifier does not record it (Dataset 1's crops are about this). */
export const DEFAULT_CELL_TO_IMAGE = 0.6;

/** The window (inside the image) centred on the cell, of side diameter / cellToImage, at least the cell's box. */
export function fieldCellWindow(
  image: { width: number; height: number },
  cell: Pick<SegmentedCell, 'bbox' | 'centroidX' | 'centroidY' | 'stats'>,
  cellToImage: number,
): PixelRect {
  if (!(cellToImage > 0)) throw new Error(`fieldCellWindow: cellToImage must be positive, got ${cellToImage}`);
  const wanted = Math.max(cell.bbox.width, cell.bbox.height, Math.round(cell.stats.equivalentDiameterPx / cellToImage));
  const width = Math.min(image.width, wanted);
  const height = Math.min(image.height, wanted);
  const clamp = (start: number, size: number, limit: number) => Math.max(0, Math.min(limit - size, Math.round(start)));
  return {
    x: clamp(cell.centroidX - width / 2, width, image.width),
    y: clamp(cell.centroidY - height / 2, height, image.height),
    width,
    height,
  };
}

/** The window's pixels and the cell's own mask in it (every other pixel 0). */
export function fieldCellView(
  image: RgbImage,
  cell: Pick<SegmentedCell, 'bbox' | 'mask' | 'centroidX' | 'centroidY' | 'stats'>,
  cellToImage: number,
): { image: RgbImage; mask: LabelMask; window: PixelRect } {
  const window = fieldCellWindow(image, cell, cellToImage);
  const data = new Uint8Array(window.width * window.height * 3);
  for (let y = 0; y < window.height; y++) {
    const from = ((window.y + y) * image.width + window.x) * 3;
    data.set(image.data.subarray(from, from + window.width * 3), y * window.width * 3);
  }
  return { image: { width: window.width, height: window.height, data }, mask: cellMaskIn(cell, window), window };
}
