// Synthetic red cells for augmentation: discs painted on the background around the white cell, so a
// model trained on crops without intact red cells (Dataset 1's rapid stain lyses them to faint ghosts)
// learns that a round, evenly stained disc pressed against the cell is not cytoplasm (Dataset 2's
// CellaVision crops are full of them, and the Dataset 1 model took them in). Pure; new arrays out.
//
// Each disc attenuates the pixels under it as a stained layer would (Beer-Lambert: value times
// exp(-density)), with a random red-cell absorbance (most in green, then blue, least in red), an
// optional paler centre (central pallor) and a soft edge. Only background pixels are painted, so the
// mask is unchanged and a disc lies under the white cell where the two meet.
import { createRng, uniform, type Rng } from './random.js';
import type { LabelMask, RgbImage } from './types.js';

const BACKGROUND = 0;

/** One red cell to paint, in pixels of the image it is painted on. */
export interface RedCellDisc {
  cx: number;
  cy: number;
  /** Semi-axes of the ellipse and its rotation in radians. */
  rx: number;
  ry: number;
  angle: number;
  /** Optical density the disc adds in R, G and B (less in its pale centre). */
  density: readonly [number, number, number];
  /** How much paler the centre is (0 none .. 1 clear), and the pale part's radius as a share of the disc's. */
  pallor: number;
  pallorRadius: number;
}

// Absorbance of an eosin/haemoglobin-stained red cell, from Dataset 2's discs on their bright ground
// (about 0.2, 0.55, 0.43 in R, G, B); each component is jittered per disc so that other stains' red
// cells (pinker, more orange, greyer) are spanned too.
const RED_CELL_DENSITY = [0.2, 0.55, 0.43] as const;

/** Centroid and equivalent radius of the cell (every non-background pixel), or null without one. */
function cellExtent(mask: LabelMask): { x: number; y: number; radius: number } | null {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0, p = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++, p++) {
      if (mask.data[p] !== BACKGROUND) {
        n++;
        sx += x;
        sy += y;
      }
    }
  }
  return n === 0 ? null : { x: sx / n, y: sy / n, radius: Math.sqrt(n / Math.PI) };
}

/**
 * Draws `count` red cells around the mask's cell: each of 0.4-0.9 times the white cell's equivalent
 * radius (a red cell is 7-8 µm, a white one 7-20), its centre at the cell's radius plus -0.3 to 1.2
 * of its own from the cell's centroid (from pressed under the cell's edge to a little apart), in any
 * direction. A mask without a cell gets discs anywhere, a third of the image's side or less.
 */
export function sampleRedCells(mask: LabelMask, count: number, rng: Rng): RedCellDisc[] {
  const cell = cellExtent(mask);
  const side = Math.min(mask.width, mask.height);
  const discs: RedCellDisc[] = [];
  for (let k = 0; k < count; k++) {
    const r = cell ? cell.radius * uniform(rng, 0.4, 0.9) : side * uniform(rng, 0.1, 0.33);
    const theta = uniform(rng, 0, 2 * Math.PI);
    const reach = cell ? cell.radius + r * uniform(rng, -0.3, 1.2) : 0;
    const amount = uniform(rng, 0.3, 1.3);
    const jittered = (d: number): number => d * amount * uniform(rng, 0.6, 1.4);
    const density: [number, number, number] = [jittered(RED_CELL_DENSITY[0]), jittered(RED_CELL_DENSITY[1]), jittered(RED_CELL_DENSITY[2])];
    const squash = uniform(rng, 0.8, 1);
    const angle = uniform(rng, 0, Math.PI);
    const pallor = rng() < 0.5 ? uniform(rng, 0.2, 0.8) : 0;
    const pallorRadius = uniform(rng, 0.3, 0.6);
    discs.push({
      cx: cell ? cell.x + Math.cos(theta) * reach : uniform(rng, 0, mask.width),
      cy: cell ? cell.y + Math.sin(theta) * reach : uniform(rng, 0, mask.height),
      rx: r,
      ry: r * squash,
      angle,
      density,
      pallor,
      pallorRadius,
    });
  }
  return discs;
}

/** Paints the discs on the image's background pixels (as `mask` says); the image is not changed. */
export function paintRedCells(image: RgbImage, mask: LabelMask, discs: readonly RedCellDisc[]): RgbImage {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`red cells: image is ${image.width}x${image.height} but its mask is ${mask.width}x${mask.height}`);
  }
  const { width, height } = image;
  // Optical density added per pixel and channel; discs that overlap add up, as stacked cells would.
  const added = new Float32Array(width * height * 3);
  for (const d of discs) {
    const cos = Math.cos(d.angle);
    const sin = Math.sin(d.angle);
    const reach = Math.max(d.rx, d.ry) + 1;
    const x0 = Math.max(0, Math.floor(d.cx - reach));
    const x1 = Math.min(width - 1, Math.ceil(d.cx + reach));
    const y0 = Math.max(0, Math.floor(d.cy - reach));
    const y1 = Math.min(height - 1, Math.ceil(d.cy + reach));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const p = y * width + x;
        if (mask.data[p] !== BACKGROUND) continue;
        const dx = x - d.cx;
        const dy = y - d.cy;
        const u = (dx * cos + dy * sin) / d.rx;
        const v = (-dx * sin + dy * cos) / d.ry;
        const rho = Math.hypot(u, v);
        // A one-pixel soft edge: the share of the pixel inside the ellipse, roughly.
        const edge = Math.min(1, Math.max(0, (1 - rho) * Math.min(d.rx, d.ry) + 0.5));
        if (edge <= 0) continue;
        const pale = d.pallor > 0 && rho < d.pallorRadius ? d.pallor * (1 - (rho / d.pallorRadius) ** 2) : 0;
        const weight = edge * (1 - pale);
        for (let c = 0; c < 3; c++) added[p * 3 + c] += weight * d.density[c];
      }
    }
  }
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = added[i] === 0 ? image.data[i] : Math.round(image.data[i] * Math.exp(-added[i]));
  }
  return { width, height, data: out };
}

/** `count` red cells drawn from `seed` and painted: what augmentation applies. */
export function addRedCells(image: RgbImage, mask: LabelMask, count: number, seed: number): RgbImage {
  return paintRedCells(image, mask, sampleRedCells(mask, count, createRng(seed)));
}
