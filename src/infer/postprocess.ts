// Clean-up of a predicted label mask before measuring: keep the one cell, fill its holes and keep
// the nucleus inside it. Pure: returns a new mask, the input is never changed.
import type { LabelMask } from '../data/types.js';
import { connectedComponents, fillHoles as fillBinaryHoles, open as openBinary, type Components } from './morphology.js';

const BACKGROUND = 0;
const CYTOPLASM = 1;
const NUCLEUS = 2;

export interface PostprocessOptions {
  /** Drop every cell component (8-connected cytoplasm ∪ nucleus) except the main one. Default true. */
  keepLargestCell?: boolean;
  /** Fill holes in the cell: holes enclosed only by nucleus become nucleus, others cytoplasm. Default true. */
  fillHoles?: boolean;
  /** Nucleus pixels outside the main cell component become background. Default true. */
  constrainNucleus?: boolean;
  /**
   * Radius of a morphological opening of the cell before the main cell is chosen: cuts debris and
   * neighbours joined to the cell by a neck narrower than 2r+1 pixels. 0 = off (the default).
   */
  openCellRadius?: number;
}

/** Whether post-processing as `post` says (true: the defaults; false: none) leaves at most one cell. */
export function keepsOneCell(post: boolean | PostprocessOptions): boolean {
  return post === true || (post !== false && post.keepLargestCell !== false);
}

export interface PostprocessResult {
  mask: LabelMask;
  /** 8-connected cell components in the mask as given, before keeping one. */
  cellComponents: number;
}

export interface MainCell {
  /** 8-connected components of cytoplasm ∪ nucleus. */
  components: Components;
  /** Label (1..count) of the main cell, or 0 when the mask has no cell pixels. */
  label: number;
  /** Nucleus pixels in each component: nucleusPerComponent[k - 1] for component k. */
  nucleusPerComponent: number[];
}

/** Throws unless the mask's size matches its data and every pixel is a class index 0..2. */
export function checkMask(mask: LabelMask): void {
  const { width, height, data } = mask;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`mask size must be non-negative whole numbers, got ${width}x${height}`);
  }
  if (data.length !== width * height) {
    throw new Error(`mask has ${data.length} pixels, expected ${width}x${height} = ${width * height}`);
  }
  for (let p = 0; p < data.length; p++) {
    if (data[p] > NUCLEUS) throw new Error(`mask pixel ${p} has class ${data[p]}; classes are 0 background, 1 cytoplasm, 2 nucleus`);
  }
}

/** 1 where the mask is cytoplasm or nucleus. */
export function cellBinary(mask: LabelMask): Uint8Array {
  const binary = new Uint8Array(mask.data.length);
  for (let p = 0; p < binary.length; p++) binary[p] = mask.data[p] !== BACKGROUND ? 1 : 0;
  return binary;
}

/**
 * The cell to keep and measure: the 8-connected cell component holding the most nucleus pixels
 * (a cell is defined by its nucleus; a bigger cytoplasm-only blob is usually a neighbour or debris).
 * Ties, and masks without any nucleus, go to the larger component, then to the first in raster order.
 */
export function findMainCell(mask: LabelMask): MainCell {
  checkMask(mask);
  const components = connectedComponents(cellBinary(mask), mask.width, mask.height, 8);
  const nucleusPerComponent = new Array<number>(components.count).fill(0);
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p] === NUCLEUS) nucleusPerComponent[components.labels[p] - 1]++;
  }
  let label = 0;
  for (let k = 1; k <= components.count; k++) {
    if (label === 0) {
      label = k;
      continue;
    }
    const moreNucleus = nucleusPerComponent[k - 1] - nucleusPerComponent[label - 1];
    if (moreNucleus > 0 || (moreNucleus === 0 && components.areas[k - 1] > components.areas[label - 1])) label = k;
  }
  return { components, label, nucleusPerComponent };
}

/**
 * Fills the holes of the cell in place. Each hole (4-connected background region not reaching the
 * border) becomes nucleus if every pixel around it is nucleus — a gap inside the nucleus — and
 * cytoplasm otherwise.
 */
function fillCellHoles(data: Uint8Array, width: number, height: number): void {
  const cell = cellBinary({ width, height, data });
  const filled = fillBinaryHoles(cell, width, height);
  const holes = new Uint8Array(data.length);
  for (let p = 0; p < holes.length; p++) holes[p] = filled[p] !== 0 && cell[p] === 0 ? 1 : 0;
  const holeComponents = connectedComponents(holes, width, height, 4);
  if (holeComponents.count === 0) return;
  // A hole's 4-neighbours outside it are all cell pixels (else it would reach the outside).
  const enclosedByNucleus = new Array<boolean>(holeComponents.count).fill(true);
  for (let p = 0; p < data.length; p++) {
    const hole = holeComponents.labels[p];
    if (hole === 0) continue;
    const x = p % width;
    const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width];
    for (const q of neighbours) {
      if (q < 0 || q >= data.length || holes[q] !== 0) continue;
      if (data[q] !== NUCLEUS) enclosedByNucleus[hole - 1] = false;
    }
  }
  for (let p = 0; p < data.length; p++) {
    const hole = holeComponents.labels[p];
    if (hole !== 0) data[p] = enclosedByNucleus[hole - 1] ? NUCLEUS : CYTOPLASM;
  }
}

/**
 * Cleans a predicted mask in three switchable steps, in this order: keep the main cell (see
 * findMainCell), drop nucleus outside it, fill holes. With keepLargestCell off, other cytoplasm
 * blobs stay but constrainNucleus still removes their nucleus pixels.
 */
export function postprocessMask(mask: LabelMask, options: PostprocessOptions = {}): PostprocessResult {
  const keepLargestCell = options.keepLargestCell ?? true;
  const fillHoles = options.fillHoles ?? true;
  const constrainNucleus = options.constrainNucleus ?? true;
  const { width, height } = mask;
  const data = new Uint8Array(mask.data);
  const radius = options.openCellRadius ?? 0;
  if (radius > 0) {
    checkMask(mask);
    const opened = openBinary(cellBinary(mask), width, height, radius);
    for (let p = 0; p < data.length; p++) if (opened[p] === 0) data[p] = BACKGROUND;
  }
  const main = findMainCell({ width, height, data });
  const labels = main.components.labels;
  for (let p = 0; p < data.length; p++) {
    if (labels[p] === 0 || labels[p] === main.label) continue;
    if (keepLargestCell) data[p] = BACKGROUND;
    else if (constrainNucleus && data[p] === NUCLEUS) data[p] = BACKGROUND;
  }
  if (fillHoles) fillCellHoles(data, width, height);
  // Components counted on the mask as given, so an opening does not hide a second cell.
  const cellComponents = radius > 0 ? findMainCell(mask).components.count : main.components.count;
  return { mask: { width, height, data }, cellComponents };
}
