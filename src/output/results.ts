// The rows of results.csv / results.json / the API / the web page: one per white cell, or one saying
// no-cell for an image without any. The one place their columns are listed and built, so a new
// column (e.g. a cell type) is added here once. Pure (no Node imports) so the browser builds the
// same CSV as the command line.
import { CELL_STATS_COLUMNS, cellStatsRow, type CellStats, type CellStatsColumn } from '../infer/morphometrics.js';
import type { SegmentedCell } from '../field/cells.js';
import { CELL_TYPE_COLUMNS, cellTypeRow, type CellTypeColumn, type CellTypeResult } from '../classify/cell-types.js';

/** 'crop': the image is one cell's crop (the model's own input); 'field': a field of many cells (src/field). */
export type SegmentMode = 'crop' | 'field';

/** Where the row's cell lies in its image; empty (null) in an image's no-cell row. */
export const CELL_PLACE_COLUMNS = ['cellIndex', 'bboxX', 'bboxY', 'bboxWidth', 'bboxHeight', 'centroidX', 'centroidY'] as const;
export type CellPlaceColumn = (typeof CELL_PLACE_COLUMNS)[number];

/** Columns of results.csv, in order. */
export const RESULT_COLUMNS = [
  'file', 'name', 'width', 'height', ...CELL_PLACE_COLUMNS, ...CELL_STATS_COLUMNS, ...CELL_TYPE_COLUMNS, 'inferenceMs', 'mode', 'fieldCellDiameterPx',
  'cellDiameterPx', 'modelScale',
] as const;
export type ResultColumn = (typeof RESULT_COLUMNS)[number];

export type SegmentRow = {
  file: string;
  name: string;
  width: number;
  height: number;
  mode: SegmentMode;
  /** Field mode: the white-cell diameter (image px) the working scale was set from (given or estimated). */
  fieldCellDiameterPx: number | null;
  /** Crop or field: the white-cell diameter (image px) the scale was set from (a crop's: its first pass's cell); null when not measured. */
  cellDiameterPx: number | null;
  /** Model pixels per image pixel the cells were segmented at. */
  modelScale: number | null;
  inferenceMs: number;
} & Record<CellPlaceColumn, number | null> & Record<CellStatsColumn, number | string | null> & Record<CellTypeColumn, number | string | null>;

/** What segment() gives that the rows are made of (SegmentResult has these fields). */
export interface RowSource {
  width: number;
  height: number;
  mode: SegmentMode;
  /** Each cell with its type (absent or null: not typed). */
  cells: readonly (SegmentedCell & { cellType?: CellTypeResult | null })[];
  /** The main cell's type (the cell `stats` describes), for the image's own row. */
  cellType?: CellTypeResult | null;
  /** The image's own numbers; the no-cell row of an image without cells carries them (warnings, failed check). */
  stats: CellStats;
  cellDiameter: number | null;
  /** Absent: not recorded (null in the row). */
  modelScale?: number | null;
  inferenceMs: number;
}

/** The rows of one image: one per cell in index order, or the image's one no-cell row. Keys in RESULT_COLUMNS order. */
export function segmentRows(file: string, name: string, r: RowSource): SegmentRow[] {
  const row = (place: Record<CellPlaceColumn, number | null>, stats: CellStats, cellType: CellTypeResult | null): SegmentRow => ({
    file, name, width: r.width, height: r.height, ...place, ...cellStatsRow(stats), ...cellTypeRow(cellType), inferenceMs: r.inferenceMs, mode: r.mode,
    fieldCellDiameterPx: r.mode === 'field' ? r.cellDiameter : null,
    cellDiameterPx: r.cellDiameter === null ? null : round2(r.cellDiameter), modelScale: r.modelScale == null ? null : round4(r.modelScale),
  });
  if (r.cells.length === 0) return [row(Object.fromEntries(CELL_PLACE_COLUMNS.map((c) => [c, null])) as Record<CellPlaceColumn, null>, r.stats, null)];
  return r.cells.map((cell) => row({
    cellIndex: cell.index,
    bboxX: cell.bbox.x,
    bboxY: cell.bbox.y,
    bboxWidth: cell.bbox.width,
    bboxHeight: cell.bbox.height,
    centroidX: round2(cell.centroidX),
    centroidY: round2(cell.centroidY),
  }, cell.stats, cell.cellType ?? null));
}

/**
 * The image's own row, as the API's top level gives it: its stats (crop mode: its one cell; field
 * mode: its main cell with multiple-cells, see SegmentResult.stats), placed at the crop's cell; a
 * field's has no place (its cells each have their row).
 */
export function imageRow(file: string, name: string, r: RowSource): SegmentRow {
  const rows = segmentRows(file, name, r.mode === 'crop' ? r : { ...r, cells: [] });
  return { ...rows[0], ...cellStatsRow(r.stats), ...cellTypeRow(r.cellType ?? null) };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** One CSV cell: quoted when it holds a comma, quote or newline (the web page's CSV adds a column with it). */
export function csvCell(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function rowsToCsv(rows: readonly SegmentRow[]): string {
  return [RESULT_COLUMNS.join(','), ...rows.map((r) => RESULT_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
