// The classifier's side of `train`, `cv` and `evaluate`: a configuration with a `classifier` section
// (preset wbc-type) or a model recording task 'cell-type' is handed here by main.ts, which keeps one
// set of commands for segmenters and classifiers.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema.js';
import type { DataSource } from '../data/locate.js';
import type { LoadedModel } from '../models/io.js';
import { trainClassifier, withoutPredictions } from '../classify/train.js';
import { collectClassifierCv, crossValidateClassifier } from '../classify/cv.js';
import { formatClassifierCvTable } from '../classify/cv-report.js';
import { evaluateClassifier, type ClassifierEvaluation, type MaskChoice } from '../classify/evaluate.js';
import { confusionText, headlineRows, HEADLINE_HEADER, perClassRows, PER_CLASS_HEADER, textTable } from '../classify/format.js';
import { labelNote } from '../classify/report.js';
import type { BatchProgress } from '../train/loop.js';

export const MASK_CHOICES: readonly MaskChoice[] = ['truth', 'predicted'];

type Log = (line: string) => void;

/** The tables of one evaluation: per data set and pooled, then per type and the confusion matrix. */
export function formatClassifierEvaluation(e: ClassifierEvaluation): string {
  const sets = [...e.sources.map((s) => ({ name: s.dataset, scores: s })), ...(e.sources.length > 1 ? [{ name: 'pooled', scores: e.pooled }] : [])];
  return [
    textTable(HEADLINE_HEADER, headlineRows(sets)),
    '',
    textTable(PER_CLASS_HEADER, perClassRows(e.pooled.metrics.perClass)),
    '',
    confusionText(e.pooled.metrics.confusion),
    '',
    labelNote(e.pooled),
  ].join('\n');
}

export async function trainClassifierCommand(
  config: RunConfig,
  opts: { sources: DataSource[]; out: string; resume?: string; init?: string | true },
  progress: { onBatch: (p: BatchProgress) => void; log: Log },
): Promise<void> {
  if (opts.resume) throw new Error(`--resume: classifier runs (preset ${config.preset}) start over; they take minutes`);
  if (opts.init) throw new Error(`--init: fine-tuning is for segmenters; preset ${config.preset} trains a classifier from scratch`);
  const started = performance.now();
  const result = await trainClassifier(config, { sources: opts.sources, outDir: opts.out, log: progress.log, onBatch: progress.onBatch });
  console.log(`\nbest epoch ${result.bestEpoch}; test split, annotated masks:`);
  console.log(formatClassifierEvaluation(result.test.truth));
  if (result.test.predicted) {
    console.log(`\ntest split, masks from the segmenter:`);
    console.log(formatClassifierEvaluation(result.test.predicted));
  }
  console.log(`\nwall time ${((performance.now() - started) / 1000).toFixed(0)} s; run folder ${result.runDir} (open report.html)`);
}

export async function cvClassifierCommand(
  config: RunConfig,
  opts: { sources: DataSource[]; cvDir: string; folds: number; fold?: number },
  progress: { onBatch: (p: BatchProgress) => void; log: Log },
): Promise<void> {
  const summary = await crossValidateClassifier(config, { ...opts, ...progress });
  if (!summary) {
    console.log(`fold ${opts.fold} of ${opts.folds} written to ${join(opts.cvDir, `fold-${opts.fold}`)}; when all folds are done: leukoseg cv --collect ${opts.cvDir}`);
    return;
  }
  console.log(`\n${summary.folds}-fold stratified cross-validation of ${summary.preset}:`);
  console.log(formatClassifierCvTable(summary));
}

/** Whether a CV folder's folds are of a classifier (their config.json has a classifier section). */
export async function isClassifierCvDir(dir: string): Promise<boolean> {
  const folds = (await readdir(dir).catch(() => [] as string[])).filter((e) => /^fold-\d+$/.test(e));
  for (const fold of folds) {
    const config = await readFile(join(dir, fold, 'config.json'), 'utf8').then((t) => JSON.parse(t) as { classifier?: unknown }, () => null);
    if (config) return config.classifier !== undefined;
  }
  return false;
}

export async function collectClassifierCvCommand(dir: string, allowMissing: boolean | undefined): Promise<void> {
  const summary = await collectClassifierCv(dir, { allowMissing });
  console.log(`\n${summary.folds}-fold stratified cross-validation of ${summary.preset}:`);
  console.log(formatClassifierCvTable(summary));
}

export async function evaluateClassifierCommand(
  loaded: LoadedModel,
  sources: DataSource[],
  opts: { all?: boolean; masks?: MaskChoice; segmenter?: string; json?: boolean; tta?: boolean; seededSplit?: number },
): Promise<void> {
  if (opts.seededSplit !== undefined) throw new Error('--seeded-split is for segmenters; a classifier is scored on its recorded split or, with --all, on every labelled image');
  const e = await evaluateClassifier(loaded, sources, { all: opts.all, masks: opts.masks, segmenter: opts.segmenter, tta: opts.tta });
  if (opts.json) {
    const { pooled, sources: perSource, ...rest } = withoutPredictions(e);
    console.log(JSON.stringify({ model: loaded.dir, task: 'cell-type', ...rest, pooled, datasets: perSource }));
    return;
  }
  const scope = e.scope === 'test-split' ? 'the test split recorded with the model' : e.scope === 'all-images' ? 'every labelled image' : 'recorded splits and all images';
  console.log(`${loaded.dir}: cell-type classifier on ${scope}, cells cut out with ${e.masks === 'truth' ? 'the annotated masks' : 'the masks the segmenter predicts'}${e.tta ? `, ${e.views} TTA` : ''}`);
  console.log(formatClassifierEvaluation(e));
}
