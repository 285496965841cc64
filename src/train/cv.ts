// k-fold cross-validation over every image: each fold trains the preset from scratch on the other
// folds and is scored on its own (at native size too); the table reports mean ± sd per class.
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import type { RunConfig } from '../config/schema.js';
import { loadDataset } from '../data/dataset.js';
import { kFoldSplits } from '../data/split.js';
import { loadModelForEvaluation, evaluateModel } from '../infer/evaluate.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { renderCvHtml, type CvSummary, type CvFold } from '../report/cv.js';
import { trainRun } from './run.js';
import type { BatchProgress } from './loop.js';

export interface CrossValidateOptions {
  dataDir: string;
  outDir: string;
  folds: number;
  log?: (line: string) => void;
  onBatch?: (p: BatchProgress) => void;
}

const KEYS = ['background', 'cytoplasm', 'nucleus', 'mean', 'foreground', 'wholeCell'] as const;

/** Mean and sample standard deviation (n - 1), the usual way k-fold results are reported. */
export function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

function summarize(folds: CvFold[], pick: (f: CvFold) => SegmentationMetrics): CvSummary['native'] {
  return Object.fromEntries(KEYS.map((k) => [k, meanSd(folds.map((f) => pick(f).dice[k]))])) as CvSummary['native'];
}

export async function crossValidate(config: RunConfig, options: CrossValidateOptions): Promise<CvSummary> {
  const log = options.log ?? ((l: string) => console.log(l));
  const { samples } = await loadDataset({ dir: options.dataDir, size: config.data.size, fit: config.data.fit });
  const ids = samples.map((s) => s.id).sort();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const cvDir = resolve(options.outDir, `cv-${config.preset}-${stamp}`);
  const splits = kFoldSplits(ids.length, options.folds, config.data.splitSeed);
  const folds: CvFold[] = [];
  const started = performance.now();
  for (const [k, split] of splits.entries()) {
    log(`fold ${k + 1}/${options.folds}: ${split.train.length} train / ${split.test.length} test images`);
    const run = await trainRun(config, {
      dataDir: options.dataDir,
      outDir: cvDir,
      runDir: join(cvDir, `fold-${k + 1}`),
      split: { train: split.train.map((i) => ids[i]), test: split.test.map((i) => ids[i]) },
      log: (l) => log(`  ${l}`),
      onBatch: options.onBatch,
    });
    const loaded = await loadModelForEvaluation(run.runDir);
    const scores = await evaluateModel(loaded, options.dataDir, { tta: config.train.tta, ids: split.test.map((i) => ids[i]) });
    loaded.model.dispose();
    folds.push({ fold: k + 1, runDir: run.runDir, bestEpoch: run.best.epoch, images: scores.native.images, modelSize: scores.metrics, native: scores.native });
    log(`fold ${k + 1}: native Dice nucleus ${scores.native.dice.nucleus.toFixed(4)} cytoplasm ${scores.native.dice.cytoplasm.toFixed(4)} whole cell ${scores.native.dice.wholeCell.toFixed(4)}`);
  }
  const summary: CvSummary = {
    preset: config.preset,
    folds: options.folds,
    images: ids.length,
    seconds: (performance.now() - started) / 1000,
    native: summarize(folds, (f) => f.native),
    modelSize: summarize(folds, (f) => f.modelSize),
    perFold: folds,
    config,
  };
  await writeJsonAtomic(join(cvDir, 'cv.json'), summary);
  await writeFileAtomic(join(cvDir, 'cv.html'), renderCvHtml(summary));
  log(`cross-validation written to ${cvDir} (cv.json, cv.html)`);
  return summary;
}
