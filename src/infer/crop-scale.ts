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
import { keepsOneCell, type PostprocessOptions } from './postprocess.js';
import { checkImage } from './image-check.js';

/**
 * A crop whose cell reaches the network within this factor of WORKING_CELL_DIAMETER is segmented as
 * today, at the model's own fit; one further off is segmented again at the working diameter. Chosen
 * on the 43 validation crops of Dataset 1 and 2, each rescaled by 0.5, 0.75, 1, 1.5 and 2 and cut tight
 * (src/bench/crop-scale.ts --part validation): the mean over those 12 sets of the nucleus, cytoplasm
 * and whole-cell Dice was 0.9566 at the model's fit alone, and 0.9622, 0.9622, 0.9621, 0.9617 and
 * 0.9595 with tolerance 1.3, 1.4, 1.5, 1.6 and 1.8. 1.4 is the highest; at it, 1 of the 32 Dataset 1
 * and 1 of the 11 Dataset 2 validation crops at their own size are segmented again (Dice unchanged to
 * three decimals; 1.3 took 3 of Dataset 1's and cost Dataset 2's cytoplasm 0.002 at 1x). Wider than
 * field mode's NATIVE_SCALE_TOLERANCE: a crop's one cell is its own estimate, and cells vary in size.
 */
export const CROP_SCALE_TOLERANCE = 1.4;

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
  const centre = (side >= width && side >= height) || cell === null ? { x: width / 2, y: height / 2 } : cell;
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
  /** Default CROP_SCALE_TOLERANCE; 1 segments every crop whose cell is not exactly at the working diameter again. */
  tolerance?: number;
}

export interface RescaledCrop {
  /** The masks and numbers to report: the last pass that found a cell, or the first when none did. */
  finished: FinishedSegmentation;
  /** The cell diameter (image px) the reported scale was set from; null when none was given and no pass found a cell. */
  cellDiameter: number | null;
  cellDiameterSource: 'given' | 'estimated' | null;
  /** Model pixels per image pixel the reported masks were segmented at. */
  modelScale: number;
  /** Whether the crop was segmented again (and a later pass is the one reported). */
  rescaled: boolean;
  /** Model passes made after the first (0 to MAX_RESCALE_PASSES). */
  passes: number;
}

/**
 * At most this many passes follow the first. The model sizes a cell it sees at 33-107 px to within
 * 5 %, but one far smaller than that is found as a speck or not at all (Dataset 1 at 0.5x: cells of
 * 27-29 model px gave no cell, or "cells" of 6 and 13 px); a pass that brought such a speck to the
 * working size shows the cell at another size, which one more pass brings to it in turn.
 */
export const MAX_RESCALE_PASSES = 2;

/**
 * A first pass that finds no cell in a crop that passes the image checks is followed by one with
 * the crop enlarged this much (a cell of half the working diameter brought to it): the model finds
 * nothing in cells much under 33 px at its input.
 */
export const NO_CELL_PROBE_ENLARGEMENT = 2;

/** The main cell of a pass: its equivalent diameter and centre (image px), or null when it has none. */
function mainCell(finished: FinishedSegmentation, post: boolean | PostprocessOptions): { diameter: number; x: number; y: number } | null {
  const [cell] = cropCells(finished.mask, finished.stats, keepsOneCell(post)).cells;
  if (cell === undefined) return null;
  const area = cell.mask.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  return { diameter: Math.sqrt((4 * area) / Math.PI), x: cell.centroidX + 0.5, y: cell.centroidY + 0.5 };
}

/**
 * From the first pass at the model's fit (`first`, as finishSegmentation gives it) to the crop's
 * masks at the working diameter: a pass's main cell (its equivalent diameter and centroid) says
 * whether, and where, to segment again; each pass's cell is measured again, so a size the model got
 * badly wrong from a tiny cell is corrected by the next (MAX_RESCALE_PASSES). A given diameter
 * makes one pass at most. A pass that finds no cell leaves the one before.
 */
export async function rescaleCrop(image: RgbImage, first: FinishedSegmentation, predictor: WindowPredictor, options: RescaleCropOptions): Promise<RescaledCrop> {
  const { width, height } = image;
  const fitScale = cropFitScale(width, height, options.preprocessing);
  const given = typeof options.cellDiameter === 'number' ? options.cellDiameter : null;
  const post = options.postprocess ?? true;
  let cell = mainCell(first, post);
  let result: RescaledCrop = { finished: first, cellDiameter: given ?? cell?.diameter ?? null, cellDiameterSource: null, modelScale: fitScale, rescaled: false, passes: 0 };
  result.cellDiameterSource = result.cellDiameter === null ? null : given !== null ? 'given' : 'estimated';
  const run = async (scale: number, centre: { x: number; y: number } | null): Promise<FinishedSegmentation | null> => {
    const window = cropWindow(width, height, scale, predictor.inputSize, centre);
    const probs = await cropProbsInWindow(image, window, predictor, options.preprocessing, options.tta);
    result.passes++;
    const pass = finishSegmentation(probs, width, height, { postprocess: options.postprocess, umPerPx: options.umPerPx, classWeights: options.classWeights, image });
    if (pass.stats.cellAreaPx === 0) return null;
    result = { ...result, finished: pass, modelScale: predictor.inputSize / window.side, rescaled: true };
    return pass;
  };
  let measured = result.cellDiameter;
  if (given === null && cell === null) {
    if (checkImage(image) !== null) return result;
    const probe = await run(fitScale * NO_CELL_PROBE_ENLARGEMENT, null);
    cell = probe === null ? null : mainCell(probe, post);
    if (cell === null) return result;
    measured = cell.diameter;
    result = { ...result, cellDiameter: measured, cellDiameterSource: 'estimated' };
  }
  // `measured`: the cell's diameter as the pass now reported (at result.modelScale) shows it.
  while (measured !== null && measured > 0 && result.passes < MAX_RESCALE_PASSES) {
    const scale = cropRescale(measured, result.modelScale, options.tolerance);
    if (scale === null) break;
    const pass = await run(scale, cell === null ? null : { x: cell.x, y: cell.y });
    if (pass === null) break;
    result.cellDiameter = measured;
    if (given !== null) break;
    cell = mainCell(pass, post);
    measured = cell?.diameter ?? null;
  }
  return result;
}
