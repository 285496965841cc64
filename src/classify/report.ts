// What a classifier run writes about itself: the confusion matrices of its test split as pictures,
// the grid of its most confident mistakes, and report.html with the per-epoch table, the headline and
// per-type tables and a plain statement of what the labels allow it to claim.
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { escapeHtml } from '../report/html.js';
import type { RunConfig } from '../config/schema.js';
import { cropSpecOf } from '../config/classifier.js';
import { cellKey, type LabelledCell, type LoadedCells } from './cells.js';
import { CELL_TYPES } from './cell-types.js';
import { prepareCell } from './prepare.js';
import type { CropOptions } from './crop.js';
import { likeliest, type CellPrediction, type CellScores } from './score.js';
import { renderConfusionPng, renderMistakesPng, type MistakeTile } from './figures.js';
import { headlineRows, HEADLINE_HEADER, htmlTable, perClassRows, PER_CLASS_HEADER } from './format.js';
import type { ClassifierEvaluation } from './evaluate.js';
import type { ClassifierEpochRecord } from './train.js';

/** How many mistakes the grid shows. */
export const MISTAKES_SHOWN = 12;

/** The wrong predictions, most confident first, as tiles (crops cut with the annotated masks). */
export function mistakeTiles(predictions: readonly CellPrediction[], cells: ReadonlyMap<string, LabelledCell>, crop: CropOptions, count = MISTAKES_SHOWN): MistakeTile[] {
  const wrong = predictions
    .filter((p) => p.probs !== null && likeliest(p.probs) !== p.label)
    .map((p) => ({ p, confidence: Math.max(...p.probs!) }))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, count);
  return wrong.flatMap(({ p, confidence }) => {
    const cell = cells.get(cellKey(p));
    const prepared = cell ? prepareCell(cell.image, cell.truth, crop) : null;
    if (!prepared) return [];
    return [{ crop: prepared.crop.image, name: cellKey(p), truth: CELL_TYPES[p.label], predicted: CELL_TYPES[likeliest(p.probs!)], confidence }];
  });
}

/** The honest note on the labels: which types have too few cells to claim anything about. */
export function labelNote(scores: CellScores): string {
  const few = CELL_TYPES.filter((t) => scores.metrics.perClass[t].support < 10);
  const base =
    'Labels come with the data sets; their authors warn that some were not checked by experts. ' +
    'Macro-F1 (4 main) is over neutrophil, lymphocyte, monocyte and eosinophil.';
  return few.length === 0
    ? base
    : `${base} ${few.map((t) => `${t}: ${scores.metrics.perClass[t].support} true cell(s) here`).join('; ')}: too few to learn or to judge; their figures are anecdotes, not claims.`;
}

export function evaluationHtml(title: string, e: Pick<ClassifierEvaluation, 'pooled' | 'sources' | 'threshold'>, confusionFile?: string): string {
  const sets = [...e.sources.map((s) => ({ name: s.dataset, scores: s as CellScores })), ...(e.sources.length > 1 ? [{ name: 'pooled', scores: e.pooled }] : [])];
  return `<h2>${escapeHtml(title)}</h2>
${htmlTable(HEADLINE_HEADER, headlineRows(sets))}
<p>Confident: cells whose top probability is at least ${e.threshold.toFixed(2)} (the uncertain threshold); the rest are reported as uncertain.</p>
${htmlTable(PER_CLASS_HEADER, perClassRows(e.pooled.metrics.perClass))}
${confusionFile ? `<p><img src="${encodeURI(confusionFile)}" alt="confusion matrix"></p>` : ''}
<p>${escapeHtml(labelNote(e.pooled))}</p>`;
}

export const PAGE_STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}';

export interface ClassifierReportInput {
  config: RunConfig;
  history: ClassifierEpochRecord[];
  bestEpoch: number;
  /** With classifier.members > 1: each member's best epoch (bestEpoch is the first's). */
  memberBestEpochs?: number[];
  test: { truth: ClassifierEvaluation; predicted?: ClassifierEvaluation };
  loaded: LoadedCells;
}

/** Writes confusion-test*.png, mistakes.png and report.html into the run folder. */
export async function writeClassifierReport(runDir: string, r: ClassifierReportInput): Promise<void> {
  const cells = new Map(r.loaded.sources.flatMap((s) => s.cells).map((c) => [cellKey(c), c]));
  const crop = cropSpecOf(r.config.data.size, r.config.classifier!);
  await writeFileAtomic(join(runDir, 'confusion-test.png'), await renderConfusionPng(r.test.truth.pooled.metrics.confusion, CELL_TYPES, 'test split, annotated masks'));
  if (r.test.predicted) {
    await writeFileAtomic(join(runDir, 'confusion-test-predicted.png'), await renderConfusionPng(r.test.predicted.pooled.metrics.confusion, CELL_TYPES, 'test split, masks from the segmenter'));
  }
  await writeFileAtomic(join(runDir, 'mistakes.png'), await renderMistakesPng(mistakeTiles(r.test.truth.predictions, cells, crop), 'most confident mistakes, test split'));
  const epochRows = r.history.map((h) => [
    String(h.epoch),
    h.trainLoss.toFixed(4),
    h.val ? h.val.loss.toFixed(4) : '',
    h.val?.accuracy?.toFixed(3) ?? '',
    h.val?.macroF1?.toFixed(3) ?? '',
    h.test.accuracy?.toFixed(3) ?? '',
    h.test.macroF1?.toFixed(3) ?? '',
    h.epoch === (r.memberBestEpochs?.[(h.member ?? 1) - 1] ?? r.bestEpoch) ? 'best' : '',
  ]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leukoseg ${escapeHtml(r.config.preset)}: ${escapeHtml(runDir.split('/').pop() ?? '')}</title><style>${PAGE_STYLE}</style></head>
<body><h1>leukoseg ${escapeHtml(r.config.preset)}</h1>
<p>White-cell type classifier. Best epoch ${r.memberBestEpochs ? `${r.memberBestEpochs.join(', ')} (one per member, averaged in one model)` : r.bestEpoch}, chosen by ${escapeHtml(r.config.classifier!.selectBy)} on the validation cells carved from the training cells; the test split played no part in it.</p>
${evaluationHtml('Test split, cells cut out with the annotated masks', r.test.truth, 'confusion-test.png')}
${r.test.predicted ? evaluationHtml('Test split, cells cut out with the masks the segmenter predicts (what segment does)', r.test.predicted, 'confusion-test-predicted.png') : ''}
<h2>Most confident mistakes (annotated masks)</h2><p><img src="mistakes.png" alt="most confident mistakes"></p>
<h2>Epochs</h2>
${htmlTable(['epoch', 'train loss', 'val loss', 'val accuracy', 'val macro-F1', 'test accuracy', 'test macro-F1', ''], epochRows)}
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(r.config, null, 2))}</pre>
</body></html>
`;
  await writeFileAtomic(join(runDir, 'report.html'), html);
}
