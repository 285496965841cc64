// One row per segmented image, as results.csv / results.json / the API / the web page give it.
// Pure (no Node imports) so the browser builds the same CSV as the command line.
import { CELL_STATS_COLUMNS } from '../infer/morphometrics.js';
import { CELL_TYPE_COLUMNS } from '../classify/cell-types.js';

export interface SegmentRow {
  file: string;
  name: string;
  width: number;
  height: number;
  inferenceMs: number;
  [column: string]: number | string | null;
}

/** Columns of results.csv, in order. */
export const RESULT_COLUMNS = ['file', 'name', 'width', 'height', ...CELL_STATS_COLUMNS, ...CELL_TYPE_COLUMNS, 'inferenceMs'] as const;

/** One CSV cell: quoted when it holds a comma, quote or newline (the web page's CSV adds a column with it). */
export function csvCell(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function rowsToCsv(rows: SegmentRow[]): string {
  return [RESULT_COLUMNS.join(','), ...rows.map((r) => RESULT_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}
