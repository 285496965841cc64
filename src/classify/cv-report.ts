// The classifier cross-validation's tables: mean ± sd over folds of the headline figures and of each
// type's F1, and the held-out cells of all folds pooled (per data set and per type), as text for the
// terminal and as cv.html beside the pooled confusion matrices and the mistakes grid.
import { escapeHtml } from '../report/html.js';
import { CELL_TYPES } from './cell-types.js';
import type { ClassifierCvSummary, MaskCvSummary } from './cv.js';
import { headlineRows, HEADLINE_HEADER, htmlTable, perClassRows, PER_CLASS_HEADER, textTable } from './format.js';
import { labelNote, PAGE_STYLE } from './report.js';

type Stat = { mean: number; sd: number; folds: number };
const ms = (s: Stat) => (s.folds === 0 ? 'n/a' : `${s.mean.toFixed(3)} ± ${s.sd.toFixed(3)}${s.folds < 5 ? ` (${s.folds} folds)` : ''}`);

const MASK_LABEL = { truth: 'annotated masks', predicted: 'masks from the segmenter' } as const;

/** Rows: the headline figures, then each type's F1, mean ± sd over folds, one column per kind of mask. */
export function cvStatRows(summary: ClassifierCvSummary): { header: string[]; rows: string[][] } {
  const kinds = (['truth', 'predicted'] as const).filter((m) => summary.masks[m]);
  const pick = (f: (m: MaskCvSummary) => Stat) => kinds.map((m) => ms(f(summary.masks[m]!)));
  const rows = [
    ['accuracy', ...pick((m) => m.accuracy)],
    ['balanced accuracy', ...pick((m) => m.balancedAccuracy)],
    ['macro-F1 (types present)', ...pick((m) => m.macroF1)],
    ['macro-F1 (4 main types)', ...pick((m) => m.macroF1Main)],
    ...CELL_TYPES.map((t) => [`F1 ${t}`, ...pick((m) => m.perClass[t].f1)]),
  ];
  return { header: ['mean ± sd over folds', ...kinds.map((m) => MASK_LABEL[m])], rows };
}

function pooledSets(m: MaskCvSummary) {
  return [...m.pooled.sources.map((s) => ({ name: s.source, scores: s })), ...(m.pooled.sources.length > 1 ? [{ name: 'pooled', scores: m.pooled.pooled }] : [])];
}

export function formatClassifierCvTable(summary: ClassifierCvSummary): string {
  const { header, rows } = cvStatRows(summary);
  const parts = [textTable(header, rows)];
  for (const m of ['truth', 'predicted'] as const) {
    const s = summary.masks[m];
    if (!s) continue;
    parts.push(`\nheld-out cells of all folds pooled, ${MASK_LABEL[m]}:`, textTable(HEADLINE_HEADER, headlineRows(pooledSets(s))), textTable(PER_CLASS_HEADER, perClassRows(s.pooled.pooled.metrics.perClass)));
    parts.push(`confident (at or above their fold's threshold): ${s.confident.cells} of ${s.confident.of} cells, accuracy ${s.confident.accuracy?.toFixed(3) ?? 'n/a'}`);
  }
  return parts.join('\n');
}

export function renderCvSummaryHtml(summary: ClassifierCvSummary): string {
  const { header, rows } = cvStatRows(summary);
  const foldRows = summary.perFold.map((f) => [
    String(f.fold),
    String(f.scores.truth?.pooled.cells ?? ''),
    String(f.bestEpoch),
    f.threshold.toFixed(2),
    f.scores.truth?.pooled.metrics.accuracy?.toFixed(3) ?? '',
    f.scores.truth?.pooled.macroF1Main?.toFixed(3) ?? '',
    f.scores.predicted?.pooled.metrics.accuracy?.toFixed(3) ?? '',
    f.scores.predicted?.pooled.macroF1Main?.toFixed(3) ?? '',
  ]);
  const pooled = (['truth', 'predicted'] as const)
    .filter((m) => summary.masks[m])
    .map((m) => {
      const s = summary.masks[m]!;
      return `<h2>Held-out cells of all folds pooled, ${MASK_LABEL[m]}</h2>
${htmlTable(HEADLINE_HEADER, headlineRows(pooledSets(s)))}
${htmlTable(PER_CLASS_HEADER, perClassRows(s.pooled.pooled.metrics.perClass))}
<p>Confident (at or above their fold's uncertain threshold): ${s.confident.cells} of ${s.confident.of} cells, accuracy ${s.confident.accuracy?.toFixed(3) ?? 'n/a'}.</p>
<p><img src="confusion-${m}.png" alt="pooled confusion matrix, ${MASK_LABEL[m]}"></p>`;
    })
    .join('\n');
  const note = summary.masks.truth ? labelNote(summary.masks.truth.pooled.pooled) : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leukoseg cross-validation: ${escapeHtml(summary.preset)}</title><style>${PAGE_STYLE}</style></head>
<body><h1>${summary.folds}-fold stratified cross-validation: ${escapeHtml(summary.preset)}</h1>
<p>${summary.cells} labelled cells; each source cut into folds on its own, keeping every type's share; each fold trained from scratch on the others (best epoch and uncertain threshold on a validation part carved from them) and scored on its own cells. Total time ${(summary.seconds / 60).toFixed(1)} min.</p>
${htmlTable(header, rows)}
<p>${escapeHtml(note)}</p>
${pooled}
<h2>Most confident mistakes over all folds</h2><p><img src="mistakes.png" alt="most confident mistakes"></p>
<h2>Folds</h2>
${htmlTable(['fold', 'cells', 'best epoch', 'threshold', 'accuracy (annotated)', 'macro-F1 4 main (annotated)', 'accuracy (predicted masks)', 'macro-F1 4 main (predicted)'], foldRows)}
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(summary.config, null, 2))}</pre>
</body></html>
`;
}
