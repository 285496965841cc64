// A crop at any magnification (Cellpose's `diameter` design): the crop is segmented as the model's
// metadata fits it; when its cell reached the network far from the working diameter, the crop is
// segmented again in field mode's stage-2 window, which brings the cell to that diameter, and the
// result is mapped back onto the crop's own pixels. Pure (no Node imports): the page runs it too.
//
//   const first = finishSegmentation(probs, width, height, { image });          // today's crop mode
//   const r = await rescaleCrop(image, first, predictor, { preprocessing, tta }); // r.finished: the masks
import type { RgbImage } from '../data/types.js';
import { NUM_CLASSES } from '../data/types.js';
import { placement } from '../data/fit-square.js';
import { squareFitOf, type Preprocessing } from '../models/preprocessing.js';
import { WORKING_CELL_DIAMETER, windowSide } from '../field/scale.js';
import { windowAround, type SquareWindow } from '../field/window.js';
import { windowProbs } from '../field/window-probs.js';
import type { WindowPredictor } from '../field/predictor.js';
import { cropCells } from '../field/mode.js';
import { finishSegmentation, type FinishedSegmentation } from './pipeline.js';
import type { PostprocessOptions } from './postprocess.js';

/**
 * A crop whose cell reaches the network within this factor of WORKING_CELL_DIAMETER is segmented as
 * today, at the model's own fit; one further off is segmented again at the working diameter. Chosen
 * on the validation images of Dataset 1 and 2 rescaled by 0.5-2x and cut tight (src/bench/crop-scale.ts,
 * README "Crops at another magnification"). Wider than field mode's NATIVE_SCALE_TOLERANCE: a crop's
 * one cell is its own estimate, and the crop sizes each lab's crops came at (the model saw cells of
 * 47-88 px at its input, 5-95 %) must not be resampled.
 */
export const CROP_SCALE_TOLERANCE = 1.5;

/**
 * How a crop's cell size is set: 'estimate' (the default) measures the cell of a first pass at the
 * model's own fit; a number gives the cell's diameter in image pixels; 'native' keeps the model's fit
 * whatever the cell's size (crop mode as it was before the estimate).
 */
export type CellDiameterChoice = number | 'estimate' | 'native';

/** Model pixels per image pixel of a crop fitted as `pre` says (the geometric mean of both axes for a stretch). */
export function cropFitScale(width: number, height: number, pre: Pick<Preprocessing, 'inputSize' | 'resize'>): number {
  const p = placement(width, height, pre.inputSize, squareFitOf(pre));
  return Math.sqrt((p.width / width) * (p.height / height));
}

/**
 * The scale (model px per image px) a crop whose cell is `diameter` image pixels across is segmented
 * again at, or null when its own fit (`fitScale`) shows the cell within `tolerance` of `working`.
 */
export function cropRescale(diameter: number, fitScale: number, tolerance = CROP_SCALE_TOLERANCE, working = WORKING_CELL_DIAMETER): number | null {
  if (!(Number.isFinite(diameter) && diameter > 0)) throw new Error(`cell diameter must be a number of pixels above 0, got ${diameter}`);
  if (!(Number.isFinite(fitScale) && fitScale > 0)) throw new Error(`fit scale must be a number above 0, got ${fitScale}`);
  if (!(tolerance >= 1)) throw new Error(`crop scale tolerance must be a factor of at least 1, got ${tolerance}`);
  return Math.abs(Math.log((diameter * fitScale) / working)) <= Math.log(tolerance) ? null : working / diameter;
}

/**
 * The window one model input covers at `scale`: centred on the crop when it holds all of it (as
 * 'pad' centres a crop, reflecting it outwards), else on the cell (the crop's centre without one).
 */
export function cropWindow(width: number, height: number, scale: number, inputSize: number, cell: { x: number; y: number } | null): SquareWindow {
  const side = windowSide(scale, inputSize);
  const centre = side >= width && side >= height || cell === null ? { x: width / 2, y: height / 2 } : cell;
  return windowAround(centre.x, centre.y, side);
}

/** The model's softmax over the whole crop (HWC) for `window`: its output where the window lies, background beyond. */
export async function cropProbsInWindow(
  image: RgbImage,
  window: SquareWindow,
  predictor: WindowPredictor,
  preprocessing: Preprocessing,
  tta: boolean,
): Promise<Float32Array> {
  const [{ region, probs }] = await windowProbs(image, [window], predictor, preprocessing, tta);
  const { width, height } = image;
  const out = new Float32Array(width * height * NUM_CLASSES);
  for (let p = 0; p < width * height; p++) out[p * NUM_CLASSES] = 1;
  for (let y = 0; y < region.height; y++) {
    out.set(probs.subarray(y * region.width * NUM_CLASSES, (y + 1) * region.width * NUM_CLASSES), ((region.y + y) * width + region.x) * NUM_CLASSES);
  }
  return out;
}

export interface RescaleCropOptions {
  preprocessing: Preprocessing;
  tta: boolean;
  classWeights?: readonly number[];
  postprocess?: boolean | PostprocessOptions;
  umPerPx?: number;
  /** 'estimate' (default) or the cell's diameter in image pixels ('native' never calls rescaleCrop). */
  cellDiameter?: number | 'estimate';
  /** Default CROP_SCALE_TOLERANCE; 1 segments every crop again at the working diameter (for measuring). */
  tolerance?: number;
}

export interface RescaledCrop {
  /** The masks and numbers to report: the second pass's, or the first's when there was none or it found no cell. */
  finished: FinishedSegmentation;
  /** The cell diameter (image px) the scale was set from; null when none was given and the first pass found no cell. */
  cellDiameter: number | null;
  cellDiameterSource: 'given' | 'estimated' | null;
  /** Model pixels per image pixel the reported masks were segmented at. */
  modelScale: number;
  /** Whether the crop was segmented again at the working diameter (and that pass is the one reported). */
  rescaled: boolean;
}

/**
 * From the first pass at the model's fit (`first`, as finishSegmentation gives it) to the crop's
 * masks at the working diameter: the first pass's main cell (its equivalent diameter and centroid)
 * says whether, and where, to segment again. A second pass that finds no cell leaves the first.
 */
export async function rescaleCrop(image: RgbImage, first: FinishedSegmentation, predictor: WindowPredictor, options: RescaleCropOptions): Promise<RescaledCrop> {
  const { width, height } = image;
  const fitScale = cropFitScale(width, height, options.preprocessing);
  const given = typeof options.cellDiameter === 'number' ? options.cellDiameter : null;
  const post = options.postprocess ?? true;
  const [cell] = cropCells(first.mask, first.stats, post === true || (post !== false && post.keepLargestCell !== false)).cells;
  const measured = cell === undefined ? null : Math.sqrt((4 * cell.mask.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)) / Math.PI);
  const diameter = given ?? measured;
  const unchanged: RescaledCrop = { finished: first, cellDiameter: diameter, cellDiameterSource: diameter === null ? null : given !== null ? 'given' : 'estimated', modelScale: fitScale, rescaled: false };
  if (diameter === null || diameter === 0) return unchanged;
  const scale = cropRescale(diameter, fitScale, options.tolerance);
  if (scale === null) return unchanged;
  const window = cropWindow(width, height, scale, predictor.inputSize, cell === undefined ? null : { x: cell.centroidX + 0.5, y: cell.centroidY + 0.5 });
  const probs = await cropProbsInWindow(image, window, predictor, options.preprocessing, options.tta);
  const second = finishSegmentation(probs, width, height, { postprocess: options.postprocess, umPerPx: options.umPerPx, classWeights: options.classWeights, image });
  if (second.stats.cellAreaPx === 0) return unchanged;
  return { ...unchanged, finished: second, modelScale: predictor.inputSize / window.side, rescaled: true };
}
