// Field mode end to end: find every white cell of a microscope field at the working scale (stage 1,
// tiled), segment each one again centred in its own window as the model was trained (stage 2),
// and paste them back into full-size semantic and instance masks, each cell measured on its own.
// Pure (no Node imports): the Node segmenter and the page both call it with their own predictor.
//
//   const r = await segmentField(image, predictor, { preprocessing, tta: true });
//   r.cells.length; r.mask; r.instances;   // instances: 0 = no cell, k = r.cells[k - 1]
import type { LabelMask, RgbImage } from '../data/types.js';
import type { PostprocessOptions } from '../infer/postprocess.js';
import { checkImage, checkSegmentation, type OutOfDistribution } from '../infer/image-check.js';
import { describeCell, type SegmentedCell } from './cells.js';
import { findInstances, instanceLimits, type Instances } from './instances.js';
import { labelField, tileCount, workingGrid, type WorkingGrid } from './label-field.js';
import type { WindowPredictor } from './predictor.js';
import { refineCells, type RefinedCell } from './refine.js';
import { cropRgb, type WindowPreprocessing } from './window.js';
import { median, PROBE_DIAMETERS, REPROBE_RATIO, scaleForDiameter, WORKING_CELL_DIAMETER } from './scale.js';

export interface FieldOptions {
  /** The model's preprocessing: pixel values, and (resize) whether windows shrink smoothly. */
  preprocessing: WindowPreprocessing;
  /** Flip TTA in stage 2, as the model's metadata says for crops. */
  tta: boolean;
  classWeights?: readonly number[];
  /** Clean-up of each cell as crop mode cleans a crop (default on). */
  postprocess?: boolean | PostprocessOptions;
  /** The field's typical white-cell diameter in image pixels; estimated from the field when absent. */
  cellDiameter?: number;
  umPerPx?: number;
  /** Flip TTA in stage 1 too (4x its time; default off: stage 1 only finds the cells). */
  detectTta?: boolean;
  /** Overlap of stage 1's tiles, model pixels (default a quarter of the input). */
  overlap?: number;
  onProgress?: (progress: FieldProgress) => void;
}

/** 'find': a stage-1 pass over the field (one or more: probes), in tiles; 'cells': stage 2, in cells. */
export interface FieldProgress {
  stage: 'find' | 'cells';
  done: number;
  total: number;
}

export interface FieldSegmentation {
  /** Class per pixel at the image's size holding every cell (background elsewhere). */
  mask: LabelMask;
  /** 0 = no cell, k = cells[k - 1], at the image's size. */
  instances: Uint16Array;
  cells: SegmentedCell[];
  /** Model pixels per image pixel stage 2 ran at (null when no cell size could be found). */
  scale: number | null;
  /** The white-cell diameter (image pixels) the scale was set from, and where it came from. */
  cellDiameter: number | null;
  cellDiameterSource: 'given' | 'estimated' | null;
  /** Stage 1's labels at its working scale (what the network said over the whole field). */
  working: LabelMask;
  /** Set when the image is not a field of stained white blood cells (see image-check.ts); then no cells. */
  outOfDistribution: OutOfDistribution | null;
}

interface Detection {
  grid: WorkingGrid;
  labels: LabelMask;
  instances: Instances;
}

/**
 * Equivalent diameter of each found cell, in working pixels, for measuring the field's cell size:
 * cells cut by the field's edge show less than their size and are left out while others remain.
 */
function diameters(instances: Instances): number[] {
  const whole = wholeCells(instances);
  return (whole.length > 0 ? whole : instances.cells).map((c) => Math.sqrt((4 * c.area) / Math.PI));
}

/** The found cells not cut by the field's edge. */
function wholeCells(instances: Instances): Instances['cells'] {
  return instances.cells.filter((c) => c.x0 > 0 && c.y0 > 0 && c.x1 < instances.width && c.y1 < instances.height);
}

/**
 * Stage 1's candidate detections, best first: at the given cell diameter; or, without one, every
 * probe of scale.ts that finds cells, the one whose cells came out nearest the working diameter
 * first (a probe at a scale far from the cells' own finds stray specks of the working size's floor,
 * or parts of cells), each with the field's diameter measured from its cells and run again at that
 * size when it is far from the probe's (lazily: only when the detection before led to no cell).
 */
async function* detections(image: RgbImage, predictor: WindowPredictor, options: FieldOptions): AsyncGenerator<{ detection: Detection; diameter: number }> {
  const run = async (diameter: number): Promise<Detection> => {
    const grid = workingGrid(image.width, image.height, scaleForDiameter(diameter));
    const tiles = tileCount(grid, predictor.inputSize, options.overlap ?? Math.round(predictor.inputSize / 4));
    const labels = await labelField(image, grid, predictor, {
      preprocessing: options.preprocessing,
      overlap: options.overlap,
      tta: options.detectTta ?? false,
      classWeights: options.classWeights,
      onProgress: (done) => options.onProgress?.({ stage: 'find', done, total: tiles }),
    });
    return { grid, labels, instances: findInstances(labels, instanceLimits(WORKING_CELL_DIAMETER)) };
  };
  if (options.cellDiameter !== undefined) {
    yield { detection: await run(options.cellDiameter), diameter: options.cellDiameter };
    return;
  }
  const probes: Detection[] = [];
  for (const probe of PROBE_DIAMETERS) {
    const found = await run(probe);
    if (found.instances.cells.length > 0) probes.push(found);
  }
  // A probe all of whose cells are cut by the field's edge measured none whole: at the largest probe a
  // field of small cells can come out as one "cell" the size of the field (a 3x3 mosaic of Dataset 2
  // validation crops: one of 1108 px in a 1000 px field, 73 working px, nearer the working diameter than
  // the 150 px probe's nine cells of median 76). Such probes come after those that saw whole cells.
  const offWorking = (d: Detection) => Math.abs(Math.log(median(diameters(d.instances)) / WORKING_CELL_DIAMETER));
  const noneWhole = (d: Detection) => (wholeCells(d.instances).length === 0 ? 1 : 0);
  probes.sort((a, b) => noneWhole(a) - noneWhole(b) || offWorking(a) - offWorking(b));
  for (const found of probes) {
    const measured = median(diameters(found.instances)) / found.grid.scale;
    if (Math.abs(Math.log(scaleForDiameter(measured) / found.grid.scale)) <= Math.log(REPROBE_RATIO)) {
      yield { detection: found, diameter: measured };
      continue;
    }
    const again = await run(measured);
    if (again.instances.cells.length === 0) yield { detection: found, diameter: measured };
    else yield { detection: again, diameter: median(diameters(again.instances)) / again.grid.scale };
  }
}

/**
 * Once stage 2 has segmented the cells, their own diameters (at crop quality, cells cut by the edge
 * left out) give the field's cell size again; stage 2 runs once more at that scale when it differs
 * from stage 1's measure by more than RESCALE_RATIO (stage 1's is within about 10 %), and not at all
 * when it differs by more than RESCALE_LIMIT: then stage 1 did not find white cells' sizes.
 */
export const RESCALE_RATIO = 1.05;

/**
 * A window whose edge the model labels cell for at least this share sits inside something larger
 * than a window (1.9 working diameters): at a wrong scale, a part of a far larger cell. A white cell
 * with a neighbour crossing its window's edge gives a small share.
 */
export const WINDOW_FILLED = 0.5;
export const RESCALE_LIMIT = 1.25;

interface Pasted {
  mask: LabelMask;
  instances: Uint16Array;
  cells: SegmentedCell[];
  firstProblem: OutOfDistribution | null;
  /** Cells whose window's edge is mostly cell (WINDOW_FILLED): inside something larger than a window, so no cell at this scale. */
  cutByWindow: number;
}

/** Stage 2 at `scale`, each cell pasted into full-size masks as it comes and measured alone. */
async function refineField(image: RgbImage, detection: Detection, predictor: WindowPredictor, options: FieldOptions, scale: number): Promise<Pasted> {
  const { width, height } = image;
  const mask: LabelMask = { width, height, data: new Uint8Array(width * height) };
  const instances = new Uint16Array(width * height);
  // Stage 1's floor on a cell's size, in image pixels: what stage 2 leaves of a cell may be less.
  const minArea = instanceLimits(WORKING_CELL_DIAMETER).minCellArea / (scale * scale);
  const cells: SegmentedCell[] = [];
  let firstProblem: OutOfDistribution | null = null;
  let cutByWindow = 0;
  const paste = (cell: RefinedCell): void => {
    if (cell.mask.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) < minArea) return;
    if (cell.edgeCellShare >= WINDOW_FILLED) cutByWindow++;
    const problem = checkSegmentation(cell.mask, cropRgb(image, cell.region));
    if (problem !== null) {
      firstProblem ??= problem;
      return;
    }
    const { region } = cell;
    const index = cells.length + 1;
    // Territories are disjoint, so no pixel is claimed twice; the check keeps it so whatever happens.
    const kept = new Uint8Array(cell.mask.data.length);
    for (let y = 0; y < region.height; y++) {
      for (let x = 0; x < region.width; x++) {
        const r = y * region.width + x;
        const p = (region.y + y) * width + region.x + x;
        if (cell.mask.data[r] === 0 || instances[p] !== 0) continue;
        kept[r] = cell.mask.data[r];
        instances[p] = index;
        mask.data[p] = cell.mask.data[r];
      }
    }
    const described = describeCell({ width: region.width, height: region.height, data: kept }, region, image, index, { probs: cell.probs, umPerPx: options.umPerPx });
    if (described !== null) cells.push(described);
  };
  await refineCells(image, detection.grid, detection.instances, predictor, {
    preprocessing: options.preprocessing,
    scale,
    workingDiameter: WORKING_CELL_DIAMETER,
    tta: options.tta,
    classWeights: options.classWeights,
    postprocess: options.postprocess ?? true,
    onCell: (done, total) => options.onProgress?.({ stage: 'cells', done, total }),
  }, paste);
  return { mask, instances, cells, firstProblem, cutByWindow };
}

/** Median equivalent diameter (image px) of the cells not cut by the image's edge, or null without any. */
function wholeCellDiameter(cells: readonly SegmentedCell[]): number | null {
  const whole = cells.filter((c) => !c.stats.warnings.includes('touches-border'));
  return whole.length === 0 ? null : median(whole.map((c) => c.stats.equivalentDiameterPx));
}

/**
 * The image checks of image-check.ts (flat colour, noise) look at this many evenly spaced rows of a
 * field at most: their luminance spread and roughness along rows are the same there, at a fraction
 * of the time and memory of a 4000 x 3000 image's every pixel.
 */
export const CHECK_ROWS = 1000;

/** Every k-th row of the image, for at most `rows` of them. */
function rowSample(image: RgbImage, rows: number): RgbImage {
  const step = Math.ceil(image.height / rows);
  if (step === 1) return image;
  const height = Math.ceil(image.height / step);
  const data = new Uint8Array(image.width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(y * step * image.width * 3, (y * step + 1) * image.width * 3), y * image.width * 3);
  return { width: image.width, height, data };
}

/** Segments a field: see the file comment. */
export async function segmentField(image: RgbImage, predictor: WindowPredictor, options: FieldOptions): Promise<FieldSegmentation> {
  const { width, height } = image;
  const source = options.cellDiameter !== undefined ? 'given' : 'estimated';
  const none = (ood: OutOfDistribution | null, working: LabelMask, diameter: number | null = null): FieldSegmentation => ({
    mask: { width, height, data: new Uint8Array(width * height) }, instances: new Uint16Array(width * height), cells: [],
    scale: diameter === null ? null : scaleForDiameter(diameter), cellDiameter: diameter, cellDiameterSource: diameter === null ? null : source,
    working, outOfDistribution: ood,
  });
  const imageProblem = checkImage(rowSample(image, CHECK_ROWS));
  if (imageProblem !== null) return none(imageProblem, { width: 0, height: 0, data: new Uint8Array(0) });
  let firstProblem: OutOfDistribution | null = null;
  let working: LabelMask = { width: 0, height: 0, data: new Uint8Array(0) };
  for await (const { detection, diameter } of detections(image, predictor, options)) {
    working = detection.labels;
    let cellDiameter = diameter;
    let pasted = await refineField(image, detection, predictor, options, scaleForDiameter(cellDiameter));
    const measured = options.cellDiameter === undefined ? wholeCellDiameter(pasted.cells) : null;
    const off = measured === null ? 0 : Math.abs(Math.log(measured / cellDiameter));
    if (measured !== null && off > Math.log(RESCALE_RATIO) && off <= Math.log(RESCALE_LIMIT)) {
      cellDiameter = measured;
      if (scaleForDiameter(measured) !== scaleForDiameter(diameter)) pasted = await refineField(image, detection, predictor, options, scaleForDiameter(measured));
    }
    firstProblem ??= pasted.firstProblem;
    // Most "cells" larger than their windows: the probe saw parts of cells far larger than it assumed.
    if (pasted.cells.length === 0 || (options.cellDiameter === undefined && pasted.cutByWindow > pasted.cells.length / 2)) continue;
    const { mask, instances, cells } = pasted;
    return { mask, instances, cells, scale: scaleForDiameter(cellDiameter), cellDiameter, cellDiameterSource: source, working, outOfDistribution: null };
  }
  return none(firstProblem, working, options.cellDiameter ?? null);
}
