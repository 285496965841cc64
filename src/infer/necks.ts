// Where a binary object narrows: the exact Euclidean distance transform, and the object split into
// parts joined only by necks (a watershed on that distance), the same at any scale; lobes of a nucleus.
//
//   const parts = splitAtNecks(nucleus, width, height, 0.75); // parts.count lobes, crumbs included
import { checkSize, DX8, DY8, type Components } from './morphology.js';

/**
 * 1-D squared distance transform of f (0 at sites, Infinity elsewhere) by the lower envelope of
 * parabolas (Felzenszwalb & Huttenlocher 2012), into out; v and z are scratch of length n and n + 1.
 */
function squaredDistance1d(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    while (k >= 0) {
      const s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = k === 0 ? -Infinity : (f[q] + q * q - (f[v[k - 1]] + v[k - 1] * v[k - 1])) / (2 * q - 2 * v[k - 1]);
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    out[q] = (q - v[j]) ** 2 + f[v[j]];
  }
}

/**
 * Exact Euclidean distance from each foreground pixel's centre to the nearest background pixel's
 * centre (0 on background; 1 for a pixel beside the background), by two 1-D passes: O(pixels).
 * Pixels outside the image count as foreground, as in erosion, so an object cut by the image edge is
 * as thick as it looks inside; with no background pixel at all every distance is Infinity.
 */
export function distanceTransform(binary: Uint8Array, width: number, height: number): Float64Array {
  checkSize(binary, width, height);
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const line = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const squared = new Float64Array(width * height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = binary[y * width + x] === 0 ? 0 : Infinity;
    squaredDistance1d(f, height, line, v, z);
    for (let y = 0; y < height; y++) squared[y * width + x] = line[y];
  }
  for (let y = 0; y < height; y++) {
    squaredDistance1d(squared.subarray(y * width, (y + 1) * width), width, line, v, z);
    for (let x = 0; x < width; x++) squared[y * width + x] = Math.sqrt(line[x]);
  }
  return squared;
}

/**
 * The foreground pixels, farthest from the background first, ties in raster order. Squared distances
 * are whole numbers, so (largest - own) x pixels + index is an exact key whenever it stays below 2^53
 * (any image up to about 60 megapixels), and a typed-array sort of it is several times faster than a
 * comparator's; past that, or without background (Infinity), the comparator sorts.
 */
function floodOrder(binary: Uint8Array, distance: Float64Array): Float64Array {
  const n = binary.length;
  let count = 0;
  let largest = 0;
  for (let p = 0; p < n; p++) {
    if (binary[p] === 0) continue;
    count++;
    largest = Math.max(largest, distance[p]);
  }
  const order = new Float64Array(count);
  const largestSquared = Math.round(largest * largest);
  const exact = Number.isFinite(largest) && (largestSquared + 1) * n <= Number.MAX_SAFE_INTEGER;
  for (let p = 0, i = 0; p < n; p++) {
    if (binary[p] !== 0) order[i++] = exact ? (largestSquared - Math.round(distance[p] * distance[p])) * n + p : p;
  }
  if (!exact) return order.sort((a, b) => distance[b] - distance[a] || a - b);
  order.sort();
  for (let i = 0; i < count; i++) order[i] %= n;
  return order;
}

/** Objects of more pixels than this are split at a coarser working scale (see splitAtNecks). */
export const MAX_WORKING_AREA = 40_000;

/**
 * Splits the foreground into parts joined only by necks, whatever its scale: a watershed that floods
 * the distance to the boundary (distanceTransform - 1/2, the half-width of the object there) from its
 * maxima downwards with union-find. Where two basins meet at half-width s, the lower one of peak
 * half-width p is kept apart when s < neckRatio x p (its neck is narrower than neckRatio times its
 * own thickness), else merged: bumps on the outline and the waves of an even band merge, lobes on a
 * filament or a pinch stay apart. Every foreground pixel ends in one part, 8-connected at the working
 * scale; parts are numbered in raster order of their first pixel, areas as in connectedComponents.
 * Being a ratio of lengths the test needs no fine grid: an object of more than maxWorkingArea pixels
 * is flooded on blocks of f x f pixels (a block belongs to it if any of its pixels does), f the
 * smallest that brings it under that area, which keeps a 3000 x 3000 image as quick as a crop.
 */
export function splitAtNecks(binary: Uint8Array, width: number, height: number, neckRatio: number, maxWorkingArea = MAX_WORKING_AREA): Components {
  if (!(neckRatio >= 0 && neckRatio <= 1)) throw new Error(`neckRatio must be between 0 and 1, got ${neckRatio}`);
  if (!(maxWorkingArea >= 1)) throw new Error(`maxWorkingArea must be at least 1 pixel, got ${maxWorkingArea}`);
  checkSize(binary, width, height);
  let area = 0;
  for (let p = 0; p < binary.length; p++) if (binary[p] !== 0) area++;
  const factor = Math.ceil(Math.sqrt(area / maxWorkingArea));
  if (factor <= 1) return splitInBox(binary, width, height, neckRatio);
  const coarseWidth = Math.ceil(width / factor);
  const coarse = new Uint8Array(coarseWidth * Math.ceil(height / factor));
  const blockOf = (p: number): number => {
    const x = p % width;
    return Math.floor((p - x) / width / factor) * coarseWidth + Math.floor(x / factor);
  };
  for (let p = 0; p < binary.length; p++) if (binary[p] !== 0) coarse[blockOf(p)] = 1;
  const inBlocks = splitInBox(coarse, coarseWidth, coarse.length / coarseWidth, neckRatio);
  // Back to the pixels, renumbered in their own raster order.
  const labels = new Int32Array(width * height);
  const renumbered = new Int32Array(inBlocks.count + 1);
  const areas: number[] = [];
  for (let p = 0; p < binary.length; p++) {
    if (binary[p] === 0) continue;
    const part = inBlocks.labels[blockOf(p)];
    if (renumbered[part] === 0) {
      areas.push(0);
      renumbered[part] = areas.length;
    }
    labels[p] = renumbered[part];
    areas[labels[p] - 1]++;
  }
  return { labels, count: areas.length, areas };
}

/** splitAtNecks at the grid given. */
function splitInBox(binary: Uint8Array, width: number, height: number, neckRatio: number): Components {
  // Work in the foreground's bounding box with a 1-px ring of background where the image has one:
  // every distance is the same there (the nearest background pixel outside the box is never nearer
  // than the ring), and a nucleus is a small part of a large image.
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (binary[y * width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y0 === height) y0 = y;
      y1 = y;
    }
  }
  if (x1 < 0) return { labels: new Int32Array(width * height), count: 0, areas: [] };
  x0 = Math.max(0, x0 - 1);
  y0 = Math.max(0, y0 - 1);
  x1 = Math.min(width - 1, x1 + 1);
  y1 = Math.min(height - 1, y1 + 1);
  if (x0 === 0 && y0 === 0 && x1 === width - 1 && y1 === height - 1) return floodFromPeaks(binary, width, height, neckRatio);
  const boxWidth = x1 - x0 + 1;
  const box = new Uint8Array(boxWidth * (y1 - y0 + 1));
  for (let y = y0; y <= y1; y++) box.set(binary.subarray(y * width + x0, y * width + x1 + 1), (y - y0) * boxWidth);
  const inBox = floodFromPeaks(box, boxWidth, y1 - y0 + 1, neckRatio);
  const labels = new Int32Array(width * height);
  for (let y = y0; y <= y1; y++) labels.set(inBox.labels.subarray((y - y0) * boxWidth, (y - y0 + 1) * boxWidth), y * width + x0);
  return { labels, count: inBox.count, areas: inBox.areas };
}

/** splitAtNecks within a box that holds the whole foreground. */
function floodFromPeaks(binary: Uint8Array, width: number, height: number, neckRatio: number): Components {
  const halfWidth = distanceTransform(binary, width, height);
  const order = floodOrder(binary, halfWidth);
  const parent = new Int32Array(width * height).fill(-1); // -1: not flooded yet
  const peak = new Float64Array(width * height); // at roots: the basin's highest half-width
  const root = (p: number): number => {
    let r = p;
    while (parent[r] !== r) r = parent[r];
    while (parent[p] !== r) {
      const next = parent[p];
      parent[p] = r;
      p = next;
    }
    return r;
  };
  const basins: number[] = [];
  const higherPeakFirst = (a: number, b: number): number => peak[b] - peak[a] || a - b;
  for (let i = 0; i < order.length; i++) {
    const p = order[i];
    const level = halfWidth[p] - 0.5;
    const x = p % width;
    const y = (p - x) / width;
    basins.length = 0;
    let steepest = -1; // the flooded neighbour highest up: the pixel drains into its basin
    for (let k = 0; k < DX8.length; k++) {
      const nx = x + DX8[k];
      const ny = y + DY8[k];
      const q = ny * width + nx;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height || parent[q] < 0) continue;
      if (steepest < 0 || halfWidth[q] > halfWidth[steepest]) steepest = q;
      const r = root(q);
      if (!basins.includes(r)) basins.push(r);
    }
    if (steepest < 0) {
      parent[p] = p;
      peak[p] = level;
      continue;
    }
    if (basins.length > 1) {
      // Every lower basin this pixel touches merges into the highest one unless this is its neck
      // (written as "not below" so that Infinity, on an image without background, still merges).
      basins.sort(higherPeakFirst);
      for (let j = 1; j < basins.length; j++) if (!(level < neckRatio * peak[basins[j]])) parent[basins[j]] = basins[0];
    }
    parent[p] = root(steepest);
  }
  const labels = new Int32Array(width * height);
  const labelOfRoot = new Map<number, number>();
  const areas: number[] = [];
  for (let p = 0; p < labels.length; p++) {
    if (parent[p] < 0) continue;
    const r = root(p);
    let label = labelOfRoot.get(r);
    if (label === undefined) {
      areas.push(0);
      label = areas.length;
      labelOfRoot.set(r, label);
    }
    labels[p] = label;
    areas[label - 1]++;
  }
  return { labels, count: areas.length, areas };
}
