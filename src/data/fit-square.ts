// How an image of any size becomes the model's square input, and where its pixels lie in that square.
//
//   const input = fitToSquare(image, 128, 3, 'pad');          // image: { width, height, data }
//   const { x, y, width, height } = placement(image.width, image.height, 128, 'pad');
//
// 'stretch' is the study's protocol: PIL-exact nearest-neighbour resize to size x size, which for
// Dataset 1's 104..120 px images duplicates rows and columns of the image and of its mask.
// 'pad' keeps the pixels as they are: an image whose longer side exceeds `size` is first shrunk (same
// nearest rule, aspect ratio kept) so that side equals `size`; the content is then centred in the
// square and the margins are filled by reflection (numpy's 'reflect': mirrored about the edge pixel,
// which is not repeated), so the network sees cells and background continue rather than a black band.
// 'pad-smooth' is 'pad' with the shrinking done by PIL's antialiased BILINEAR filter (resample.ts):
// a 300 px crop shrunk to 128 keeps every pixel's share of colour at the cell's border and in its
// granules instead of one pixel in 2.3 picked, and its mask takes each model pixel's majority class
// (fitMaskToSquare); an image that is not shrunk is padded exactly as 'pad' pads it.
// Reflection needs a margin of at most n - 1 pixels on an axis of n; a wider margin makes that axis
// replicate its edge pixels instead (numpy's 'edge').
import { checkGridBytes, gatherPixels, resizeNearest, type PixelGrid } from './resize.js';
import { resizeLabelsSmooth, resizeSmooth } from './resample.js';

/** How an image is fitted into the model's square input; see the file comment. */
export type SquareFit = 'stretch' | 'pad' | 'pad-smooth';
export const SQUARE_FITS: readonly SquareFit[] = ['stretch', 'pad', 'pad-smooth'];

/** True for the fits that centre the image unstretched ('pad', 'pad-smooth'): they differ only in how a larger image is shrunk. */
export function isPadFit(fit: SquareFit): boolean {
  return fit === 'pad' || fit === 'pad-smooth';
}

/** The rectangle of the size x size square that holds the image's own content. */
export interface Placement {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where an image of `width` x `height` lies in the size x size square. 'stretch': the whole square.
 * 'pad': centred (an odd margin puts its extra pixel on the right / bottom), at the image's own size,
 * or shrunk so that its longer side is `size` when it is longer than that.
 */
export function placement(width: number, height: number, size: number, fit: SquareFit): Placement {
  checkPositiveInteger('placement', 'width', width);
  checkPositiveInteger('placement', 'height', height);
  checkPositiveInteger('placement', 'size', size);
  if (fit === 'stretch') return { x: 0, y: 0, width: size, height: size };
  if (!isPadFit(fit)) throw new Error(`placement: fit must be one of ${SQUARE_FITS.join(', ')}, got '${String(fit)}'`);
  const longer = Math.max(width, height);
  // (side * size) / longer is exact for the longer side, so that side becomes exactly `size`.
  const shrunk = (side: number) => (longer > size ? Math.max(1, Math.round((side * size) / longer)) : side);
  const w = shrunk(width);
  const h = shrunk(height);
  return { x: Math.floor((size - w) / 2), y: Math.floor((size - h) / 2), width: w, height: h };
}

/** True when the content was resized on its way into the square (not a plain copy of its pixels). */
export function isResampled(p: Placement, width: number, height: number): boolean {
  return p.width !== width || p.height !== height;
}

/**
 * For each of the `size` positions along one axis of the square, the content position it copies:
 * the content itself at [offset, offset + length), reflected margins around it, or the edge pixel
 * repeated when a margin is wider than reflection allows (length - 1).
 */
export function paddingIndexTable(length: number, offset: number, size: number): Int32Array {
  checkPositiveInteger('paddingIndexTable', 'content length', length);
  const after = size - offset - length;
  if (!Number.isInteger(offset) || offset < 0 || after < 0) {
    throw new Error(`paddingIndexTable: content of ${length} at ${offset} does not fit in ${size}`);
  }
  const reflect = offset <= length - 1 && after <= length - 1;
  const table = new Int32Array(size);
  for (let o = 0; o < size; o++) {
    const i = o - offset;
    if (i >= 0 && i < length) table[o] = i;
    else if (reflect) table[o] = i < 0 ? -i : 2 * (length - 1) - i;
    else table[o] = i < 0 ? 0 : length - 1;
  }
  return table;
}

/**
 * The image (or a mask: `channels` 1) as the model's size x size input, by `fit`. Returns a copy of
 * `grid` with the new size and pixels; 'stretch' is exactly resizeNearest(grid, size, size, channels).
 * 'pad-smooth' averages pixels when it shrinks: fit a label mask with fitMaskToSquare instead.
 */
export function fitToSquare<T extends PixelGrid>(grid: T, size: number, channels: number, fit: SquareFit): T {
  return fitWith(grid, size, channels, fit, (g, w, h) => (fit === 'pad-smooth' ? resizeSmooth(g, w, h, channels) : resizeNearest(g, w, h, channels)));
}

/**
 * A label mask (class indices below `classes`) fitted into the square as fitToSquare fits its image:
 * the same pixels for 'stretch' and 'pad'; for 'pad-smooth', each model pixel's majority class.
 */
export function fitMaskToSquare<T extends PixelGrid>(mask: T, size: number, fit: SquareFit, classes: number): T {
  return fitWith(mask, size, 1, fit, (g, w, h) => (fit === 'pad-smooth' ? resizeLabelsSmooth(g, w, h, classes) : resizeNearest(g, w, h, 1)));
}

function fitWith<T extends PixelGrid>(grid: T, size: number, channels: number, fit: SquareFit, shrink: (g: T, width: number, height: number) => T): T {
  const where = placement(grid.width, grid.height, size, fit);
  if (fit === 'stretch') return resizeNearest(grid, size, size, channels);
  checkPositiveInteger('fitToSquare', 'channel count', channels);
  checkGridBytes('fitToSquare', grid, channels, 'grid');
  const content = isResampled(where, grid.width, grid.height) ? shrink(grid, where.width, where.height) : grid;
  const columns = paddingIndexTable(where.width, where.x, size);
  const rows = paddingIndexTable(where.height, where.y, size);
  const out = gatherPixels(content, columns, rows, channels);
  return { ...grid, width: size, height: size, data: out };
}

function checkPositiveInteger(caller: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${caller}: ${what} must be a positive integer, got ${value}`);
}
