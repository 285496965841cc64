// Numbers and files for people: how the page writes areas, ratios, warnings and times, and the CSV
// it offers for download (the same columns, in the same order, as `leukoseg segment`'s results.csv).
import { WARNING_MESSAGES, type CellWarning } from '../../src/infer/morphometrics.js';
import type { SegmentRow } from '../../src/report/results.js';

export { rowsToCsv } from '../../src/report/results.js';

export type Mode = 'server' | 'browser';

/** A metric shown on each image's card; `key` is its column in the row. */
export interface MetricSpec {
  key: string;
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
function area(px: string, um2: string): (row: SegmentRow) => string {
  return (row) => `${int(row[px])} px${typeof row[um2] === 'number' ? ` · ${num(row[um2], 1)} µm²` : ''}`;
}

function percent(v: number | string | null): string {
  return typeof v === 'number' ? `${(v * 100).toFixed(0)} %` : '–';
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
