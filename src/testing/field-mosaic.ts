// Synthetic smear fields for the field-mode tests: real crops of the data sets pasted whole into a
// field at jittered places of a grid, on a background tiled from the crops' own background, with
// the truth as full-size semantic and instance masks. Nothing is written to disk.
import { join } from 'node:path';
import { decodeImage, decodeMaskLevels } from '../data/decode.js';
import { labelsFromGray } from '../data/masks.js';
import { createRng, randomInt } from '../data/random.js';
import type { LabelMask, RgbImage } from '../data/types.js';

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

/** The background patch mirrored across a field of width x height (reflect tiling: continuous everywhere). */
function tiledBackground(patch: RgbImage, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const fold = (i: number, n: number) => {
    const m = i % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (fold(y, patch.height) * patch.width + fold(x, patch.width)) * 3;
      data.set(patch.data.subarray(s, s + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

export interface MosaicOptions {
  width: number;
  height: number;
  columns: number;
  rows: number;
  seed: number;
  /** Place the last crop so that this share of its width lies past the field's right edge (a cut cell). */
  cutLast?: number;
}

/**
 * `crops` (columns x rows of them, in order) pasted whole, each at a random place inside its grid
 * cell, on the background of the crop with the largest clear corner.
 */
export function buildMosaic(crops: Crop[], options: MosaicOptions): Mosaic {
  const { width, height, columns, rows } = options;
  if (crops.length !== columns * rows) throw new Error(`a ${columns}x${rows} mosaic needs ${columns * rows} crops, got ${crops.length}`);
  const rng = createRng(options.seed);
  const patches = crops.map(backgroundPatch);
  const image = tiledBackground(patches.reduce((a, b) => (b.width > a.width ? b : a)), width, height);
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
    return { crop, x, y };
  });
  placed.forEach(({ crop, x, y }, i) => {
    for (let cy = 0; cy < crop.image.height; cy++) {
      for (let cx = 0; cx < crop.image.width; cx++) {
        const fx = x + cx;
        const fy = y + cy;
        if (fx < 0 || fy < 0 || fx >= width || fy >= height) continue;
        const s = cy * crop.image.width + cx;
        const p = fy * width + fx;
        image.data.set(crop.image.data.subarray(s * 3, s * 3 + 3), p * 3);
        mask.data[p] = crop.mask.data[s];
        instances[p] = crop.mask.data[s] !== 0 ? i + 1 : 0;
      }
    }
  });
  return { image, mask, instances, placed };
}
