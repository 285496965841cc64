// A training run end to end: data, split, model, the loop, and the run folder (config, split,
// per-epoch metrics, checkpoints, best model, curves, prediction pictures, report.html).
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { parseRunConfig, type RunConfig } from '../config/schema.js';
import { loadDataset, labelsOf } from '../data/dataset.js';
import { sourceOfFolder, type DataSource } from '../data/locate.js';
import type { Sample } from '../data/types.js';
import { isPadFit, type SquareFit } from '../data/fit-square.js';
import { adam } from '../engine/adam.js';
import { createModel } from '../models/registry.js';
import { defaultMetadata, loadModel, resolveModelDir, saveModel, type ModelMetadata } from '../models/io.js';
import { squareFitOf } from '../models/preprocessing.js';
import { makeSplits, readSplitFile, toRecordedSplits, type SplitFile } from './splits.js';
import { renderPredictionGrid } from '../report/grid.js';
import { renderCurves } from '../report/curves.js';
import { renderReportHtml } from '../report/html.js';
import { lossFunction, softDice } from './losses.js';
import { trainEpochs, type ArraySet, type BatchProgress } from './loop.js';
import { loadCheckpointModel, readCheckpointState, restoreOptimizer, writeCheckpoint } from './checkpoint.js';
import type { EpochRecord } from './types.js';
import { historyCsv } from './history.js';

export interface TrainRunOptions {
  /**
   * The data sources (data/locate.ts resolveSources), each split on its own. A resumed run may leave
   * them out: it reads the folders its split.json records.
   */
  sources?: DataSource[];
  /** One folder of image/mask pairs: the same as `sources: [{ name: basename(dir), dir }]`. */
  dataDir?: string;
  /** A model folder whose weights the run starts from (fine-tuning) instead of a fresh initialisation. */
  initModelDir?: string;
  /** Parent folder of run folders. */
  outDir: string;
  /** An existing run folder to continue from its last checkpoint. */
  resumeDir?: string;
  /** Epoch count for a resumed run, when it should go further than its config says. */
  resumeEpochs?: number;
  log?: (line: string) => void;
  onBatch?: (p: BatchProgress) => void;
  /** Exact run folder (default: `<outDir>/<preset>-<date>-<time>`). */
  runDir?: string;
  /**
   * Train/test ids chosen by the caller (cross-validation folds) instead of the seeded split: per source
   * name, or one { train, test } when there is one source.
   */
  split?: { train: string[]; test: string[] } | Record<string, { train: string[]; test: string[] }>;
}

export interface TrainRunResult {
  runDir: string;
  config: RunConfig;
  history: EpochRecord[];
  best: EpochRecord;
}

function runId(config: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${config.preset}-${stamp}`;
}

/** Samples of several sources, source after source, as one set (with which source each image came from). */
function toArraySet(groups: ReadonlyArray<{ name: string; samples: Sample[] }>, fit?: SquareFit): ArraySet {
  const samples = groups.flatMap((g) => g.samples);
  const indices = samples.map((_, i) => i);
  const pixels = samples.length > 0 ? samples[0].image.data.length : 0;
  const images = new Uint8Array(samples.length * pixels);
  samples.forEach((s, i) => images.set(s.image.data, i * pixels));
  const set: ArraySet = { images, labels: labelsOf(samples, indices), count: samples.length };
  if (groups.length > 1) {
    let start = 0;
    set.sources = groups.map((g) => {
      const range = { name: g.name, start, count: g.samples.length };
      start += g.samples.length;
      return range;
    });
    set.sourceIndex = Uint8Array.from(groups.flatMap((g, k) => g.samples.map(() => k)));
  }
  return fit ? { ...set, native: { fit, masks: samples.map((s) => s.originalMask) } } : set;
}

function pickByIds(byId: Map<string, Sample>, ids: string[], where: string): Sample[] {
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new Error(`${where}: ${missing.length} image(s) of the recorded split are not in the data (${missing.slice(0, 5).join(', ')})`);
  }
  return ids.map((id) => byId.get(id)!);
}

/** The model a fine-tuning run starts from, checked against the run's configuration. */
async function loadInitModel(dir: string, config: RunConfig): Promise<tfl.LayersModel> {
  const loaded = await loadModel(await resolveModelDir(dir));
  const pre = loaded.metadata.preprocessing;
  const problems = [
    loaded.metadata.architecture !== config.model.name ? `architecture ${loaded.metadata.architecture}, the preset's is ${config.model.name}` : '',
    pre.inputSize !== config.data.size ? `input size ${pre.inputSize}, the run's is ${config.data.size}` : '',
    // 'pad' and 'pad-smooth' differ only in how a larger crop is shrunk: a model of one fine-tunes under the other.
    squareFitOf(pre) !== config.data.fit && !(isPadFit(squareFitOf(pre)) && isPadFit(config.data.fit)) ? `fit ${squareFitOf(pre)}, the run's is ${config.data.fit}` : '',
    (pre.normalize ?? 'scale') !== config.data.normalize ? `normalize ${pre.normalize ?? 'scale'}, the run's is ${config.data.normalize}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    loaded.model.dispose();
    throw new Error(`--init ${loaded.dir}: the model does not match the run (${problems.join('; ')}); pick a preset or --config that matches it`);
  }
  return loaded.model;
}

function compile(model: tfl.LayersModel, config: RunConfig): void {
  model.compile({
    optimizer: adam(config.train.learningRate),
    loss: lossFunction(config.train.loss),
    metrics: [softDice],
  });
}

/**
 * The number that picks the best epoch: on validation when there is one, else on test (as the study
 * did). Mean Dice is taken at each image's own size when the record has it, the size results are
 * used and reported at; the study's global soft Dice stays at the model's size, as the study measured it.
 */
export function selectionScore(record: EpochRecord, config: RunConfig): number {
  const onVal = record.val !== undefined;
  if (config.train.selectBy === 'meanDice') {
    // With several sources, each counts the same, however many pixels its images have.
    const bySource = onVal ? record.valNativeBySource : record.testNativeBySource;
    const perSource = bySource ? Object.values(bySource) : [];
    if (perSource.length > 1) return perSource.reduce((sum, m) => sum + m.dice.mean, 0) / perSource.length;
    const native = onVal ? record.valNative : record.testNative;
    return native?.dice.mean ?? (onVal ? record.valMeanDice : record.testMeanDice) ?? Number.NaN;
  }
  return (onVal ? record.valDice : record.testDice) ?? Number.NaN;
}

function selectionLabel(config: RunConfig): string {
  const metric = config.train.selectBy === 'meanDice' ? "mean Dice at each image's own size" : 'global soft Dice';
  return config.train.valFraction > 0
    ? `Best epoch chosen by ${metric} on a validation part carved from the training images; the test split played no part in it.`
    : `Best epoch chosen by test-split ${metric}, as the study did: optimistic, since no separate validation split picks it.`;
}

export async function trainRun(configInput: RunConfig, options: TrainRunOptions): Promise<TrainRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  let config = configInput;
  let runDir: string;
  let state = null as Awaited<ReturnType<typeof readCheckpointState>>;
  if (options.resumeDir) {
    runDir = resolve(options.resumeDir);
    const configPath = join(runDir, 'config.json');
    config = parseRunConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);
    if (options.resumeEpochs) config = { ...config, train: { ...config.train, epochs: options.resumeEpochs } };
    state = await readCheckpointState(runDir);
    if (!state) throw new Error(`${runDir}: no checkpoint.json; nothing to resume (start a new run instead)`);
    log(`resuming ${runDir} after epoch ${state.epoch}`);
  } else {
    runDir = resolve(options.runDir ?? join(options.outDir, runId(config)));
    await mkdir(runDir, { recursive: true });
  }

  await removeLeftovers(runDir);
  const { size, fit, normalize } = config.data;
  let split: SplitFile | undefined;
  if (state) split = readSplitFile(JSON.parse(await readFile(join(runDir, 'split.json'), 'utf8')), join(runDir, 'split.json'), options.dataDir ?? options.sources?.[0]?.dir);
  const sources: DataSource[] =
    options.sources ??
    (options.dataDir ? [sourceOfFolder(options.dataDir)] : undefined) ??
    split?.sources.map((s) => ({ name: s.name, dir: s.dir })) ??
    [];
  if (sources.length === 0) throw new Error('trainRun: no data sources given');
  const loaded: Array<DataSource & { byId: Map<string, Sample> }> = [];
  for (const source of sources) {
    const dataset = await loadDataset({ dir: source.dir, size, fit });
    for (const issue of dataset.issues) log(`skipped ${issue.file}: ${issue.problem}`);
    for (const m of dataset.strayMasks) log(`${m.file}: ${m.pixels} mask pixel(s) at gray level(s) ${m.levels.join(', ')} moved to the nearest class`);
    loaded.push({ ...source, byId: new Map(dataset.samples.map((s) => [s.id, { ...s, source: source.name }])) });
  }
  if (!split) {
    let given = options.split as Record<string, { train: string[]; test: string[] }> | undefined;
    if (options.split && Array.isArray(options.split.train)) {
      if (sources.length > 1) throw new Error('trainRun: a single { train, test } split needs a single source');
      given = { [sources[0].name]: options.split as { train: string[]; test: string[] } };
    }
    split = makeSplits(
      loaded.map((l) => ({ name: l.name, dir: l.dir, ids: [...l.byId.keys()] })),
      { testFraction: config.data.testFraction, valFraction: config.train.valFraction, seed: config.data.splitSeed, trainLimit: config.data.trainLimit, given },
    );
  }
  const groups = (part: 'train' | 'validation' | 'test') =>
    split!.sources.map((s) => {
      const source = loaded.find((l) => l.name === s.name);
      if (!source) throw new Error(`split.json: data source "${s.name}" is not among the data given (${loaded.map((l) => l.name).join(', ')})`);
      return { name: s.name, samples: pickByIds(source.byId, s[part], `split.json (${s.name})`) };
    });
  const trainGroups = groups('train');
  const valGroups = groups('validation');
  const testGroups = groups('test');
  await writeJsonAtomic(join(runDir, 'config.json'), config);
  await writeJsonAtomic(join(runDir, 'split.json'), split);
  const count = (g: typeof trainGroups) => g.reduce((n, x) => n + x.samples.length, 0);
  for (const [k, s] of split.sources.entries()) {
    log(`data: ${s.name} (${s.dir}): ${trainGroups[k].samples.length} train / ${valGroups[k].samples.length} validation / ${testGroups[k].samples.length} test images`);
  }
  log(`${count(trainGroups)} train / ${count(valGroups)} validation / ${count(testGroups)} test images ${isPadFit(fit) ? 'padded into' : 'at'} ${size}x${size}; run folder ${runDir}`);
  const testSamples = testGroups.flatMap((g) => g.samples);

  let model: tfl.LayersModel;
  if (state) {
    model = await loadCheckpointModel(runDir, state);
    compile(model, config);
    await restoreOptimizer(runDir, state, model);
  } else if (options.initModelDir) {
    model = await loadInitModel(options.initModelDir, config);
    log(`starting from the weights of ${options.initModelDir}`);
    compile(model, config);
  } else {
    const { name, ...modelOptions } = config.model;
    model = createModel(name, { ...modelOptions, inputSize: size, seed: config.train.seed });
    compile(model, config);
  }

  const metadata: ModelMetadata = {
    ...defaultMetadata(config.model.name, size, fit, normalize),
    preset: config.preset,
    inference: { tta: config.inference.tta },
    splits: toRecordedSplits(split),
  };
  const history: EpochRecord[] = state ? [...state.history] : [];
  let best = state ? history.find((r) => r.epoch === state!.bestEpoch) : undefined;
  const isBetter = (r: EpochRecord) => !best || selectionScore(r, config) > selectionScore(best, config);
  const shown = testSamples.slice(0, Math.min(config.report.predictionImages, testSamples.length));
  const predictionFiles: Array<{ epoch: number; file: string }> = history
    .filter((r) => r.epoch % config.report.predictionEvery === 0 || r.epoch === 1)
    .map((r) => ({ epoch: r.epoch, file: predictionFileName(r.epoch) }));

  try {
    await trainEpochs({
      model,
      train: toArraySet(trainGroups),
      validation: count(valGroups) > 0 ? toArraySet(valGroups, fit) : undefined,
      test: toArraySet(testGroups, fit),
      augment: config.augment,
      tta: config.train.tta,
      pixels: { scale: metadata.preprocessing.scale, normalize: metadata.preprocessing.normalize },
      sourceBalance: config.train.sourceBalance,
      schedule: {
        kind: config.train.schedule,
        learningRate: config.train.learningRate,
        minLearningRate: config.train.minLearningRate,
        warmupEpochs: config.train.warmupEpochs,
      },
      size,
      fromEpoch: (state?.epoch ?? 0) + 1,
      epochs: config.train.epochs,
      batchSize: config.train.batchSize,
      seed: config.train.seed,
      onBatch: options.onBatch,
      onEpoch: async (record, predictions) => {
        history.push(record);
        log(formatEpochLine(record, config.train.epochs));
        if (isBetter(record)) {
          best = record;
          await saveModel(model, join(runDir, 'model'), { ...metadata, epoch: record.epoch, metrics: record.test });
        }
        // The checkpoint first: metrics.json never lists an epoch that --resume could not continue from.
        await writeCheckpoint(runDir, model, metadata, { epoch: record.epoch, history, bestEpoch: best!.epoch });
        await writeJsonAtomic(join(runDir, 'metrics.json'), history);
        await writeFileAtomic(join(runDir, 'metrics.csv'), historyCsv(history));
        const last = record.epoch === config.train.epochs;
        if (record.epoch === 1 || record.epoch % config.report.predictionEvery === 0 || last) {
          const pixels = size * size;
          const rows = shown.map((s, i) => ({
            id: s.id,
            image: s.image,
            truth: s.mask,
            pred: { width: size, height: size, data: predictions.labels.slice(i * pixels, (i + 1) * pixels) },
          }));
          const file = predictionFileName(record.epoch);
          await writeFileAtomic(join(runDir, file), await renderPredictionGrid(rows, { title: `${config.preset}, epoch ${record.epoch}` }));
          if (!predictionFiles.some((p) => p.epoch === record.epoch)) predictionFiles.push({ epoch: record.epoch, file });
        }
        await writeFileAtomic(join(runDir, 'curves.png'), await renderCurves(history));
        await writeFileAtomic(
          join(runDir, 'report.html'),
          renderReportHtml({
            runId: runDir.split('/').pop()!,
            title: `leukoseg ${config.preset}`,
            config,
            epochs: history,
            best: { epoch: best!.epoch, metrics: best!.test },
            curvesFile: 'curves.png',
            predictionFiles,
            notes: [selectionLabel(config)],
          }),
        );
        const patience = config.train.earlyStopPatience;
        if (patience > 0 && record.epoch - best!.epoch >= patience) {
          log(`early stop: no better ${config.train.valFraction > 0 ? 'validation' : 'test'} score for ${patience} epochs (best epoch ${best!.epoch})`);
          return 'stop';
        }
      },
    });
  } finally {
    // compile() was handed an optimizer instance, so the model does not own (or free) Adam's moments.
    model.optimizer?.dispose();
    model.dispose();
  }
  return { runDir, config, history, best: best! };
}

/** Temporary folders a killed run left behind (a model or checkpoint half-written, never referenced). */
async function removeLeftovers(runDir: string): Promise<void> {
  const leftover = /\.(tmp|old)-\d+-[0-9a-f]+$/;
  for (const dir of [runDir, join(runDir, 'checkpoints')]) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries.filter((e) => leftover.test(e))) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

function predictionFileName(epoch: number): string {
  return `predictions-epoch-${String(epoch).padStart(2, '0')}.png`;
}

export function formatEpochLine(r: EpochRecord, epochs: number): string {
  const d = r.testDicePerClass;
  const native = r.valNative ? ` (own size ${r.valNative.dice.mean.toFixed(4)})` : '';
  const val = r.valMeanDice !== undefined ? `val mean Dice ${r.valMeanDice.toFixed(4)}${native}  ` : '';
  return (
    `epoch ${r.epoch}/${epochs}  loss ${r.trainLoss.toFixed(4)}  train Dice ${r.trainDice.toFixed(4)}  ${val}` +
    `test Dice ${r.testDice.toFixed(4)} (bg ${d.background.toFixed(3)} cyto ${d.cytoplasm.toFixed(3)} nuc ${d.nucleus.toFixed(3)})  ` +
    `${r.trainSeconds.toFixed(1)} s, ${(1000 / r.imagesPerSecond).toFixed(1)} ms/image, tensors ${r.numTensors}, rss ${r.rssMiB.toFixed(0)} MiB`
  );
}
