// Morphometric features of a segmented cell for the classifier: shape from the cell's measurements
// (src/infer/morphometrics.ts, as they are), the nucleus's convexity, the stain of nucleus and
// cytoplasm as optical density against the image's own bright background (so a paler or yellower
// lab's images give comparable numbers), and the cell's size against the image: the crop around the
// cell hides its size, which tells a lymphocyte from a monocyte, and a single-cell crop's frame is the
// only ruler an image without a pixel size has. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import type { CellStats } from '../infer/morphometrics.js';
import { convexHullArea } from '../infer/morphology.js';
import { histogramPercentile } from '../data/pixels.js';
import { TEXTURE_FEATURE_NAMES } from './texture.js';

/** The morphometric features (cellFeatures), what `classifier.features: true` selects. */
export const FEATURE_NAMES = [
  'nucleusCellRatio',
  'nucleusLobes',
  'circularity',
  'solidity',
  'nucleusSolidity',
  'nucleusOdRed',
  'nucleusOdGreen',
  'nucleusOdBlue',
  'cytoplasmOdRed',
  'cytoplasmOdGreen',
  'cytoplasmOdBlue',
  'cellToImage',
] as const;
/** Every feature a prepared cell carries, in order: the morphometric ones, then the crop's texture (texture.ts), which is asked for by name. */
export const ALL_FEATURE_NAMES = [...FEATURE_NAMES, ...TEXTURE_FEATURE_NAMES] as const;
export type FeatureName = (typeof ALL_FEATURE_NAMES)[number];

/** Lobe counts above this are counted as this many (a hypersegmented neutrophil is still a neutrophil). */
export const MAX_LOBES = 5;
/** The white reference: this percentile of each channel over the background pixels. */
export const WHITE_PERCENTILE = 95;

const CYTOPLASM = 1;
const NUCLEUS = 2;

/**
 * The features of the cell `cell` (1 = pixel of the cell measured in `stats`) in FEATURE_NAMES
 * order, or null when there is no cell with a nucleus. A feature that cannot be measured (the
 * cytoplasm's stain of a cell segmented without cytoplasm) is NaN; the classifier then puts the
 * training mean in its place (prepare.ts).
 */
export function cellFeatures(image: RgbImage, mask: LabelMask, stats: CellStats, cell: Uint8Array): Float32Array | null {
  const { width, height } = mask;
  if (image.width !== width || image.height !== height || cell.length !== width * height) {
    throw new Error(`cellFeatures: image ${image.width}x${image.height}, mask ${width}x${height} and cell of ${cell.length} pixels disagree`);
  }
  if (stats.cellAreaPx === 0 || stats.nucleusAreaPx === 0) return null;
  const sums = { [NUCLEUS]: [0, 0, 0], [CYTOPLASM]: [0, 0, 0] } as Record<number, number[]>;
  const counts = { [NUCLEUS]: 0, [CYTOPLASM]: 0 } as Record<number, number>;
  const nucleus = new Uint8Array(cell.length);
  // Per-channel histograms of the background pixels.
  const background = [0, 1, 2].map(() => new Uint32Array(256));
  let backgroundPixels = 0;
  for (let p = 0; p < cell.length; p++) {
    const label = mask.data[p];
    if (cell[p] && (label === NUCLEUS || label === CYTOPLASM)) {
      counts[label]++;
      for (let c = 0; c < 3; c++) sums[label][c] += image.data[p * 3 + c];
      if (label === NUCLEUS) nucleus[p] = 1;
    } else if (label === 0) {
      backgroundPixels++;
      for (let c = 0; c < 3; c++) background[c][image.data[p * 3 + c]]++;
    }
  }
  if (counts[NUCLEUS] === 0) return null;
  // A cell filling the whole image leaves no background: its brightest pixels stand in for it.
  if (backgroundPixels === 0) for (let p = 0; p < cell.length; p++) for (let c = 0; c < 3; c++) background[c][image.data[p * 3 + c]]++;
  const counted = backgroundPixels > 0 ? backgroundPixels : cell.length;
  const white = background.map((histogram) => histogramPercentile(histogram, backgroundPixels > 0 ? WHITE_PERCENTILE : 99, counted));
  const od = (label: number) =>
    [0, 1, 2].map((c) => (counts[label] === 0 ? Number.NaN : -Math.log10((sums[label][c] / counts[label] + 1) / (white[c] + 1))));
  return Float32Array.from([
    stats.nucleusCellRatio ?? Number.NaN,
    Math.min(MAX_LOBES, stats.nucleusLobes),
    stats.circularity ?? Number.NaN,
    stats.solidity ?? Number.NaN,
    counts[NUCLEUS] / convexHullArea(nucleus, width, height),
    ...od(NUCLEUS),
    ...od(CYTOPLASM),
    // Diameter of the disk of the cell's area over the side of the square of the image's area.
    stats.equivalentDiameterPx / Math.sqrt(width * height),
  ]);
}
