// White cells as separate objects in stage 1's working-scale labels: one seed per nucleus (its lobes
// grouped), every cell pixel given to the seed it is geodesically nearest to through the cell, so
// touching cells come apart along the line between their nuclei. Pure (no Node imports).
//
//   const found = findInstances(labels, instanceLimits(WORKING_CELL_DIAMETER));   // labels: 0/1/2 at the working scale
//   found.cells[0].centroidX; found.labels[y * width + x];     // 0 = no cell, k = found.cells[k - 1]
import type { LabelMask } from '../data/types.js';
import { connectedComponents, dilate } from '../infer/morphology.js';

const NUCLEUS = 2;

/** Thresholds in working pixels; see instanceLimits for how they follow from the working cell diameter. */
export interface InstanceLimits {
  /** Nucleus parts at most twice this far apart through the cell seed one part (a lobed nucleus may seed several: mergeParts joins them). */
  lobeJoinRadius: number;
  /** A nucleus group smaller than this seeds no cell (a dark speck, not a white cell's nucleus). */
  minNucleusArea: number;
  /** A cell smaller than this is dropped. */
  minCellArea: number;
  /** Two touching parts whose shared border is at least this share of their joint equivalent diameter are one cell (see mergeParts). */
  mergeContact: number;
}

/**
 * Limits for cells of `diameter` working pixels. Nucleus parts join into one seed only across gaps
 * of up to 0.06 diameters (radius 0.03), so that the nuclei of two touching cells seed apart, while
 * the lobes of one cell lie up to 0.16 apart in the training masks; lobes left apart are joined by
 * mergeParts, whose border rule (half the joint diameter) kept every one of the 280 training and
 * validation crops of both sets one cell. The smallest training cell and nucleus had 0.56 and 0.32
 * of their source's median diameter; these floors (0.3 and 0.15 diameters, by equivalent diameter)
 * leave room below that, while cutting specks.
 */
export function instanceLimits(diameter: number): InstanceLimits {
  const disk = (d: number) => (Math.PI / 4) * d * d;
  return {
    lobeJoinRadius: Math.max(1, Math.round(0.03 * diameter)),
    minNucleusArea: Math.max(4, Math.round(disk(0.15 * diameter))),
    minCellArea: Math.max(16, Math.round(disk(0.3 * diameter))),
    mergeContact: 0.5,
  };
}

/** One white cell found at the working scale. */
export interface FoundCell {
  /** 1..n, in reading order (see readingOrder). */
  label: number;
  area: number;
  nucleusArea: number;
  centroidX: number;
  centroidY: number;
  /** Bounding box, inclusive-exclusive, in working pixels. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Instances {
  width: number;
  height: number;
  /** 0 where there is no cell, k for pixels of cells[k - 1]. */
  labels: Int32Array;
  cells: FoundCell[];
}

const DX8 = [1, -1, 0, 0, 1, 1, -1, -1];
const DY8 = [0, 0, 1, -1, 1, -1, 1, -1];

/**
 * Grows the non-zero labels of `labels` in place, breadth first (8-connected steps), into pixels
 * where `allowed` is non-zero, at most `steps` steps (Infinity: as far as they reach); a pixel goes
 * to the label that reaches it first, ties to the lower raster position's label.
 */
export function growLabels(labels: Int32Array, width: number, height: number, allowed: (p: number) => boolean, steps: number): void {
  let frontier: number[] = [];
  for (let p = 0; p < labels.length; p++) if (labels[p] !== 0) frontier.push(p);
  for (let step = 0; step < steps && frontier.length > 0; step++) {
    const next: number[] = [];
    for (const p of frontier) {
      const x = p % width;
      const y = (p - x) / width;
      for (let k = 0; k < 8; k++) {
        const nx = x + DX8[k];
        const ny = y + DY8[k];
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const q = ny * width + nx;
        if (labels[q] === 0 && allowed(q)) {
          labels[q] = labels[p];
          next.push(q);
        }
      }
    }
    frontier = next;
  }
}

/**
 * The white cells of a working-scale label mask. Seeds: 8-connected parts of the nucleus dilated by
 * lobeJoinRadius within the cell (cytoplasm ∪ nucleus); seeds with too little nucleus are dropped. Each cell pixel then goes
 * to the seed geodesically nearest to it inside the cell; cell components without a seed (red cells
 * taken for cytoplasm, debris) belong to no cell. Parts that share a long border are one cell whose
 * nucleus came in several pieces (lobes, or a nucleus cut by a pale gap or the image's edge) and are
 * merged (mergeParts); two touching cells meet at a neck and stay two. Cells under minCellArea are
 * dropped.
 */
export function findInstances(mask: LabelMask, limits: InstanceLimits): Instances {
  const { width, height, data } = mask;
  const cell = new Uint8Array(data.length);
  const nucleus = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) {
    cell[p] = data[p] !== 0 ? 1 : 0;
    nucleus[p] = data[p] === NUCLEUS ? 1 : 0;
  }
  const grown = dilate(nucleus, width, height, limits.lobeJoinRadius);
  for (let p = 0; p < grown.length; p++) grown[p] &= cell[p];
  const { labels, count: seedCount } = connectedComponents(grown, width, height, 8);
  const nucleusPerSeed = new Float64Array(seedCount + 1);
  for (let p = 0; p < data.length; p++) if (nucleus[p] !== 0) nucleusPerSeed[labels[p]]++;
  for (let p = 0; p < data.length; p++) if (labels[p] !== 0 && nucleusPerSeed[labels[p]] < limits.minNucleusArea) labels[p] = 0;
  growLabels(labels, width, height, (q) => cell[q] !== 0, Infinity);
  mergeParts(labels, width, limits.mergeContact);
  return numberCells(labels, width, height, nucleus, seedCount, limits.minCellArea);
}

/**
 * Merges labels that are parts of one cell: two parts whose shared border (4-neighbour pixel pairs)
 * is at least `ratio` x the equivalent diameter of the two together. The parts a lobed nucleus
 * seeds in one cell split it along borders running across it; two white cells that touch meet at a
 * neck, a border short beside their size (a small cut neighbour pressed against a big cell too).
 */
function mergeParts(labels: Int32Array, width: number, ratio: number): void {
  const areas = new Map<number, number>();
  const contacts = new Map<string, number>();
  const touch = (a: number, b: number) => {
    if (a === b || a === 0 || b === 0) return;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    contacts.set(key, (contacts.get(key) ?? 0) + 1);
  };
  for (let p = 0; p < labels.length; p++) {
    const k = labels[p];
    if (k === 0) continue;
    areas.set(k, (areas.get(k) ?? 0) + 1);
    if ((p + 1) % width !== 0) touch(k, labels[p + 1]);
    if (p + width < labels.length) touch(k, labels[p + width]);
  }
  const parent = new Map<number, number>();
  const root = (k: number): number => {
    let r = k;
    while (parent.has(r)) r = parent.get(r)!;
    return r;
  };
  for (const [key, length] of contacts) {
    const [a, b] = key.split(',').map(Number);
    const diameter = Math.sqrt((4 * (areas.get(a)! + areas.get(b)!)) / Math.PI);
    if (length >= ratio * diameter && root(a) !== root(b)) parent.set(root(b), root(a));
  }
  if (parent.size === 0) return;
  for (let p = 0; p < labels.length; p++) if (labels[p] !== 0) labels[p] = root(labels[p]);
}

/**
 * Cells in reading order: in rows from the top, a row being the cells whose centroids lie less than
 * half the median cell diameter below its first (topmost) cell's, each row from left to right.
 */
export function readingOrder<T extends { centroidX: number; centroidY: number; area: number }>(cells: readonly T[]): T[] {
  if (cells.length === 0) return [];
  const diameters = cells.map((c) => Math.sqrt((4 * c.area) / Math.PI)).sort((a, b) => a - b);
  const band = diameters[diameters.length >> 1] / 2;
  const byY = [...cells].sort((a, b) => a.centroidY - b.centroidY || a.centroidX - b.centroidX);
  const ordered: T[] = [];
  for (let start = 0; start < byY.length; ) {
    let end = start + 1;
    while (end < byY.length && byY[end].centroidY - byY[start].centroidY < band) end++;
    ordered.push(...byY.slice(start, end).sort((a, b) => a.centroidX - b.centroidX));
    start = end;
  }
  return ordered;
}

/** Measures each label (1..count), drops the small ones and renumbers the rest 1..n in reading order. */
function numberCells(labels: Int32Array, width: number, height: number, nucleus: Uint8Array, count: number, minCellArea: number): Instances {
  const stats: Array<FoundCell | undefined> = new Array(count + 1);
  for (let p = 0; p < labels.length; p++) {
    const k = labels[p];
    if (k === 0) continue;
    const x = p % width;
    const y = (p - x) / width;
    let s = stats[k];
    if (!s) stats[k] = s = { label: k, area: 0, nucleusArea: 0, centroidX: 0, centroidY: 0, x0: x, y0: y, x1: x + 1, y1: y + 1 };
    s.area++;
    s.nucleusArea += nucleus[p];
    s.centroidX += x;
    s.centroidY += y;
    if (x < s.x0) s.x0 = x;
    if (x >= s.x1) s.x1 = x + 1;
    if (y >= s.y1) s.y1 = y + 1;
  }
  const kept = stats.filter((s): s is FoundCell => s !== undefined && s.area >= minCellArea);
  for (const s of kept) {
    s.centroidX /= s.area;
    s.centroidY /= s.area;
  }
  kept.splice(0, kept.length, ...readingOrder(kept));
  const renumber = new Int32Array(count + 1);
  kept.forEach((s, i) => (renumber[s.label] = i + 1));
  for (let p = 0; p < labels.length; p++) if (labels[p] !== 0) labels[p] = renumber[labels[p]];
  kept.forEach((s, i) => (s.label = i + 1));
  return { width, height, labels, cells: kept };
}
