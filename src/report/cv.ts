// The cross-validation report: per-class Dice as mean ± sd over folds, then each fold's figures.
import type { SegmentationMetrics } from '../metrics/scores.js';
import { escapeHtml } from './html.js';

export interface CvFold {
  fold: number;
  runDir: string;
  bestEpoch: number;
  images: number;
  modelSize: SegmentationMetrics;
  native: SegmentationMetrics;
  /** Native-size scores of each data source's held-out images, when the folds mix several. */
  bySource?: Record<string, SegmentationMetrics>;
  /** Wall time of the fold (training and scoring). */
  seconds?: number;
  /** How many folds the cross-validation it belongs to has. */
  of?: number;
}

type Stat = { mean: number; sd: number };
type Row = Record<'background' | 'cytoplasm' | 'nucleus' | 'mean' | 'foreground' | 'wholeCell', Stat>;

export interface CvSummary {
  preset: string;
  /** Folds merged into this summary. */
  folds: number;
  /** Folds the cross-validation was cut into; more than `folds` when collected with some missing. */
  of: number;
  /** Folds not finished when collected (`cv --collect --allow-missing`). */
  missing: number[];
  images: number;
  seconds: number;
  /** Dice at each image's own size, mean ± sd over folds. */
  native: Row;
  /** Dice at the model's input size. */
  modelSize: Row;
  perFold: CvFold[];
  config: unknown;
}

const LABELS: Array<[keyof Row, string]> = [
  ['background', 'background'],
  ['cytoplasm', 'cytoplasm'],
  ['nucleus', 'nucleus'],
  ['mean', 'mean (3 classes)'],
  ['foreground', 'foreground mean'],
  ['wholeCell', 'whole cell'],
];

const fmt = (s: Stat) => `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)}`;

export function formatCvTable(summary: CvSummary): string {
  const lines = [`${'Dice'.padEnd(18)}${'native size'.padEnd(20)}model input size`];
  for (const [key, label] of LABELS) lines.push(`${label.padEnd(18)}${fmt(summary.native[key]).padEnd(20)}${fmt(summary.modelSize[key])}`);
  return lines.join('\n');
}

export function renderCvHtml(summary: CvSummary): string {
  const rows = LABELS.map(([key, label]) => `<tr><th>${escapeHtml(label)}</th><td>${fmt(summary.native[key])}</td><td>${fmt(summary.modelSize[key])}</td></tr>`).join('\n');
  const foldRows = summary.perFold
    .map((f) => `<tr><td>${f.fold}</td><td>${f.images}</td><td>${f.bestEpoch}</td>${(['cytoplasm', 'nucleus', 'wholeCell'] as const).map((k) => `<td>${f.native.dice[k].toFixed(4)}</td>`).join('')}<td><a href="${encodeURI(`fold-${f.fold}/report.html`)}">report</a></td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leukoseg cross-validation: ${escapeHtml(summary.preset)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>${summary.of}-fold cross-validation: ${escapeHtml(summary.preset)}</h1>
${summary.missing.length > 0 ? `<p><strong>${summary.folds} of ${summary.of} folds: fold(s) ${summary.missing.join(', ')} had not finished.</strong></p>\n` : ''}<p>${summary.images} images; each fold trained from scratch on the other folds and scored on its own. Total time ${(summary.seconds / 60).toFixed(1)} min.</p>
<h2>Dice, mean ± sd over folds</h2>
<table><thead><tr><th>class</th><th>native size</th><th>model input size</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Folds (native size)</h2>
<table><thead><tr><th>fold</th><th>test images</th><th>best epoch</th><th>cytoplasm</th><th>nucleus</th><th>whole cell</th><th></th></tr></thead><tbody>
${foldRows}
</tbody></table>
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(summary.config, null, 2))}</pre>
</body></html>
`;
}
