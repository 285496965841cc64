// Numbers and files for people: how the page writes areas, ratios, warnings and times, and the CSV
// it offers for download (the same columns, in the same order, as `leukoseg segment`'s results.csv).
import { WARNING_MESSAGES, type CellWarning } from '../../src/infer/morphometrics.js';
import { csvCell, RESULT_COLUMNS, rowsToCsv, type ResultColumn, type SegmentRow } from '../../src/output/results.js';

export { rowsToCsv };

export type Mode = 'server' | 'browser';

/** A metric shown on each image's card; `key` is its column in the row. */
export interface MetricSpec {
  key: ResultColumn;
  label: string;
  format: (row: SegmentRow) => string;
}

function num(v: number | string | null, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';
}

function int(v: number | string | null): string {
  return typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : '–';
}

/** "1,234 px" or "1,234 px · 12.3 µm²" when a pixel size was given. */
function area(px: ResultColumn, um2: ResultColumn): (row: SegmentRow) => string {
  return (row) => `${int(row[px])} px${typeof row[um2] === 'number' ? ` · ${num(row[um2], 1)} µm²` : ''}`;
}

function percent(v: number | string | null): string {
  return typeof v === 'number' ? `${(v * 100).toFixed(0)} %` : '–';
}

/** "neutrophil (0.97)", "uncertain (0.41)", or – when the cell was not typed (browser mode, no nucleus). */
export function cellTypeText(row: SegmentRow): string {
  return typeof row.cellType === 'string' && row.cellType !== '' ? `${row.cellType} (${num(row.cellTypeConfidence, 2)})` : '–';
}

export const CARD_METRICS: MetricSpec[] = [
  { key: 'cellAreaPx', label: 'Cell area', format: area('cellAreaPx', 'cellAreaUm2') },
  { key: 'nucleusAreaPx', label: 'Nucleus area', format: area('nucleusAreaPx', 'nucleusAreaUm2') },
  { key: 'cytoplasmAreaPx', label: 'Cytoplasm area', format: area('cytoplasmAreaPx', 'cytoplasmAreaUm2') },
  { key: 'ncRatio', label: 'N:C ratio', format: (r) => num(r.ncRatio, 2) },
  { key: 'nucleusLobes', label: 'Nucleus lobes', format: (r) => int(r.nucleusLobes) },
  { key: 'circularity', label: 'Circularity', format: (r) => num(r.circularity, 2) },
  { key: 'solidity', label: 'Solidity', format: (r) => num(r.solidity, 2) },
  {
    key: 'equivalentDiameterPx',
    label: 'Equivalent diameter',
    format: (r) => `${num(r.equivalentDiameterPx, 1)} px${typeof r.equivalentDiameterUm === 'number' ? ` · ${num(r.equivalentDiameterUm, 2)} µm` : ''}`,
  },
  { key: 'confidenceNucleus', label: 'Confidence (nucleus / cyto.)', format: (r) => `${percent(r.confidenceNucleus)} / ${percent(r.confidenceCytoplasm)}` },
];

/** The row's warning codes as sentences; unknown codes are shown as they are. */
export function warningTexts(row: SegmentRow): string[] {
  const codes = typeof row.warnings === 'string' && row.warnings !== '' ? row.warnings.split(';') : [];
  return codes.map((code) => {
    const text = WARNING_MESSAGES[code as CellWarning] ?? code;
    return code === 'multiple-cells' ? `${text} (${row.cellComponents} components)` : text;
  });
}

export const formatInt = int;
export const formatNumber = num;

export function modeLabel(mode: Mode, backend?: string): string {
  return mode === 'server' ? 'Server API' : `In this browser${backend ? ` (${backend === 'wasm' ? 'WebAssembly' : backend})` : ''}`;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Largest pixel size accepted, as the API's umPerPx. */
export const MAX_UM_PER_PX = 1000;

/**
 * What is wrong with the pixel-size field, or null when it is empty or a usable value. `badInput` is
 * the browser's word that the typed text is no number at all (the field's value is then '').
 */
export function pixelSizeProblem(raw: string, badInput: boolean): string | null {
  if (badInput) return 'The pixel size must be a number, such as 0.1.';
  if (raw.trim() === '') return null;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) return `The pixel size must be above 0 µm per pixel (got ${raw}). Leave it empty for areas in pixels.`;
  if (v > MAX_UM_PER_PX) return `The pixel size must be at most ${MAX_UM_PER_PX} µm per pixel (got ${raw}).`;
  return null;
}

/** An area for the summary table: in µm² when the row has it (a pixel size was given), else in px. */
export function areaText(row: SegmentRow, px: 'cellAreaPx' | 'nucleusAreaPx' | 'cytoplasmAreaPx'): string {
  const um2 = row[px.replace(/Px$/, 'Um2') as ResultColumn];
  return typeof um2 === 'number' ? `${num(um2, 1)} µm²` : `${int(row[px])} px`;
}

/**
 * A server error as a sentence for the person at the microscope, not "422: ...". The server's own
 * message starts with the file name, which the card already shows, so that prefix is dropped.
 */
export function serverErrorSentence(status: number, message: string | undefined, fileName: string): string {
  const detail = (message ?? '').startsWith(`${fileName}: `) ? message!.slice(fileName.length + 2) : message ?? '';
  const because = detail ? ` (${detail})` : '';
  switch (status) {
    case 400: return `The server did not accept the request${because}.`;
    case 408: return 'The upload took too long and the server stopped waiting; try again.';
    case 413: return `This file is too large for the server to accept${because}.`;
    case 415: return `This file is not an image the server can read; use BMP, PNG, JPEG, TIFF or WebP${because}.`;
    case 422: return `The server could not read this image: the file may be damaged, cut short, or too large${because}.`;
    case 503: return 'The server is busy or took too long; try this image again in a moment.';
    default: return status >= 500
      ? 'The server failed on this image; its log says why. Try again, or report it.'
      : `The server refused this image (HTTP ${status})${because}.`;
  }
}

/** One image for the CSV: its rows (one per cell, or its no-cell row) when it was segmented, else the reason it failed. */
export interface CsvEntry {
  fileName: string;
  rows?: SegmentRow[];
  error?: string;
}

/**
 * The page's CSV: results.csv's columns plus `error`, with the rows of every image, and a row for
 * each failed one too (file and name filled, the measurements empty), so a table of 50 images says
 * which 3 are missing.
 */
export function entriesToCsv(entries: CsvEntry[]): string {
  const header = [...RESULT_COLUMNS, 'error'].join(',');
  const lines = entries.flatMap((e) => {
    if (e.rows) return e.rows.map((row) => [...RESULT_COLUMNS.map((c) => csvCell(row[c])), ''].join(','));
    const row: Partial<SegmentRow> = { file: e.fileName, name: e.fileName.replace(/\.[^.]*$/, '') || e.fileName };
    return [[...RESULT_COLUMNS.map((c) => csvCell(row[c])), csvCell(e.error ?? 'failed')].join(',')];
  });
  return [header, ...lines].join('\n') + '\n';
}
