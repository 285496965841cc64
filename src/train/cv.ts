// k-fold cross-validation: each fold trains the preset from scratch on the other folds and is scored
// on its own (at native size too); the table reports mean ± sd per class. With several data sources
// each is cut into k folds on its own and fold f holds fold f of every source. A fold can run alone
// (`cv --fold K`, one job of a batch system) into a shared CV folder; a stopped fold's job run again
// continues from its last checkpoint, a finished one's keeps its result; `collectCv` merges finished folds.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { parseRunConfig, type RunConfig } from '../config/schema.js';
import { loadDataset } from '../data/dataset.js';
import type { DataSource } from '../data/locate.js';
import { kFoldSplits } from '../data/split.js';
import { loadModelForEvaluation, evaluateModel } from '../infer/evaluate.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { renderCvHtml, type CvSummary, type CvFold } from '../report/cv.js';
import { trainRun } from './run.js';
import { readCheckpointState } from './checkpoint.js';
import type { SplitFile } from './splits.js';
import type { BatchProgress } from './loop.js';

export interface CrossValidateOptions {
  sources: DataSource[];
  /** The CV folder (every fold job of one cross-validation must name the same one). */
  cvDir: string;
  folds: number;
  /** Run only this fold (1-based); default: all, then collect. */
  fold?: number;
  log?: (line: string) => void;
  onBatch?: (p: BatchProgress) => void;
}

const KEYS = ['background', 'cytoplasm', 'nucleus', 'mean', 'foreground', 'wholeCell'] as const;
const FOLD_JSON = 'fold.json';

/** Mean and sample standard deviation (n - 1), the usual way k-fold results are reported. */
export function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

function summarize(folds: CvFold[], pick: (f: CvFold) => SegmentationMetrics): CvSummary['native'] {
  return Object.fromEntries(KEYS.map((k) => [k, meanSd(folds.map((f) => pick(f).dice[k]))])) as CvSummary['native'];
}

/** Fold f's train and test ids for every source, each source cut into `folds` folds on its own. */
export async function foldSplits(config: RunConfig, sources: readonly DataSource[], folds: number) {
  const perSource: Array<{ name: string; ids: string[]; splits: ReturnType<typeof kFoldSplits> }> = [];
  for (const source of sources) {
    const { samples } = await loadDataset({ dir: source.dir, size: config.data.size, fit: config.data.fit });
    const ids = samples.map((s) => s.id).sort();
    perSource.push({ name: source.name, ids, splits: kFoldSplits(ids.length, folds, config.data.splitSeed) });
  }
  return Array.from({ length: folds }, (_, k) =>
    Object.fromEntries(perSource.map((p) => [p.name, { train: p.splits[k].train.map((i) => p.ids[i]), test: p.splits[k].test.map((i) => p.ids[i]) }])),
  );
}

/**
 * Whether `runDir` holds a stopped run of this very fold (a checkpoint, the same configuration and
 * the same held-out ids per source), which the fold then continues instead of starting again (a
 * batch system's job may be stopped and rerun). A checkpoint of another configuration or split is
 * refused, never overwritten.
 */
async function stoppedFold(runDir: string, config: RunConfig, split: Record<string, { train: string[]; test: string[] }>): Promise<boolean> {
  if ((await readCheckpointState(runDir)) === null) return false;
  const configFile = join(runDir, 'config.json');
  // Read through today's schema: keys added since (with defaults that change nothing) do not count as a difference.
  const saved = parseRunConfig(JSON.parse(await readFile(configFile, 'utf8')), configFile);
  if (JSON.stringify(saved) !== JSON.stringify(parseRunConfig(config, 'the fold configuration'))) {
    throw new Error(`${configFile}: this stopped fold was trained with another configuration; delete ${runDir} to run the fold again with this one`);
  }
  const splitFile = join(runDir, 'split.json');
  const recorded = (JSON.parse(await readFile(splitFile, 'utf8')) as SplitFile).sources;
  const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((id, i) => id === [...b].sort()[i]);
  const names = Object.keys(split);
  if (recorded.length !== names.length || recorded.some((r) => !split[r.name] || !sameIds(r.test, split[r.name].test))) {
    throw new Error(`${splitFile}: this stopped fold held out other images than ${basename(runDir)} of this data; delete ${runDir} to run it again`);
  }
  return true;
}

/** Trains and scores one fold into `<cvDir>/fold-K`, writing its scores to fold.json there. */
async function runFold(config: RunConfig, options: CrossValidateOptions, k: number, split: Record<string, { train: string[]; test: string[] }>): Promise<CvFold> {
  const log = options.log ?? ((l: string) => console.log(l));
  const runDir = join(options.cvDir, `fold-${k}`);
  const trainCount = Object.values(split).reduce((n, s) => n + s.train.length, 0);
  const testCount = Object.values(split).reduce((n, s) => n + s.test.length, 0);
  const finished = await readFile(join(runDir, FOLD_JSON), 'utf8').then((t) => JSON.parse(t) as CvFold, () => null);
  if (finished) {
    // A batch system may run a finished fold's job again: its result stands.
    log(`fold ${k}/${options.folds} already finished in ${runDir} (delete that folder to run it again)`);
    return finished;
  }
  const resume = await stoppedFold(runDir, config, split);
  log(`fold ${k}/${options.folds}: ${trainCount} train / ${testCount} test images${resume ? ', continuing from its last checkpoint' : ''}`);
  const started = performance.now();
  const run = await trainRun(config, {
    sources: options.sources,
    outDir: options.cvDir,
    ...(resume ? { resumeDir: runDir } : { runDir, split }),
    log: (l) => log(`  ${l}`),
    onBatch: options.onBatch,
  });
  const loaded = await loadModelForEvaluation(run.runDir);
  // The fold's model records each source's held-out ids as its test split: evaluate scores exactly those.
  const all = await evaluateModel(loaded, options.sources, { tta: config.train.tta });
  loaded.model.dispose();
  const fold: CvFold = {
    fold: k,
    runDir: run.runDir,
    bestEpoch: run.best.epoch,
    images: all.native.images,
    modelSize: all.metrics,
    native: all.native,
    seconds: (performance.now() - started) / 1000,
    of: options.folds,
    ...(options.sources.length > 1 ? { bySource: Object.fromEntries(all.sources.map((e) => [e.dataset, e.native])) } : {}),
  };
  await writeJsonAtomic(join(runDir, FOLD_JSON), fold);
  log(`fold ${k}: native Dice nucleus ${all.native.dice.nucleus.toFixed(4)} cytoplasm ${all.native.dice.cytoplasm.toFixed(4)} whole cell ${all.native.dice.wholeCell.toFixed(4)}`);
  return fold;
}

export async function crossValidate(config: RunConfig, options: CrossValidateOptions): Promise<CvSummary | null> {
  const splits = await foldSplits(config, options.sources, options.folds);
  if (options.fold !== undefined) {
    if (!Number.isInteger(options.fold) || options.fold < 1 || options.fold > options.folds) {
      throw new Error(`--fold must be between 1 and --folds (${options.folds}), got ${options.fold}`);
    }
    await runFold(config, options, options.fold, splits[options.fold - 1]);
    return null;
  }
  for (const [k, split] of splits.entries()) await runFold(config, options, k + 1, split);
  return collectCv(options.cvDir, { log: options.log });
}

/**
 * Merges the finished folds of a CV folder (`fold-K/fold.json`) into cv.json and cv.html. Refuses a
 * folder whose folds disagree on the preset or fold count, and says which folds are missing.
 */
export async function collectCv(cvDir: string, options: { log?: (line: string) => void; allowMissing?: boolean } = {}): Promise<CvSummary> {
  const log = options.log ?? ((l: string) => console.log(l));
  const dir = resolve(cvDir);
  const entries = (await readdir(dir)).filter((e) => /^fold-\d+$/.test(e));
  const folds: CvFold[] = [];
  let config: RunConfig | undefined;
  for (const entry of entries) {
    const file = join(dir, entry, FOLD_JSON);
    const fold = await readFile(file, 'utf8').then((t) => JSON.parse(t) as CvFold, () => null);
    if (!fold) {
      log(`${join(dir, entry)}: no ${FOLD_JSON} (not finished); left out`);
      continue;
    }
    const configFile = join(dir, entry, 'config.json');
    const foldConfig = parseRunConfig(JSON.parse(await readFile(configFile, 'utf8')), configFile);
    if (config && JSON.stringify(foldConfig) !== JSON.stringify(config)) {
      throw new Error(`${file}: this fold was trained with another configuration than the others; one CV folder holds one cross-validation`);
    }
    config = foldConfig;
    folds.push(fold);
  }
  if (folds.length < 2) throw new Error(`${dir}: ${folds.length} finished fold(s); need at least 2 to report mean ± sd`);
  folds.sort((a, b) => a.fold - b.fold);
  const expected = Math.max(...folds.map((f) => f.of ?? f.fold));
  const missing = Array.from({ length: expected }, (_, i) => i + 1).filter((k) => !folds.some((f) => f.fold === k));
  if (missing.length > 0 && !options.allowMissing) {
    throw new Error(`${dir}: fold(s) ${missing.join(', ')} have not finished; run them (cv --fold K) or collect with --allow-missing`);
  }
  const summary: CvSummary = {
    preset: config!.preset,
    folds: folds.length,
    of: expected,
    missing,
    images: folds.reduce((n, f) => n + f.images, 0),
    seconds: folds.reduce((t, f) => t + (f.seconds ?? 0), 0),
    native: summarize(folds, (f) => f.native),
    modelSize: summarize(folds, (f) => f.modelSize),
    perFold: folds,
    config,
  };
  await writeJsonAtomic(join(dir, 'cv.json'), summary);
  await writeFileAtomic(join(dir, 'cv.html'), renderCvHtml(summary));
  const which = missing.length > 0 ? `${folds.length} of ${expected} folds (fold(s) ${missing.join(', ')} missing)` : `${expected} folds`;
  log(`cross-validation of ${which} written to ${dir} (cv.json, cv.html)`);
  return summary;
}
