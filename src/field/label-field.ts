// Stage 1 of a field: the network run over the whole field at the working scale, in overlapping
// tiles of its own input size, blended with tapered weights, giving one class per working-scale
// pixel. The tiles reach `overlap` past the field's edges, which are reflected there as 'pad'
// reflects a crop: a cell cut by the edge is seen whole-looking, as in training, not cut flush
// with the tile (where the model calls its last pixels background). Memory: the labels (1 byte a working pixel) and the blended probabilities of one band of
// tile rows, never the whole field's probabilities. Pure (no Node imports): the page runs it too.
//
//   const grid = workingGrid(image.width, image.height, 0.5);
//   const labels = await labelField(image, grid, predictor, { preprocessing, overlap: 32 });
import { gatherPixels, nearestIndexTable } from '../data/resize.js';
import { resizeSmooth } from '../data/resample.js';
import { NUM_CLASSES, type LabelMask, type RgbImage } from '../data/types.js';
import { pixelsToInput } from '../data/pixels.js';
import { argmaxLabels } from '../metrics/labels.js';
import type { WindowPredictor } from './predictor.js';
import { taperWeights, tileStarts } from './tiles.js';
import { shrinksSmoothly, type WindowPreprocessing } from './window.js';

/**
 * The field resampled by `scale` (model pixels per image pixel), as index tables rather than a copy:
 * working pixel (x, y) is image pixel (columns[x], rows[y]), PIL's nearest rule, as fit-square shrinks a crop.
 */
export interface WorkingGrid {
  scale: number;
  width: number;
  height: number;
  columns: Int32Array;
  rows: Int32Array;
}

export function workingGrid(imageWidth: number, imageHeight: number, scale: number): WorkingGrid {
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`working scale must be a number above 0, got ${scale}`);
  const width = Math.max(1, Math.round(imageWidth * scale));
  const height = Math.max(1, Math.round(imageHeight * scale));
  return { scale, width, height, columns: nearestIndexTable(imageWidth, width), rows: nearestIndexTable(imageHeight, height) };
}

/** The working pixel an image pixel falls in (the inverse of the grid's nearest rule, up to rounding). */
export function workingIndex(imagePosition: number, imageLength: number, workingLength: number): number {
  return Math.min(workingLength - 1, Math.floor(((imagePosition + 0.5) * workingLength) / imageLength));
}

export interface LabelFieldOptions {
  preprocessing: WindowPreprocessing;
  /** Overlap of neighbouring tiles in model pixels (default a quarter of the input). */
  overlap?: number;
  tta?: boolean;
  classWeights?: readonly number[];
  /** Tiles per predictor call (default 8). */
  batchSize?: number;
  onProgress?: (tilesDone: number, tiles: number) => void;
}

function identityTable(length: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => i);
}

/** Reflects an index past either end of an axis of `length` back inside it (numpy 'reflect'), clamping beyond. */
function reflectIndex(i: number, length: number): number {
  const r = i < 0 ? -i : i >= length ? 2 * (length - 1) - i : i;
  return Math.min(Math.max(r, 0), length - 1);
}

/** Tile starts along an axis of `length` grown by `overlap` on both sides (the reflected margin). */
function paddedStarts(length: number, size: number, overlap: number): number[] {
  return tileStarts(length + 2 * overlap, size, overlap).map((s) => s - overlap);
}

/** Number of tiles labelField runs for this grid. */
export function tileCount(grid: Pick<WorkingGrid, 'width' | 'height'>, size: number, overlap: number): number {
  return paddedStarts(grid.width, size, overlap).length * paddedStarts(grid.height, size, overlap).length;
}

/** Class per working pixel (0 background, 1 cytoplasm, 2 nucleus) of the whole field. */
export async function labelField(image: RgbImage, grid: WorkingGrid, predictor: WindowPredictor, options: LabelFieldOptions): Promise<LabelMask> {
  const size = predictor.inputSize;
  const overlap = options.overlap ?? Math.round(size / 4);
  const batchSize = options.batchSize ?? 8;
  const xStarts = paddedStarts(grid.width, size, overlap);
  const yStarts = paddedStarts(grid.height, size, overlap);
  const taper = taperWeights(size, overlap);
  const weight2d = Float32Array.from({ length: size * size }, (_, k) => taper[Math.floor(k / size)] * taper[k % size]);
  const total = xStarts.length * yStarts.length;
  const labels = new Uint8Array(grid.width * grid.height);
  // The band holds working rows [bandTop, bandTop + size): every row a tile of the current tile row touches.
  const bandRows = size;
  const sums = new Float32Array(grid.width * bandRows * NUM_CLASSES);
  const weights = new Float32Array(grid.width * bandRows);
  const tilePixels = size * size * 3;
  // A model that shrinks smoothly ('pad-smooth') sees the field shrunk by the same filter, once (a
  // byte per working pixel and channel, no more than the field itself); otherwise the grid's nearest
  // tables pick the field's pixels.
  const smooth = shrinksSmoothly(options.preprocessing) && grid.scale < 1;
  const source = smooth ? resizeSmooth(image, grid.width, grid.height, 3) : image;
  const columnTable = smooth ? identityTable(grid.width) : grid.columns;
  const rowTable = smooth ? identityTable(grid.height) : grid.rows;
  const columnsOf = xStarts.map((x0) => Int32Array.from({ length: size }, (_, i) => columnTable[reflectIndex(x0 + i, grid.width)]));
  let done = 0;

  for (let r = 0; r < yStarts.length; r++) {
    const bandTop = yStarts[r];
    const rowIndex = Int32Array.from({ length: size }, (_, j) => rowTable[reflectIndex(bandTop + j, grid.height)]);
    for (let first = 0; first < xStarts.length; first += batchSize) {
      const count = Math.min(batchSize, xStarts.length - first);
      const batch = new Float32Array(count * tilePixels);
      for (let t = 0; t < count; t++) pixelsToInput(gatherPixels(source, columnsOf[first + t], rowIndex, 3), options.preprocessing, batch, t * tilePixels);
      const probs = await predictor.predict(batch, count, options.tta ?? false);
      const classes = probs.length / (count * size * size);
      if (classes !== NUM_CLASSES) throw new Error(`field: the model gives ${classes} classes per pixel, expected ${NUM_CLASSES}`);
      for (let t = 0; t < count; t++) {
        const x0 = xStarts[first + t];
        const offset = t * size * size * NUM_CLASSES;
        const i0 = Math.max(0, -x0);
        const i1 = Math.min(size, grid.width - x0);
        for (let j = Math.max(0, -bandTop); j < size && bandTop + j < grid.height; j++) {
          for (let i = i0; i < i1; i++) {
            const w = weight2d[j * size + i];
            const b = j * grid.width + x0 + i;
            const p = offset + (j * size + i) * 3;
            weights[b] += w;
            sums[b * 3] += w * probs[p];
            sums[b * 3 + 1] += w * probs[p + 1];
            sums[b * 3 + 2] += w * probs[p + 2];
          }
        }
      }
      done += count;
      options.onProgress?.(done, total);
    }
    // Rows above the next tile row's top are final: normalise, label, and move the band down.
    const nextTop = r + 1 < yStarts.length ? yStarts[r + 1] : bandTop + size;
    const finished = nextTop - bandTop;
    const from = Math.max(0, -bandTop);
    const to = Math.min(finished, grid.height - bandTop);
    for (let b = from * grid.width; b < to * grid.width; b++) {
      const w = weights[b];
      for (let c = 0; c < NUM_CLASSES; c++) sums[b * NUM_CLASSES + c] /= w;
    }
    if (to > from) {
      const rows = sums.subarray(from * grid.width * NUM_CLASSES, to * grid.width * NUM_CLASSES);
      labels.set(argmaxLabels(rows, NUM_CLASSES, options.classWeights), (bandTop + from) * grid.width);
    }
    sums.copyWithin(0, finished * grid.width * NUM_CLASSES);
    sums.fill(0, (bandRows - finished) * grid.width * NUM_CLASSES);
    weights.copyWithin(0, finished * grid.width);
    weights.fill(0, (bandRows - finished) * grid.width);
  }
  return { width: grid.width, height: grid.height, data: labels };
}

/** Working-scale labels brought to the image's size (each image pixel takes its working pixel's class). */
export function upsampleLabels(labels: LabelMask, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  if (labels.width === 0 || labels.height === 0) return out;
  const columns = Int32Array.from({ length: width }, (_, x) => workingIndex(x, width, labels.width));
  for (let y = 0; y < height; y++) {
    const row = workingIndex(y, height, labels.height) * labels.width;
    for (let x = 0; x < width; x++) out[y * width + x] = labels.data[row + columns[x]];
  }
  return out;
}
