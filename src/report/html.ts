// The run report: one self-contained static HTML page (inline CSS, no scripts, no external
// assets) that sits in the run folder and links its PNGs by relative file name.
import { CLASS_NAMES, type ClassName } from '../data/types.js';
import { SCORE_KEYS, type SegmentationMetrics } from '../metrics/scores.js';
import { formatScore, SCORE_LABELS, SOFT_DICE_LABEL } from '../metrics/format.js';
import { CLASS_COLORS, rgbToHex } from '../output/colors.js';

/** The reproduced study's headline global soft Dice, quoted beside ours for comparison. */
export const STUDY_GLOBAL_SOFT_DICE = 0.942;

/** One line of the per-epoch table. */
export interface EpochRow {
  epoch: number;
  trainLoss: number;
  trainDice: number;
  testDice: number;
  testDicePerClass: Record<ClassName, number>;
  trainSeconds: number;
  imagesPerSecond: number;
}

export interface EpochMetrics {
  epoch: number;
  metrics: SegmentationMetrics;
}

export interface ReportInput {
  runId: string;
  title?: string;
  /** The resolved configuration, shown as JSON. */
  config: unknown;
  epochs: EpochRow[];
  best: EpochMetrics;
  final?: EpochMetrics;
  /** File name of the curves figure in the run folder, e.g. "curves.png". */
  curvesFile?: string;
  /** Prediction grids, e.g. {epoch: 3, file: "predictions-epoch-03.png"}; shown in epoch order. */
  predictionFiles: { epoch: number; file: string }[];
  notes?: string[];
  /** Shown in the header if given (left out by default so that reports are reproducible). */
  generatedAt?: string;
}

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/**
 * A relative URL for a file in the run folder: each path segment percent-encoded, so spaces, '#'
 * or a "javascript:" prefix in a name cannot change what the link points to.
 */
function fileUrl(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

/** JSON that never throws: bigint as strings, cycles reported instead of crashing the report. */
function configJson(config: unknown): string {
  try {
    return JSON.stringify(config, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2) ?? 'null';
  } catch (err) {
    return `(config could not be shown as JSON: ${err instanceof Error ? err.message : String(err)})`;
  }
}

const cell = (text: string, tag: 'td' | 'th' = 'td'): string => `<${tag}>${escapeHtml(text)}</${tag}>`;

function metricsSection(best: EpochMetrics, final: EpochMetrics | undefined): string {
  const columns: EpochMetrics[] = final && final.epoch !== best.epoch ? [best, final] : [best];
  const labelOf = (m: EpochMetrics): string =>
    m === best ? `best (epoch ${m.epoch})` : `final (epoch ${m.epoch})`;
  const head =
    '<tr><th rowspan="2">class</th>' +
    columns.map((m) => `<th colspan="2">${escapeHtml(labelOf(m))}</th>`).join('') +
    '</tr><tr>' +
    columns.map(() => '<th>Dice</th><th>IoU</th>').join('') +
    '</tr>';
  const swatch = (key: string): string =>
    (CLASS_NAMES as readonly string[]).includes(key)
      ? `<span class="swatch" style="background:${rgbToHex(CLASS_COLORS[key as ClassName])}"></span>`
      : '';
  const body = SCORE_KEYS.map(
    (key) =>
      `<tr${key === 'mean' ? ' class="sep"' : ''}><th>${swatch(key)}${escapeHtml(SCORE_LABELS[key])}</th>` +
      columns.map((m) => cell(formatScore(m.metrics.dice[key])) + cell(formatScore(m.metrics.iou[key]))).join('') +
      '</tr>',
  ).join('');
  const summary = (label: string, value: (m: SegmentationMetrics) => number | null): string =>
    `<tr class="sep"><th>${escapeHtml(label)}</th>` +
    columns.map((m) => `<td colspan="2">${escapeHtml(formatScore(value(m.metrics)))}</td>`).join('') +
    '</tr>';
  const extra =
    summary('pixel accuracy', (m) => m.pixelAccuracy) +
    summary(SOFT_DICE_LABEL, (m) => m.globalSoftDice) +
    `<tr class="sep"><th>test images / pixels</th>` +
    columns.map((m) => `<td colspan="2">${escapeHtml(`${m.metrics.images} / ${m.metrics.pixels}`)}</td>`).join('') +
    '</tr>';
  const confusion = best.metrics.confusion;
  const confusionTable =
    `<table class="num"><caption>confusion matrix, best epoch (rows truth, columns prediction, pixels)</caption>` +
    '<tr><th></th>' + CLASS_NAMES.map((n) => cell(n, 'th')).join('') + '</tr>' +
    confusion.map((row, t) => `<tr><th>${escapeHtml(CLASS_NAMES[t] ?? String(t))}</th>` + row.map((v) => cell(String(v))).join('') + '</tr>').join('') +
    '</table>';
  return `<section><h2>Test metrics</h2><table class="num metrics">${head}${body}${extra}</table>${confusionTable}</section>`;
}

function epochsSection(epochs: readonly EpochRow[], bestEpoch: number): string {
  if (epochs.length === 0) return '<section><h2>Epochs</h2><p>No epochs recorded.</p></section>';
  const headers = ['epoch', 'train loss', 'train Dice', 'test Dice', ...CLASS_NAMES.map((n) => `test ${n}`), 'seconds', 'images/s'];
  const rows = epochs
    .map((e) => {
      const values = [
        String(e.epoch),
        fixed(e.trainLoss, 4),
        fixed(e.trainDice, 4),
        fixed(e.testDice, 4),
        ...CLASS_NAMES.map((n) => fixed(e.testDicePerClass[n], 4)),
        fixed(e.trainSeconds, 1),
        fixed(e.imagesPerSecond, 1),
      ];
      return `<tr${e.epoch === bestEpoch ? ' class="best" title="best epoch"' : ''}>${values.map((v) => cell(v)).join('')}</tr>`;
    })
    .join('');
  return (
    `<section><h2>Epochs</h2><table class="num epochs"><tr>${headers.map((h) => cell(h, 'th')).join('')}</tr>${rows}</table>` +
    '<p class="hint">Highlighted: best epoch. Dice columns are hard (argmax) Dice over all test pixels.</p></section>'
  );
}

function figuresSection(input: ReportInput): string {
  const parts: string[] = [];
  if (input.curvesFile) {
    parts.push(
      `<section><h2>Training curves</h2><img class="curves" src="${escapeHtml(fileUrl(input.curvesFile))}" alt="Dice and loss per epoch"></section>`,
    );
  }
  const predictions = [...input.predictionFiles].sort((a, b) => a.epoch - b.epoch);
  if (predictions.length > 0) {
    const figures = predictions
      .map(
        (p) =>
          `<figure><img src="${escapeHtml(fileUrl(p.file))}" alt="${escapeHtml(`test predictions after epoch ${p.epoch}`)}" loading="lazy">` +
          `<figcaption>${escapeHtml(`epoch ${p.epoch} — ${p.file}`)}</figcaption></figure>`,
      )
      .join('');
    parts.push(`<section><h2>Test predictions</h2>${figures}</section>`);
  }
  return parts.join('');
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.runid{color:#555;font-family:ui-monospace,Menlo,Consolas,monospace}
table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}th,td{border:1px solid #ddd;padding:.25rem .6rem}
th{background:#f5f5f7;text-align:left;font-weight:600}table.num td{text-align:right;font-variant-numeric:tabular-nums}
tr.sep>*{border-top:2px solid #bbb}tr.best td{background:#fff4cc;font-weight:600}
caption{caption-side:top;text-align:left;color:#555;font-size:.85rem;padding-bottom:.2rem}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border:1px solid #777;vertical-align:-.05em}
pre{background:#f7f7f9;border:1px solid #e3e3e3;padding:.8rem;overflow:auto;font-size:.85rem}
img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1rem 0}figcaption{color:#555;font-size:.85rem}
.hint{color:#666;font-size:.85rem}ul.notes li{margin:.2rem 0}
`;

/** The complete page as a string; every value from the input is escaped. */
export function renderReportHtml(input: ReportInput): string {
  const title = input.title ?? 'leukoseg training run';
  const headline = input.best.metrics.globalSoftDice;
  const notes = input.notes?.length
    ? `<section><h2>Notes</h2><ul class="notes">${input.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>`
    : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`${title} — ${input.runId}`)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<header><h1>${escapeHtml(title)}</h1><div class="runid">run ${escapeHtml(input.runId)}${input.generatedAt ? ` · ${escapeHtml(input.generatedAt)}` : ''}</div>`,
    `<p>Best epoch ${escapeHtml(String(input.best.epoch))}: mean Dice ${escapeHtml(formatScore(input.best.metrics.dice.mean))}, ` +
      `${escapeHtml(SOFT_DICE_LABEL)} ${escapeHtml(headline === null ? 'n/a' : formatScore(headline))} (study: ${STUDY_GLOBAL_SOFT_DICE}).</p></header>`,
    `<section><h2>Configuration</h2><pre>${escapeHtml(configJson(input.config))}</pre></section>`,
    metricsSection(input.best, input.final),
    epochsSection(input.epochs, input.best.epoch),
    figuresSection(input),
    notes,
    '</body></html>',
    '',
  ].join('\n');
}
