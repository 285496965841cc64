// The white-cell differential of a run: per image folder (a slide, a field), how many cells of each
// type and their percentage of the typed cells, uncertain cells counted on their own and images with
// no cell to type listed apart. Pure (no Node imports): `segment` writes it as differential.csv, and
// the page can build the same table.
import { CELL_TYPES, UNCERTAIN } from './cell-types.js';
import { csvCell } from '../output/results.js';

/** The row for images whose cell could not be typed (no cell, out-of-distribution, classification off). */
export const NOT_TYPED = 'not typed';
/** The folder name of the block over every folder, when there are several. */
export const ALL_FOLDERS = 'all';

export interface DifferentialRow {
  folder: string;
  cellType: string;
  count: number;
  /** Share of the folder's typed cells (types and uncertain), in percent; null for NOT_TYPED. */
  percent: number | null;
}

/** The folder of a file path ('/' or '\\' separated); '' for a bare name. */
export function folderOf(file: string): string {
  const cut = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return cut < 0 ? '' : file.slice(0, cut);
}

function block(folder: string, types: ReadonlyArray<string | null>): DifferentialRow[] {
  const typed = types.filter((t): t is string => t !== null && t !== '');
  const rows = [...CELL_TYPES, UNCERTAIN].map((cellType) => {
    const count = typed.filter((t) => t === cellType).length;
    return { folder, cellType, count, percent: typed.length === 0 ? null : (100 * count) / typed.length };
  });
  rows.push({ folder, cellType: NOT_TYPED, count: types.length - typed.length, percent: null });
  return rows;
}

/**
 * The differential of result rows (each with its `file`, `cellType` and, for a field's cells, mode
 * 'field'): folders in sorted order, then each field image on its own (its `folder` is the field's
 * file; not with perField false), then ALL_FOLDERS when there are several folders.
 */
export function differential(rows: ReadonlyArray<{ file: string; cellType?: unknown; mode?: unknown }>, options: { perField?: boolean } = {}): DifferentialRow[] {
  const typeOf = (r: { cellType?: unknown }) => (typeof r.cellType === 'string' ? r.cellType : null);
  const folders = [...new Set(rows.map((r) => folderOf(r.file)))].sort();
  const fields = options.perField === false ? [] : [...new Set(rows.filter((r) => r.mode === 'field').map((r) => r.file))].sort();
  const out = [
    ...folders.flatMap((folder) => block(folder, rows.filter((r) => folderOf(r.file) === folder).map(typeOf))),
    ...fields.flatMap((field) => block(field, rows.filter((r) => r.file === field).map(typeOf))),
  ];
  return folders.length > 1 ? [...out, ...block(ALL_FOLDERS, rows.map(typeOf))] : out;
}

/** differential.csv: folder,cellType,count,percent (percent with one decimal; empty for NOT_TYPED). */
export function differentialCsv(rows: readonly DifferentialRow[]): string {
  const lines = rows.map((r) => [csvCell(r.folder), r.cellType, String(r.count), r.percent === null ? '' : r.percent.toFixed(1)].join(','));
  return ['folder,cellType,count,percent', ...lines].join('\n') + '\n';
}
