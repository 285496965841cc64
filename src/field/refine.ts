// Stage 2 of a field: each cell stage 1 found is segmented again as the model was trained, in a
// window of one model input centred on it at the working scale, and kept to the part of the field
// that is its own (its stage-1 pixels grown by TERRITORY_RADIUS, never into another cell's), then
// cleaned up as a crop is. Pure (no Node imports).
import type { LabelMask, RgbImage } from '../data/types.js';
import { argmaxLabels } from '../metrics/labels.js';
import { postprocessMask, type PostprocessOptions } from '../infer/postprocess.js';
import { growLabels, type FoundCell, type Instances } from './instances.js';
import { workingIndex, type WorkingGrid } from './label-field.js';
import type { WindowPredictor } from './predictor.js';
import { windowAround, type PixelRect, type SquareWindow, type WindowPreprocessing } from './window.js';
import { windowProbs } from './window-probs.js';

/**
 * How far, in working pixels, a cell may reach past what stage 1 gave it: a quarter of the working
 * diameter, room for cytoplasm stage 1 missed at a tile's edge, while a neighbour's pixels stay its own.
 */
export const TERRITORY_RADIUS = 0.25;

export interface RefineOptions {
  /** The model's preprocessing: pixel values, and (resize) whether windows shrink smoothly. */
  preprocessing: WindowPreprocessing;
  /** Model pixels per image pixel of the windows. */
  scale: number;
  /** The working cell diameter, model pixels (for the territory radius). */
  workingDiameter: number;
  tta: boolean;
  classWeights?: readonly number[];
  postprocess: boolean | PostprocessOptions;
  /** Windows per predictor call (default 4: with flip TTA, 16 inputs). */
  batchSize?: number;
  onCell?: (done: number, cells: number) => void;
}

/** One cell after stage 2: its mask and probabilities over `region` (image pixels). */
export interface RefinedCell {
  found: FoundCell;
  window: SquareWindow;
  region: PixelRect;
  /** Class per pixel of the region, this cell only (0 elsewhere). */
  mask: LabelMask;
  /** Softmax over the region, HWC. */
  probs: Float32Array;
  /**
   * Share of the window's edge pixels (where the edge lies inside the image) the model labelled
   * cell, any cell's: near 1 when the window sits inside something far larger than a cell.
   */
  edgeCellShare: number;
}

/** Share of non-zero labels along the edges of `region` that are not the image's edges (0 when all are). */
function edgeShare(labels: Uint8Array, region: PixelRect, width: number, height: number): number {
  let cell = 0;
  let all = 0;
  const count = (x: number, y: number) => {
    all++;
    if (labels[y * region.width + x] !== 0) cell++;
  };
  for (let x = 0; x < region.width; x++) {
    if (region.y > 0) count(x, 0);
    if (region.y + region.height < height) count(x, region.height - 1);
  }
  for (let y = 0; y < region.height; y++) {
    if (region.x > 0) count(0, y);
    if (region.x + region.width < width) count(region.width - 1, y);
  }
  return all === 0 ? 0 : cell / all;
}

/** Image-pixel centre of a working-scale position. */
function toImage(position: number, workingLength: number, imageLength: number): number {
  return ((position + 0.5) * imageLength) / workingLength;
}

/**
 * Which cell owns each pixel of `region`: the stage-1 labels around it, grown `radius` steps into
 * pixels of no cell (a pixel within reach of two cells goes to the one that reaches it first).
 */
function owners(instances: Instances, grid: WorkingGrid, image: RgbImage, region: PixelRect, radius: number): (x: number, y: number) => number {
  const gx0 = Math.max(0, workingIndex(region.x, image.width, grid.width) - radius - 1);
  const gy0 = Math.max(0, workingIndex(region.y, image.height, grid.height) - radius - 1);
  const gx1 = Math.min(grid.width, workingIndex(region.x + region.width - 1, image.width, grid.width) + radius + 2);
  const gy1 = Math.min(grid.height, workingIndex(region.y + region.height - 1, image.height, grid.height) + radius + 2);
  const w = gx1 - gx0;
  const local = new Int32Array(w * (gy1 - gy0));
  for (let y = gy0; y < gy1; y++) local.set(instances.labels.subarray(y * grid.width + gx0, y * grid.width + gx1), (y - gy0) * w);
  growLabels(local, w, gy1 - gy0, () => true, radius);
  return (x, y) => local[(workingIndex(y, image.height, grid.height) - gy0) * w + workingIndex(x, image.width, grid.width) - gx0];
}

/**
 * Stage 2 for every found cell, in batches, handing each result to `consume` at once (so only one
 * window's probabilities at the image's resolution are held at a time). A cell whose window gives
 * no cell pixels of its own comes with an empty mask.
 */
export async function refineCells(
  image: RgbImage,
  grid: WorkingGrid,
  instances: Instances,
  predictor: WindowPredictor,
  options: RefineOptions,
  consume: (cell: RefinedCell) => void,
): Promise<void> {
  const size = predictor.inputSize;
  const side = Math.max(1, Math.round(size / options.scale));
  const radius = Math.max(1, Math.round(TERRITORY_RADIUS * options.workingDiameter * (grid.scale / options.scale)));
  const batchSize = options.batchSize ?? 4;
  const cells = instances.cells;
  for (let first = 0; first < cells.length; first += batchSize) {
    const batch = cells.slice(first, first + batchSize);
    // Centred on the cell even at the image's edge: past it the window reflects the image, as 'pad'
    // fits a crop, so a cut cell is seen as in training (flush with the window's edge it is not).
    const windows = batch.map((c) => windowAround(toImage(c.centroidX, grid.width, image.width), toImage(c.centroidY, grid.height, image.height), side));
    const outputs = await windowProbs(image, windows, predictor, options.preprocessing, options.tta);
    batch.forEach((found, i) => {
      const window = windows[i];
      const { region, probs } = outputs[i];
      const labels = argmaxLabels(probs, 3, options.classWeights);
      const edgeCellShare = edgeShare(labels, region, image.width, image.height);
      const ownerOf = owners(instances, grid, image, region, radius);
      for (let y = 0; y < region.height; y++) {
        for (let x = 0; x < region.width; x++) {
          if (ownerOf(region.x + x, region.y + y) !== found.label) labels[y * region.width + x] = 0;
        }
      }
      const own: LabelMask = { width: region.width, height: region.height, data: labels };
      const post = options.postprocess;
      const mask = post === false ? own : postprocessMask(own, post === true ? {} : post).mask;
      consume({ found, window, region, mask, probs, edgeCellShare });
    });
    options.onCell?.(Math.min(first + batchSize, cells.length), cells.length);
  }
}
