// Crop or field: which way an image is segmented, and what each mode reports beside its masks, so
// both give `cells` and one image-level `stats`. Pure.
import type { LabelMask } from '../data/types.js';
import { measureCell, WARNING_MULTIPLE_CELLS, WARNING_OUT_OF_DISTRIBUTION, type CellStats } from '../infer/morphometrics.js';
import { findMainCell } from '../infer/postprocess.js';
import type { OutOfDistribution } from '../infer/image-check.js';
import { cellPlace, cutRect, type SegmentedCell } from './cells.js';

/**
 * An image whose longer side has at least this many pixels is a field. The crops the bundled model
 * was trained on have at most 300 px a side (Dataset 2; Dataset 1's 104-120); a camera's field is
 * 640x480 or more. A single cell's crop taken larger than that needs --crop.
 */
export const FIELD_MIN_SIDE = 400;

export type ModeChoice = 'auto' | 'crop' | 'field';
export const MODE_CHOICES: readonly ModeChoice[] = ['auto', 'crop', 'field'];

export function chooseMode(choice: ModeChoice | undefined, width: number, height: number, name = '<image>'): 'crop' | 'field' {
  const mode = choice ?? 'auto';
  if (!MODE_CHOICES.includes(mode)) throw new Error(`${name}: mode must be one of ${MODE_CHOICES.join(', ')}, but got '${String(mode)}'`);
  if (mode !== 'auto') return mode;
  return Math.max(width, height) >= FIELD_MIN_SIDE ? 'field' : 'crop';
}

/**
 * Crop mode's cells: the one cell of the cleaned mask (`cleaned`: it holds nothing else), or its
 * main cell when clean-up was off, with the image's own stats; none when the stats say no-cell.
 * Instances: 1 on that cell's pixels.
 */
export function cropCells(mask: LabelMask, stats: CellStats, cleaned: boolean): { cells: SegmentedCell[]; instances: Uint16Array } {
  const instances = new Uint16Array(mask.data.length);
  if (stats.cellAreaPx === 0) return { cells: [], instances };
  const main = cleaned ? null : findMainCell(mask);
  const own: LabelMask = { width: mask.width, height: mask.height, data: cleaned ? mask.data : new Uint8Array(mask.data.length) };
  for (let p = 0; p < mask.data.length; p++) {
    if (main === null ? mask.data[p] === 0 : main.components.labels[p] !== main.label) continue;
    own.data[p] = mask.data[p];
    instances[p] = 1;
  }
  const place = cellPlace(own, { x: 0, y: 0 })!;
  const { bbox } = place;
  const data = cutRect(own.data, mask.width, bbox, 1, (n) => new Uint8Array(n));
  const cell: SegmentedCell = { index: 1, bbox, centroidX: place.centroidX, centroidY: place.centroidY, mask: { width: bbox.width, height: bbox.height, data }, stats };
  return { cells: [cell], instances };
}

/** Index in `cells` of the main cell (the most nucleus, as crop mode chooses); null when there is none. */
export function mainCellIndex(cells: readonly Pick<SegmentedCell, 'stats'>[]): number | null {
  if (cells.length === 0) return null;
  let main = 0;
  for (let k = 1; k < cells.length; k++) if (cells[k].stats.nucleusAreaPx > cells[main].stats.nucleusAreaPx) main = k;
  return main;
}

/**
 * A field's image-level stats: its main cell's (the most nucleus, as crop mode chooses), with
 * multiple-cells when it has more; no-cell (with out-of-distribution and the failed check) when none.
 */
export function fieldStats(cells: readonly SegmentedCell[], ood: OutOfDistribution | null, umPerPx?: number): CellStats {
  if (cells.length === 0) {
    const stats = measureCell({ width: 1, height: 1, data: new Uint8Array(1) }, { umPerPx });
    if (ood !== null) {
      stats.warnings.push(WARNING_OUT_OF_DISTRIBUTION);
      stats.outOfDistribution = ood;
    }
    return stats;
  }
  const main = cells[mainCellIndex(cells)!];
  const stats: CellStats = { ...main.stats, warnings: [...main.stats.warnings], cellComponents: cells.length };
  if (cells.length > 1) stats.warnings.push(WARNING_MULTIPLE_CELLS);
  return stats;
}
