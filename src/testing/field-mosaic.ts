// Synthetic smear fields for the field-mode tests: real crops of the data sets pasted into a field at
// jittered places of a grid, each with the part of its own surroundings near its cell (red cells
// touching it included; a neighbour the data set leaves unlabelled, cut by the crop's edge, not),
// on a background tiled from the crops' own background; with the truth as full-size semantic and
// instance masks, and each crop as it was pasted, to segment alone. Nothing is written to disk.
import { join } from 'node:path';
import { decodeImage, decodeMaskLevels } from '../data/decode.js';
import { labelsFromGray } from '../data/masks.js';
import { createRng, randomInt } from '../data/random.js';
import type { LabelMask, RgbImage } from '../data/types.js';
import { dilate } from '../infer/morphology.js';

export interface Crop {
  id: string;
  image: RgbImage;
  mask: LabelMask;
}

export async function readCrop(folder: string, id: string): Promise<Crop> {
  const image = await decodeImage(join(folder, `${id}.bmp`));
  const mask = labelsFromGray(await decodeMaskLevels(join(folder, `${id}.png`)), { maxDistance: 127 }).mask;
  return { id, image, mask };
}

export interface PlacedCrop {
  crop: Crop;
  /** Top-left corner of the crop in the field (may be negative or reach past it: a cut cell). */
  x: number;
  y: number;
  /** The crop as pasted (its cell and surroundings, the field's background beyond), whole even where the field cuts it. */
  pasted: RgbImage;
}

export interface Mosaic {
  image: RgbImage;
  /** Truth, semantic (0/1/2), at the field's size. */
  mask: LabelMask;
  /** Truth instances: 0 none, k = placed[k - 1]'s cell. */
  instances: Uint16Array;
  placed: PlacedCrop[];
}

/**
 * The largest square in one of the crop's corners whose pixels are all background (at least 8 px),
 * flipped so that it can be mirrored across the field without a seam.
 */
function backgroundPatch(crop: Crop): RgbImage {
  const { width, height } = crop.mask;
  const clear = (x0: number, y0: number, side: number) => {
    for (let y = y0; y < y0 + side; y++) for (let x = x0; x < x0 + side; x++) if (crop.mask.data[y * width + x] !== 0) return false;
    return true;
  };
  let best = { x: 0, y: 0, side: 0 };
  for (const [cx, cy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
    for (let side = Math.min(width, height); side >= 8; side--) {
      const x0 = cx === 0 ? 0 : width - side;
      const y0 = cy === 0 ? 0 : height - side;
      if (clear(x0, y0, side)) {
        if (side > best.side) best = { x: x0, y: y0, side };
        break;
      }
    }
  }
  if (best.side === 0) throw new Error(`crop ${crop.id} has no background corner of 8 px or more`);
  const data = new Uint8Array(best.side * best.side * 3);
  for (let y = 0; y < best.side; y++) {
    const from = ((best.y + y) * width + best.x) * 3;
    data.set(crop.image.data.subarray(from, from + best.side * 3), y * best.side * 3);
  }
  return { width: best.side, height: best.side, data };
}

/** The background patch mirrored across the plane (reflect tiling: continuous everywhere): its pixel at (x, y). */
function tiledBackground(patch: RgbImage): (x: number, y: number) => Uint8Array {
  const fold = (i: number, n: number) => {
    const m = ((i % (2 * n)) + 2 * n) % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  };
  return (x, y) => {
    const s = (fold(y, patch.height) * patch.width + fold(x, patch.width)) * 3;
    return patch.data.subarray(s, s + 3);
  };
}

/** Pixels of the crop within `context` cell diameters of its cell (by dilation of the truth mask). */
function nearCell(crop: Crop, context: number): Uint8Array {
  const { width, height, data } = crop.mask;
  const cell = Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0));
  const area = cell.reduce((n, v) => n + v, 0);
  return dilate(cell, width, height, Math.round(context * Math.sqrt((4 * area) / Math.PI)));
}

/** The background of the crop with the largest clear corner, mirrored across the plane. */
function backgroundOf(crops: Crop[]): (x: number, y: number) => Uint8Array {
  return tiledBackground(crops.map(backgroundPatch).reduce((a, b) => (b.width > a.width ? b : a)));
}

/** A field of the crops' background alone (red cells and plasma, no white cell). */
export function backgroundField(crops: Crop[], width: number, height: number): RgbImage {
  const background = backgroundOf(crops);
  const image: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.set(background(x, y), (y * width + x) * 3);
  return image;
}

export interface MosaicOptions {
  width: number;
  height: number;
  columns: number;
  rows: number;
  seed: number;
  /** Place the last crop so that this share of its width lies past the field's right edge (a cut cell). */
  cutLast?: number;
  /** How much of a crop's surroundings is pasted with its cell, in cell diameters (default 0.3). */
  context?: number;
}

/**
 * `crops` (columns x rows of them, in order) pasted whole, each at a random place inside its grid
 * cell, on the background of the crop with the largest clear corner.
 */
export function buildMosaic(crops: Crop[], options: MosaicOptions): Mosaic {
  const { width, height, columns, rows } = options;
  if (crops.length !== columns * rows) throw new Error(`a ${columns}x${rows} mosaic needs ${columns * rows} crops, got ${crops.length}`);
  const rng = createRng(options.seed);
  const background = backgroundOf(crops);
  const image = backgroundField(crops, width, height);
  const mask: LabelMask = { width, height, data: new Uint8Array(width * height) };
  const instances = new Uint16Array(width * height);
  const cellW = Math.floor(width / columns);
  const cellH = Math.floor(height / rows);
  const placed: PlacedCrop[] = crops.map((crop, i) => {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const slackX = Math.max(0, cellW - crop.image.width);
    const slackY = Math.max(0, cellH - crop.image.height);
    let x = col * cellW + randomInt(rng, slackX + 1);
    const y = row * cellH + randomInt(rng, slackY + 1);
    if (i === crops.length - 1 && options.cutLast !== undefined) x = width - Math.round(crop.image.width * (1 - options.cutLast));
    const near = nearCell(crop, options.context ?? 0.3);
    const pasted: RgbImage = { width: crop.image.width, height: crop.image.height, data: new Uint8Array(crop.image.data.length) };
    for (let cy = 0; cy < crop.image.height; cy++) {
      for (let cx = 0; cx < crop.image.width; cx++) {
        const s = cy * crop.image.width + cx;
        pasted.data.set(near[s] !== 0 ? crop.image.data.subarray(s * 3, s * 3 + 3) : background(x + cx, y + cy), s * 3);
      }
    }
    return { crop, x, y, pasted };
  });
  placed.forEach(({ crop, x, y, pasted }, i) => {
    for (let cy = 0; cy < crop.image.height; cy++) {
      for (let cx = 0; cx < crop.image.width; cx++) {
        const fx = x + cx;
        const fy = y + cy;
        if (fx < 0 || fy < 0 || fx >= width || fy >= height) continue;
        const s = cy * crop.image.width + cx;
        const p = fy * width + fx;
        image.data.set(pasted.data.subarray(s * 3, s * 3 + 3), p * 3);
        mask.data[p] = crop.mask.data[s];
        instances[p] = crop.mask.data[s] !== 0 ? i + 1 : 0;
      }
    }
  });
  return { image, mask, instances, placed };
}

/** Dice of a class set over pixels: `pick` says which labels count (1 when both empty). */
export function diceOf(predicted: ArrayLike<number>, truth: ArrayLike<number>, pick: (label: number) => boolean): number {
  let both = 0;
  let sum = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = pick(predicted[i]);
    const t = pick(truth[i]);
    if (p && t) both++;
    sum += (p ? 1 : 0) + (t ? 1 : 0);
  }
  return sum === 0 ? 1 : (2 * both) / sum;
}

/** Nucleus, cytoplasm and whole-cell Dice of a labelled region against the truth. */
export function cellDice(predicted: ArrayLike<number>, truth: ArrayLike<number>): { nucleus: number; cytoplasm: number; wholeCell: number } {
  return {
    nucleus: diceOf(predicted, truth, (v) => v === 2),
    cytoplasm: diceOf(predicted, truth, (v) => v === 1),
    wholeCell: diceOf(predicted, truth, (v) => v !== 0),
  };
}

/**
 * Each truth cell's best-overlapping found cell (by instance labels at the field's size), or 0 when
 * none covers at least half of it; found cells no truth cell claims are `extra`.
 */
export function matchCells(truth: Uint16Array, found: Uint16Array, truthCount: number, foundCount: number): { match: number[]; extra: number[] } {
  const overlap = new Map<number, number>();
  const truthArea = new Array<number>(truthCount + 1).fill(0);
  for (let p = 0; p < truth.length; p++) {
    if (truth[p] === 0) continue;
    truthArea[truth[p]]++;
    if (found[p] !== 0) overlap.set(truth[p] * 65536 + found[p], (overlap.get(truth[p] * 65536 + found[p]) ?? 0) + 1);
  }
  const match = Array.from({ length: truthCount }, (_, i) => {
    let best = 0;
    let bestArea = 0;
    for (let f = 1; f <= foundCount; f++) {
      const a = overlap.get((i + 1) * 65536 + f) ?? 0;
      if (a > bestArea) [best, bestArea] = [f, a];
    }
    return bestArea >= 0.5 * truthArea[i + 1] ? best : 0;
  });
  const claimed = new Set(match);
  return { match, extra: Array.from({ length: foundCount }, (_, i) => i + 1).filter((f) => !claimed.has(f)) };
}

/** A rectangle of an image (clipped to it) with the truth of one cell there. */
export function rectOf(m: Mosaic, cell: number, rect: { x: number; y: number; width: number; height: number }): { image: RgbImage; truth: Uint8Array; rect: { x: number; y: number; width: number; height: number } } {
  const x0 = Math.max(0, rect.x);
  const y0 = Math.max(0, rect.y);
  const x1 = Math.min(m.image.width, rect.x + rect.width);
  const y1 = Math.min(m.image.height, rect.y + rect.height);
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h * 3);
  const truth = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y0 + y) * m.image.width + x0 + x;
      data.set(m.image.data.subarray(p * 3, p * 3 + 3), (y * w + x) * 3);
      truth[y * w + x] = m.instances[p] === cell ? m.mask.data[p] : 0;
    }
  }
  return { image: { width: w, height: h, data }, truth, rect: { x: x0, y: y0, width: w, height: h } };
}

/**
 * Two crops' cells touching side by side (on a field of at least width x height): `a` pasted with its surroundings at (20, 20), `b`'s cell
 * (and its surroundings up to `context` diameters, never over `a`'s cell) just right of it, as
 * close as leaves `gap` pixels where the two come closest in a row (0: side by side), on the
 * crops' background.
 */
export function buildTouchingPair(a: Crop, b: Crop, options: { gap?: number; context?: number; width?: number; height?: number } = {}): Mosaic {
  const gap = options.gap ?? 0;
  const width = Math.max(options.width ?? 0, a.image.width + b.image.width + 40);
  const height = Math.max(options.height ?? 0, Math.max(a.image.height, b.image.height) + 40);
  const image = backgroundField([a, b], width, height);
  const mask: LabelMask = { width, height, data: new Uint8Array(width * height) };
  const instances = new Uint16Array(width * height);
  const paste = (crop: Crop, x: number, y: number, near: Uint8Array, k: number) => {
    for (let cy = 0; cy < crop.image.height; cy++) {
      for (let cx = 0; cx < crop.image.width; cx++) {
        const s = cy * crop.image.width + cx;
        const p = (y + cy) * width + x + cx;
        if (near[s] === 0 || x + cx < 0 || x + cx >= width || (k === 2 && instances[p] === 1)) continue;
        image.data.set(crop.image.data.subarray(s * 3, s * 3 + 3), p * 3);
        mask.data[p] = crop.mask.data[s];
        instances[p] = crop.mask.data[s] !== 0 ? k : 0;
      }
    }
  };
  paste(a, 20, 20, nearCell(a, 0.3), 1);
  const by = 20 + Math.round((a.image.height - b.image.height) / 2);
  // Far enough right that in no row b's cell starts before a's ends (plus the gap).
  let bx = -Infinity;
  for (let cy = 0; cy < b.image.height; cy++) {
    let right = -1;
    for (let x = 0; x < width; x++) if (instances[(by + cy) * width + x] === 1) right = x;
    let left = -1;
    for (let cx = 0; cx < b.image.width && left < 0; cx++) if (b.mask.data[cy * b.image.width + cx] !== 0) left = cx;
    if (right >= 0 && left >= 0) bx = Math.max(bx, right + 1 + gap - left);
  }
  if (!Number.isFinite(bx)) throw new Error(`the cells of ${a.id} and ${b.id} share no row`);
  paste(b, bx, by, nearCell(b, options.context ?? 0.15), 2);
  return { image, mask, instances, placed: [{ crop: a, x: 20, y: 20, pasted: a.image }, { crop: b, x: bx, y: by, pasted: b.image }] };
}
