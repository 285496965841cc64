// Hematology numbers from a label mask: areas, N:C ratio, nucleus lobes, perimeter, shape and
// confidence of the main cell, with short warning codes, flattened to one CSV/JSON row.
import { NUM_CLASSES, type LabelMask } from '../data/types.js';
import { connectedComponents, convexHullArea, open, perimeter, type Components } from './morphology.js';
import { splitAtNecks } from './necks.js';
import { findMainCell } from './postprocess.js';
import type { OutOfDistribution } from './image-check.js';

const CYTOPLASM = 1;
const NUCLEUS = 2;

/** Machine-friendly warning codes; WARNING_MESSAGES has the sentences for people. */
export const WARNING_NO_CELL = 'no-cell';
export const WARNING_NO_NUCLEUS = 'no-nucleus';
export const WARNING_TOUCHES_BORDER = 'touches-border';
export const WARNING_MULTIPLE_CELLS = 'multiple-cells';
/** Given with no-cell when the image failed a check of image-check.ts (see CellStats.outOfDistribution). */
export const WARNING_OUT_OF_DISTRIBUTION = 'out-of-distribution';
export type CellWarning =
  | typeof WARNING_NO_CELL
  | typeof WARNING_NO_NUCLEUS
  | typeof WARNING_TOUCHES_BORDER
  | typeof WARNING_MULTIPLE_CELLS
  | typeof WARNING_OUT_OF_DISTRIBUTION;

export const WARNING_MESSAGES: Record<CellWarning, string> = {
  [WARNING_NO_CELL]: 'no cell found',
  [WARNING_NO_NUCLEUS]: 'the cell has no nucleus',
  [WARNING_TOUCHES_BORDER]: 'cell touches the image border',
  [WARNING_MULTIPLE_CELLS]: 'more than one cell',
  [WARNING_OUT_OF_DISTRIBUTION]: 'not an image of a stained white blood cell',
};

/**
 * A cell component counts towards 'multiple-cells' only if it covers at least 1% of the image and
 * at least this many pixels: smaller blobs are specks of misclassified background, not cells.
 */
export const MIN_CELL_FRACTION = 0.01;
export const MIN_CELL_PX = 16;

/**
 * A nucleus part counts as a lobe only if it has at least 5% of the nucleus area and at least this
 * many pixels, so crumbs cut off at a neck or by the opening are not lobes.
 */
export const MIN_LOBE_FRACTION = 0.05;
export const MIN_LOBE_PX = 4;

export interface MeasureOptions {
  /** Micrometres per pixel; without it every µm field is null. */
  umPerPx?: number;
  /** Softmax output at the mask's size, height x width x 3 (HWC), for meanConfidence. */
  probs?: Float32Array;
  /**
   * How nucleus lobes are told apart: 'necks' (default) splits the nucleus where it narrows to less
   * than neckRatio of a lobe's own thickness (splitAtNecks in necks.ts), the same at any scale;
   * 'opening' counts the parts left by a disk opening of openingRadius pixels (the count before
   * 'necks', kept for comparison: it merges lobes joined by any bridge wider than the disk).
   */
  lobeMethod?: LobeMethod;
  /** For 'necks': a neck narrower than this fraction of the thinner lobe's thickness separates lobes. Default NECK_RATIO. */
  neckRatio?: number;
  /** For 'opening' (given alone, it selects 'opening'): the disk's radius in pixels. Default 1 (3x3 cross). */
  openingRadius?: number;
}

export type LobeMethod = 'necks' | 'opening';
export const LOBE_METHODS: readonly LobeMethod[] = ['necks', 'opening'];

/**
 * Default neckRatio: a neck narrower than 3/4 of the thinner lobe's width parts two lobes. Chosen
 * from 0.3-0.9 on the bundled model's training and validation images of both data sets (never its
 * test split), on ground-truth and predicted masks alike, by how often each type gets its typical
 * count (src/bench/lobes.ts; the README's "Nucleus lobes"). Hematology's band/segmented rule speaks of
 * a third of the width, but masks drawn or predicted at these resolutions round a filament into a broad
 * neck, so a looser ratio is what separates the lobes one sees in the image.
 */
export const NECK_RATIO = 0.75;

export interface ClassConfidence {
  background: number | null;
  cytoplasm: number | null;
  nucleus: number | null;
}

export interface CellStats {
  cellAreaPx: number;
  nucleusAreaPx: number;
  cytoplasmAreaPx: number;
  cellAreaUm2: number | null;
  nucleusAreaUm2: number | null;
  cytoplasmAreaUm2: number | null;
  /** Nucleus area / cytoplasm area (N:C); null when there is no cytoplasm. */
  ncRatio: number | null;
  /** Nucleus area / cell area; null when there is no cell. */
  nucleusCellRatio: number | null;
  /** Nucleus lobes (see MeasureOptions.lobeMethod), ignoring parts below MIN_LOBE_FRACTION / MIN_LOBE_PX; at least 1 if there is a nucleus. */
  nucleusLobes: number;
  cellPerimeterPx: number;
  cellPerimeterUm: number | null;
  /** 4πA/P² of the cell; null when there is no cell. */
  circularity: number | null;
  /** Cell area / convex hull area (hull of pixel corners); null when there is no cell. */
  solidity: number | null;
  /** sqrt(4A/π): the diameter of a disk with the cell's area. */
  equivalentDiameterPx: number;
  equivalentDiameterUm: number | null;
  /** Mean max-probability of the pixels labelled as each class (whole image); null without probs. */
  meanConfidence: ClassConfidence | null;
  /** 8-connected cell components in the mask as given, specks included. */
  cellComponents: number;
  warnings: CellWarning[];
  /** Set (with warnings no-cell and out-of-distribution, and an empty mask) when the image failed a check of image-check.ts; measureCell itself gives null. */
  outOfDistribution: OutOfDistribution | null;
}

/**
 * Measures the main cell of the mask (the 8-connected cytoplasm ∪ nucleus component with the most
 * nucleus, as postprocessMask keeps); other components only raise warnings. The mask is not
 * cleaned here: run postprocessMask first to fill holes.
 */
export function measureCell(mask: LabelMask, options: MeasureOptions = {}): CellStats {
  const { width, height, data } = mask;
  const umPerPx = options.umPerPx ?? null;
  if (umPerPx !== null && !(Number.isFinite(umPerPx) && umPerPx > 0)) throw new Error(`umPerPx must be a positive number, got ${umPerPx}`);
  const main = findMainCell(mask);
  const { components, label } = main;

  const cell = new Uint8Array(data.length);
  const nucleus = new Uint8Array(data.length);
  let touchesBorder = false;
  for (let p = 0; p < data.length; p++) {
    if (label === 0 || components.labels[p] !== label) continue;
    cell[p] = 1;
    if (data[p] === NUCLEUS) nucleus[p] = 1;
    const x = p % width;
    const y = (p - x) / width;
    if (x === 0 || y === 0 || x === width - 1 || y === height - 1) touchesBorder = true;
  }
  const cellAreaPx = label === 0 ? 0 : components.areas[label - 1];
  const nucleusAreaPx = label === 0 ? 0 : main.nucleusPerComponent[label - 1];
  const cytoplasmAreaPx = cellAreaPx - nucleusAreaPx;

  const toUm2 = (px: number): number | null => (umPerPx === null ? null : px * umPerPx * umPerPx);
  const toUm = (px: number): number | null => (umPerPx === null ? null : px * umPerPx);
  const cellPerimeterPx = cellAreaPx === 0 ? 0 : perimeter(cell, width, height);
  const equivalentDiameterPx = Math.sqrt((4 * cellAreaPx) / Math.PI);

  const minCellArea = Math.max(MIN_CELL_PX, MIN_CELL_FRACTION * width * height);
  const cellsSeen = components.areas.filter((area) => area >= minCellArea).length;
  const warnings: CellWarning[] = [];
  if (cellAreaPx === 0) warnings.push(WARNING_NO_CELL);
  else if (nucleusAreaPx === 0) warnings.push(WARNING_NO_NUCLEUS);
  if (touchesBorder) warnings.push(WARNING_TOUCHES_BORDER);
  if (cellsSeen > 1) warnings.push(WARNING_MULTIPLE_CELLS);

  return {
    cellAreaPx,
    nucleusAreaPx,
    cytoplasmAreaPx,
    cellAreaUm2: toUm2(cellAreaPx),
    nucleusAreaUm2: toUm2(nucleusAreaPx),
    cytoplasmAreaUm2: toUm2(cytoplasmAreaPx),
    ncRatio: cytoplasmAreaPx === 0 ? null : nucleusAreaPx / cytoplasmAreaPx,
    nucleusCellRatio: cellAreaPx === 0 ? null : nucleusAreaPx / cellAreaPx,
    nucleusLobes: nucleusLobeParts(nucleus, width, height, options).lobes,
    cellPerimeterPx,
    cellPerimeterUm: toUm(cellPerimeterPx),
    circularity: cellPerimeterPx === 0 ? null : (4 * Math.PI * cellAreaPx) / (cellPerimeterPx * cellPerimeterPx),
    solidity: cellAreaPx === 0 ? null : cellAreaPx / convexHullArea(cell, width, height),
    equivalentDiameterPx,
    equivalentDiameterUm: toUm(equivalentDiameterPx),
    meanConfidence: options.probs === undefined ? null : meanConfidence(mask, options.probs),
    cellComponents: components.count,
    warnings,
    outOfDistribution: null,
  };
}

export interface LobeParts {
  /** The nucleus cut into parts (8-connected): at necks, or what the opening left. */
  parts: Components;
  /** isLobe[k - 1]: part k is big enough to be a lobe (MIN_LOBE_FRACTION / MIN_LOBE_PX). */
  isLobe: boolean[];
  /** Parts that are lobes; at least 1 when there is a nucleus (one thinner than the opening vanishes in it), 0 without. */
  lobes: number;
}

/** The lobes of a 0/1 nucleus mask (width x height) as measureCell counts them, with the parts, for pictures. */
export function nucleusLobeParts(nucleus: Uint8Array, width: number, height: number, options: MeasureOptions = {}): LobeParts {
  // An openingRadius alone asks for the opening, as it did before 'necks' existed.
  const method = options.lobeMethod ?? (options.openingRadius !== undefined && options.neckRatio === undefined ? 'opening' : 'necks');
  if (!LOBE_METHODS.includes(method)) throw new Error(`lobeMethod must be one of ${LOBE_METHODS.join(' or ')}, but got '${String(method)}'`);
  if (method === 'necks' && options.openingRadius !== undefined) throw new Error("openingRadius applies to lobeMethod 'opening' only");
  if (method === 'opening' && options.neckRatio !== undefined) throw new Error("neckRatio applies to lobeMethod 'necks' only");
  const parts =
    method === 'necks'
      ? splitAtNecks(nucleus, width, height, options.neckRatio ?? NECK_RATIO)
      : connectedComponents(open(nucleus, width, height, options.openingRadius ?? 1), width, height, 8);
  let nucleusAreaPx = 0;
  for (let p = 0; p < nucleus.length; p++) if (nucleus[p] !== 0) nucleusAreaPx++;
  const minLobeArea = Math.max(MIN_LOBE_PX, MIN_LOBE_FRACTION * nucleusAreaPx);
  const isLobe = parts.areas.map((area) => area >= minLobeArea);
  const lobes = isLobe.filter(Boolean).length;
  return { parts, isLobe, lobes: nucleusAreaPx === 0 ? 0 : Math.max(1, lobes) };
}

function meanConfidence(mask: LabelMask, probs: Float32Array): ClassConfidence {
  const pixels = mask.width * mask.height;
  if (probs.length !== pixels * NUM_CLASSES) {
    throw new Error(`probs has ${probs.length} values, expected ${mask.width}x${mask.height}x${NUM_CLASSES} = ${pixels * NUM_CLASSES}`);
  }
  const sums = [0, 0, 0];
  const counts = [0, 0, 0];
  for (let p = 0; p < pixels; p++) {
    let best = probs[p * NUM_CLASSES];
    for (let c = 1; c < NUM_CLASSES; c++) best = Math.max(best, probs[p * NUM_CLASSES + c]);
    sums[mask.data[p]] += best;
    counts[mask.data[p]]++;
  }
  const mean = (c: number): number | null => (counts[c] === 0 ? null : sums[c] / counts[c]);
  return { background: mean(0), cytoplasm: mean(CYTOPLASM), nucleus: mean(NUCLEUS) };
}

/** The warnings as sentences for people, e.g. 'more than one cell (3 components)'. */
export function describeWarnings(stats: CellStats): string[] {
  const ood = stats.outOfDistribution;
  return stats.warnings.map((code) => {
    if (code === WARNING_MULTIPLE_CELLS) return `${WARNING_MESSAGES[code]} (${stats.cellComponents} components)`;
    if (code === WARNING_OUT_OF_DISTRIBUTION && ood !== null) return `${WARNING_MESSAGES[code]} (${ood.reason}: ${Number(ood.score.toPrecision(3))}, limit ${ood.limit})`;
    return WARNING_MESSAGES[code];
  });
}

/** Column order of cellStatsRow, for CSV headers. */
export const CELL_STATS_COLUMNS = [
  'cellAreaPx',
  'nucleusAreaPx',
  'cytoplasmAreaPx',
  'cellAreaUm2',
  'nucleusAreaUm2',
  'cytoplasmAreaUm2',
  'ncRatio',
  'nucleusCellRatio',
  'nucleusLobes',
  'cellPerimeterPx',
  'cellPerimeterUm',
  'circularity',
  'solidity',
  'equivalentDiameterPx',
  'equivalentDiameterUm',
  'confidenceBackground',
  'confidenceCytoplasm',
  'confidenceNucleus',
  'cellComponents',
  'warnings',
  'outOfDistribution',
  'outOfDistributionScore',
] as const;
export type CellStatsColumn = (typeof CELL_STATS_COLUMNS)[number];

/** One flat row (keys in CELL_STATS_COLUMNS order): confidences spread out, warnings joined with ';', the failed image check as reason and score. */
export function cellStatsRow(stats: CellStats): Record<CellStatsColumn, number | string | null> {
  return {
    cellAreaPx: stats.cellAreaPx,
    nucleusAreaPx: stats.nucleusAreaPx,
    cytoplasmAreaPx: stats.cytoplasmAreaPx,
    cellAreaUm2: stats.cellAreaUm2,
    nucleusAreaUm2: stats.nucleusAreaUm2,
    cytoplasmAreaUm2: stats.cytoplasmAreaUm2,
    ncRatio: stats.ncRatio,
    nucleusCellRatio: stats.nucleusCellRatio,
    nucleusLobes: stats.nucleusLobes,
    cellPerimeterPx: stats.cellPerimeterPx,
    cellPerimeterUm: stats.cellPerimeterUm,
    circularity: stats.circularity,
    solidity: stats.solidity,
    equivalentDiameterPx: stats.equivalentDiameterPx,
    equivalentDiameterUm: stats.equivalentDiameterUm,
    confidenceBackground: stats.meanConfidence?.background ?? null,
    confidenceCytoplasm: stats.meanConfidence?.cytoplasm ?? null,
    confidenceNucleus: stats.meanConfidence?.nucleus ?? null,
    cellComponents: stats.cellComponents,
    warnings: stats.warnings.join(';'),
    outOfDistribution: stats.outOfDistribution?.reason ?? null,
    outOfDistributionScore: stats.outOfDistribution?.score ?? null,
  };
}
