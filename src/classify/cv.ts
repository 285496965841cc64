// Stratified k-fold cross-validation of a classifier preset (`cv --preset wbc-type --folds 5`): each
// source is cut into k folds on its own, keeping every type's share; fold f trains from scratch on the
// other folds (its validation part carved from them) and is scored on its own cells, with annotated
// and with predicted masks. Folds can run as separate jobs into one CV folder (`--fold K`), then
// `collectClassifierCv` merges them: mean ± sd over folds, and the out-of-fold predictions pooled.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { cropSpecOf } from '../config/classifier.js';
import { stratifiedKFoldSplits } from '../data/split.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { meanSd, type CrossValidateOptions } from '../train/cv.js';
import { DEFAULT_MODEL_DIR, loadSegmenter } from '../infer/segmenter.js';
import { cellKey, loadLabelledCells, predictedMasks, type CellMask, type LoadedCells } from './cells.js';
import { CELL_TYPES } from './cell-types.js';
import { scoreBySource, type CellPrediction, type CellScores } from './score.js';
import { trainClassifier, withoutPredictions } from './train.js';
import type { ClassifierEvaluation, MaskChoice } from './evaluate.js';
import { renderCvSummaryHtml } from './cv-report.js';
import { renderConfusionPng, renderMistakesPng } from './figures.js';
import { mistakeTiles } from './report.js';

/** What a segmenter's cross-validation takes: sources, the CV folder, the folds, and progress callbacks. */
export type ClassifierCvOptions = CrossValidateOptions;

const FOLD_JSON = 'fold.json';

/** What one finished fold leaves in fold-K/fold.json. */
export interface ClassifierCvFold {
  kind: 'cell-type';
  fold: number;
  of: number;
  runDir: string;
  bestEpoch: number;
  seconds: number;
  threshold: number;
  scores: Partial<Record<MaskChoice, Omit<ClassifierEvaluation, 'predictions'>>>;
  predictions: Partial<Record<MaskChoice, CellPrediction[]>>;
}

type Stat = { mean: number; sd: number; folds: number };

/** Over folds, for one kind of mask. */
export interface MaskCvSummary {
  accuracy: Stat;
  balancedAccuracy: Stat;
  macroF1: Stat;
  macroF1Main: Stat;
  /** Per type: F1, precision and recall over the folds where they are defined. */
  perClass: Record<string, { f1: Stat; precision: Stat; recall: Stat }>;
  /** Every fold's held-out cells pooled (each cell predicted once, by the fold that did not train on it). */
  pooled: { pooled: CellScores; sources: Array<{ source: string } & CellScores> };
  /** Held-out cells at or above their fold's uncertain threshold, and how often they were right. */
  confident: { cells: number; of: number; accuracy: number | null };
}

export interface ClassifierCvSummary {
  kind: 'cell-type';
  preset: string;
  folds: number;
  cells: number;
  seconds: number;
  masks: Partial<Record<MaskChoice, MaskCvSummary>>;
  perFold: Array<Omit<ClassifierCvFold, 'predictions'>>;
  config: unknown;
}

/** Fold f's train and test ids per source: stratifiedKFoldSplits of each source's cells by type. */
export function classifierFoldSplits(loaded: LoadedCells, folds: number, seed: number): Array<Record<string, { train: string[]; test: string[] }>> {
  const perSource = loaded.sources.map((s) => ({ name: s.name, ids: s.cells.map((c) => c.id), splits: stratifiedKFoldSplits(s.cells.map((c) => c.label), folds, seed) }));
  return Array.from({ length: folds }, (_, k) =>
    Object.fromEntries(perSource.map((p) => [p.name, { train: p.splits[k].train.map((i) => p.ids[i]), test: p.splits[k].test.map((i) => p.ids[i]) }])),
  );
}

/** The configured segmenter's masks of every loaded cell (made once for all folds), or null when the config asks for none. */
async function predictedForAll(config: RunConfig, loaded: LoadedCells, log: (l: string) => void): Promise<Map<string, CellMask> | undefined> {
  const choice = config.classifier!.predictedMasks;
  if (choice === false) return undefined;
  const dir = typeof choice === 'string' ? choice : DEFAULT_MODEL_DIR;
  const started = performance.now();
  const segmenter = await loadSegmenter({ model: dir, classify: false });
  try {
    const masks = await predictedMasks(segmenter, loaded.sources.flatMap((s) => s.cells));
    log(`predicted masks of ${masks.size} cells with ${dir} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return masks;
  } finally {
    segmenter.dispose();
  }
}

export async function crossValidateClassifier(config: RunConfig, options: ClassifierCvOptions): Promise<ClassifierCvSummary | null> {
  const log = options.log ?? ((l: string) => console.log(l));
  if (options.fold !== undefined && (!Number.isInteger(options.fold) || options.fold < 1 || options.fold > options.folds)) {
    throw new Error(`--fold must be between 1 and --folds (${options.folds}), got ${options.fold}`);
  }
  const loaded = await loadLabelledCells(options.sources);
  loaded.notes.forEach((n) => log(n));
  const splits = classifierFoldSplits(loaded, options.folds, config.data.splitSeed);
  const predicted = await predictedForAll(config, loaded, log);
  const wanted = options.fold !== undefined ? [options.fold] : splits.map((_, k) => k + 1);
  for (const k of wanted) {
    const split = splits[k - 1];
    const started = performance.now();
    const held = Object.values(split).reduce((n, s) => n + s.test.length, 0);
    log(`fold ${k}/${options.folds}: ${held} held-out cells`);
    const runDir = join(options.cvDir, `fold-${k}`);
    const run = await trainClassifier(config, { sources: options.sources, outDir: options.cvDir, runDir, split, loaded, predicted, log: (l) => log(`  ${l}`), onBatch: options.onBatch });
    const evaluations = { truth: run.test.truth, ...(run.test.predicted ? { predicted: run.test.predicted } : {}) } as Partial<Record<MaskChoice, ClassifierEvaluation>>;
    const fold: ClassifierCvFold = {
      kind: 'cell-type',
      fold: k,
      of: options.folds,
      runDir: run.runDir,
      bestEpoch: run.bestEpoch,
      seconds: (performance.now() - started) / 1000,
      threshold: run.test.truth.threshold,
      scores: Object.fromEntries(Object.entries(evaluations).map(([m, e]) => [m, withoutPredictions(e!)])),
      predictions: Object.fromEntries(Object.entries(evaluations).map(([m, e]) => [m, e!.predictions])),
    };
    await writeJsonAtomic(join(runDir, FOLD_JSON), fold);
    const t = run.test.truth.pooled;
    log(`fold ${k}: accuracy ${t.metrics.accuracy?.toFixed(3)}, macro-F1 (4 main) ${t.macroF1Main?.toFixed(3)} with annotated masks`);
  }
  return options.fold !== undefined ? null : collectClassifierCv(options.cvDir, { log, loaded });
}

function statOf(values: ReadonlyArray<number | null>): Stat {
  const defined = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return defined.length === 0 ? { mean: Number.NaN, sd: Number.NaN, folds: 0 } : { ...meanSd(defined), folds: defined.length };
}

function summarizeMasks(folds: readonly ClassifierCvFold[], masks: MaskChoice): MaskCvSummary {
  const scores = folds.map((f) => f.scores[masks]!.pooled);
  const predictions = folds.flatMap((f) => f.predictions[masks] ?? []);
  const kept = scores.reduce((n, s) => n + s.confident.cells, 0);
  const keptRight = scores.reduce((n, s) => n + s.confident.cells * (s.confident.accuracy ?? 0), 0);
  return {
    accuracy: statOf(scores.map((s) => s.metrics.accuracy)),
    balancedAccuracy: statOf(scores.map((s) => s.metrics.balancedAccuracy)),
    macroF1: statOf(scores.map((s) => s.metrics.macroF1)),
    macroF1Main: statOf(scores.map((s) => s.macroF1Main)),
    perClass: Object.fromEntries(
      CELL_TYPES.map((t) => [
        t,
        {
          f1: statOf(scores.map((s) => (s.metrics.perClass[t].support > 0 ? s.metrics.perClass[t].f1 : null))),
          precision: statOf(scores.map((s) => s.metrics.perClass[t].precision)),
          recall: statOf(scores.map((s) => s.metrics.perClass[t].recall)),
        },
      ]),
    ),
    // Each fold has its own threshold: the pooled sets count no confident cells (see `confident`).
    pooled: scoreBySource(predictions, Number.NaN),
    confident: { cells: kept, of: scores.reduce((n, s) => n + s.cells, 0), accuracy: kept === 0 ? null : Math.round(keptRight) / kept },
  };
}

/** Merges the finished folds of a classifier CV folder into cv.json, cv.html and its pictures. */
export async function collectClassifierCv(cvDir: string, options: { log?: (l: string) => void; allowMissing?: boolean; loaded?: LoadedCells } = {}): Promise<ClassifierCvSummary> {
  const log = options.log ?? ((l: string) => console.log(l));
  const dir = resolve(cvDir);
  const folds: ClassifierCvFold[] = [];
  let config: RunConfig | undefined;
  for (const entry of (await readdir(dir)).filter((e) => /^fold-\d+$/.test(e))) {
    const fold = await readFile(join(dir, entry, FOLD_JSON), 'utf8').then((t) => JSON.parse(t) as ClassifierCvFold, () => null);
    if (!fold) {
      log(`${join(dir, entry)}: no ${FOLD_JSON} (not finished); left out`);
      continue;
    }
    if (fold.kind !== 'cell-type') throw new Error(`${join(dir, entry, FOLD_JSON)}: not a fold of a classifier cross-validation`);
    const foldConfig = JSON.parse(await readFile(join(dir, entry, 'config.json'), 'utf8')) as RunConfig;
    if (config && JSON.stringify(foldConfig) !== JSON.stringify(config)) {
      throw new Error(`${join(dir, entry)}: this fold was trained with another configuration than the others; one CV folder holds one cross-validation`);
    }
    config = foldConfig;
    folds.push(fold);
  }
  if (folds.length < 2) throw new Error(`${dir}: ${folds.length} finished fold(s); need at least 2 to report mean ± sd`);
  folds.sort((a, b) => a.fold - b.fold);
  const missing = Array.from({ length: folds[0].of }, (_, i) => i + 1).filter((k) => !folds.some((f) => f.fold === k));
  if (missing.length > 0 && !options.allowMissing) {
    throw new Error(`${dir}: fold(s) ${missing.join(', ')} have not finished; run them (cv --fold K) or collect with --allow-missing`);
  }
  const kinds = (['truth', 'predicted'] as const).filter((m) => folds.every((f) => f.scores[m]));
  const summary: ClassifierCvSummary = {
    kind: 'cell-type',
    preset: config!.preset,
    folds: folds.length,
    cells: folds.reduce((n, f) => n + f.scores.truth!.pooled.cells, 0),
    seconds: folds.reduce((t, f) => t + f.seconds, 0),
    masks: Object.fromEntries(kinds.map((m) => [m, summarizeMasks(folds, m)])),
    perFold: folds.map(({ predictions: _p, ...rest }) => rest),
    config,
  };
  await writeJsonAtomic(join(dir, 'cv.json'), summary);
  for (const m of kinds) {
    const title = `${summary.folds}-fold CV, held-out cells pooled, ${m === 'truth' ? 'annotated' : 'predicted'} masks`;
    await writeFileAtomic(join(dir, `confusion-${m}.png`), await renderConfusionPng(summary.masks[m]!.pooled.pooled.metrics.confusion, CELL_TYPES, title));
  }
  const loaded = options.loaded ?? (await loadLabelledCells(folds[0].scores.truth!.sources.map((s) => ({ name: s.dataset, dir: s.dir }))));
  const cells = new Map(loaded.sources.flatMap((s) => s.cells).map((c) => [cellKey(c), c]));
  const crop = cropSpecOf(config!.data.size, config!.classifier!);
  const tiles = mistakeTiles(folds.flatMap((f) => f.predictions.truth ?? []), cells, crop);
  await writeFileAtomic(join(dir, 'mistakes.png'), await renderMistakesPng(tiles, 'most confident mistakes over all folds (annotated masks)'));
  await writeFileAtomic(join(dir, 'cv.html'), renderCvSummaryHtml(summary));
  log(`cross-validation of ${folds.length} fold(s) written to ${dir} (cv.json, cv.html)`);
  return summary;
}
