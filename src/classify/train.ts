// Trains a white-cell type classifier (`train --preset wbc-type`): labelled cells of every source,
// split per source with the split seed and stratified by type, validation carved from training; crops
// augmented as the segmenters' pairs are; a class-weighted cross-entropy; the best epoch picked on the
// validation cells, whose predictions also set the uncertain threshold; with classifier.members > 1,
// that many networks so trained, saved as one model averaging them. Writes a run folder like the
// segmenters' (config.json, split.json, metrics.json/csv, model/, report.html and its pictures).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { cropSpecOf, selectedFeatures, type ClassifierConfig } from '../config/classifier.js';
import type { DataSource } from '../data/locate.js';
import { augmentPair, createRng } from '../data/augment.js';
import { categoricalCrossentropy } from '../engine/ops.js';
import { createModel } from '../models/registry.js';
import { copyIntoMember } from '../models/wbc-cnn.js';
import { defaultMetadata, loadModel, saveModel, type ModelMetadata } from '../models/io.js';
import { preprocessingFor } from '../models/preprocessing.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { makeSplits, toRecordedSplits, type SplitFile } from '../train/splits.js';
import { balancedEpochOrder, epochOrder, type BatchProgress } from '../train/loop.js';
import { learningRateAt } from '../train/schedule.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { cellKey, loadLabelledCells, type CellMask, type LabelledCell, type LoadedCells } from './cells.js';
import { CELL_TYPES } from './cell-types.js';
import { classificationMetrics, confusionOf } from './metrics.js';
import type { CellTypeInfo } from './model-info.js';
import { fitFeatureScaling, inputChannels, prepareCell, type PreparedCell } from './prepare.js';
import { batchTensors, predictCells } from './predict.js';
import { viewsFor, type CellViews } from './views.js';
import { chooseThreshold } from './threshold.js';
import { evaluateClassifier, type ClassifierEvaluation } from './evaluate.js';
import { likeliest, type CellPrediction } from './score.js';
import { writeClassifierReport } from './report.js';

export interface ClassifierRunOptions {
  sources: DataSource[];
  /** Parent folder of run folders. */
  outDir: string;
  /** Exact run folder (default `<outDir>/<preset>-<date>-<time>`). */
  runDir?: string;
  /** Train/test ids per source chosen by the caller (cross-validation folds) instead of the seeded stratified split. */
  split?: Record<string, { train: string[]; test: string[] }>;
  /** Cells already loaded from `sources` (cross-validation loads them once). */
  loaded?: LoadedCells;
  /** Predicted masks of the test cells already made (by cellKey); else made with the configured segmenter. */
  predicted?: ReadonlyMap<string, CellMask>;
  log?: (line: string) => void;
  onBatch?: (p: BatchProgress) => void;
}

/** Validation or test figures of one epoch. */
export interface SetScores {
  cells: number;
  /** Mean unweighted cross-entropy. */
  loss: number;
  accuracy: number | null;
  balancedAccuracy: number | null;
  macroF1: number | null;
}

export interface ClassifierEpochRecord {
  /** Which network of an ensemble (classifier.members > 1); absent for a single one. */
  member?: number;
  epoch: number;
  learningRate: number;
  /** Mean over the epoch's batches of the class-weighted loss that was minimised. */
  trainLoss: number;
  trainSeconds: number;
  val?: SetScores;
  test: SetScores;
}

export interface ClassifierRunResult {
  runDir: string;
  config: RunConfig;
  history: ClassifierEpochRecord[];
  bestEpoch: number;
  /** The best epoch's model on the test split, with annotated masks and (when configured) predicted ones. */
  test: { truth: ClassifierEvaluation; predicted?: ClassifierEvaluation };
}

function runId(config: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${config.preset}-${stamp}`;
}

/**
 * Loss weight of each class: proportional to its training count to the power -balance, scaled so
 * the mean weight over the training cells is 1 (classes without cells weigh 0).
 */
export function classWeights(labels: readonly number[], balance: number, classes = CELL_TYPES.length): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  const raw = counts.map((n) => (n === 0 ? 0 : n ** -balance));
  const total = labels.reduce((sum, l) => sum + raw[l], 0);
  return raw.map((w) => (total === 0 ? 0 : (w * labels.length) / total));
}

/**
 * The training targets of a batch (cells x 5): the smoothed one-hot of each label scaled by its
 * class weight, so Keras's cross-entropy of them is the class-weighted, label-smoothed loss.
 */
export function trainingTargets(labels: readonly number[], weights: readonly number[], smoothing: number): Float32Array {
  const k = CELL_TYPES.length;
  const target = new Float32Array(labels.length * k);
  labels.forEach((label, i) => {
    for (let c = 0; c < k; c++) target[i * k + c] = weights[label] * ((c === label ? 1 - smoothing : 0) + smoothing / k);
  });
  return target;
}

interface Prepared extends PreparedCell {
  cell: LabelledCell;
}

function setScores(probs: Float32Array, cells: readonly Prepared[]): SetScores {
  const k = CELL_TYPES.length;
  let loss = 0;
  const predicted: number[] = [];
  cells.forEach((c, i) => {
    const row = Array.from(probs.subarray(i * k, (i + 1) * k));
    loss -= Math.log(Math.max(row[c.cell.label], 1e-7));
    predicted.push(likeliest(row));
  });
  const m = classificationMetrics(confusionOf(cells.map((c) => c.cell.label), predicted, k), CELL_TYPES);
  return { cells: cells.length, loss: cells.length === 0 ? Number.NaN : loss / cells.length, accuracy: m.accuracy, balancedAccuracy: m.balancedAccuracy, macroF1: m.macroF1 };
}

/** Per-cell predictions of prepared cells from their probability rows (cells x 5). */
function cellPredictions(probs: Float32Array, cells: readonly Prepared[]): CellPrediction[] {
  const k = CELL_TYPES.length;
  return cells.map((c, i) => ({ id: c.cell.id, source: c.cell.source, label: c.cell.label, probs: Array.from(probs.subarray(i * k, (i + 1) * k)) }));
}

/** Higher is better; the loss is negated. */
export function selectionValue(scores: SetScores, by: ClassifierConfig['selectBy']): number {
  const v = by === 'loss' ? -scores.loss : by === 'accuracy' ? scores.accuracy : scores.macroF1;
  return v ?? Number.NEGATIVE_INFINITY;
}

const CSV_COLUMNS: Array<[string, (r: ClassifierEpochRecord) => number | null | undefined]> = [
  ['member', (r) => r.member ?? 1],
  ['epoch', (r) => r.epoch],
  ['learningRate', (r) => r.learningRate],
  ['trainLoss', (r) => r.trainLoss],
  ['valLoss', (r) => r.val?.loss],
  ['valAccuracy', (r) => r.val?.accuracy],
  ['valBalancedAccuracy', (r) => r.val?.balancedAccuracy],
  ['valMacroF1', (r) => r.val?.macroF1],
  ['testLoss', (r) => r.test.loss],
  ['testAccuracy', (r) => r.test.accuracy],
  ['testBalancedAccuracy', (r) => r.test.balancedAccuracy],
  ['testMacroF1', (r) => r.test.macroF1],
  ['trainSeconds', (r) => r.trainSeconds],
];

function historyCsv(history: readonly ClassifierEpochRecord[]): string {
  return [CSV_COLUMNS.map(([n]) => n).join(','), ...history.map((r) => CSV_COLUMNS.map(([, get]) => String(get(r) ?? '')).join(','))].join('\n') + '\n';
}

/** The cells of each part of the split, prepared with their annotated masks (a mask without a typable cell is noted and left out). */
function preparedParts(split: SplitFile, loaded: LoadedCells, cropSpec: CellTypeInfo['crop'], log: (l: string) => void) {
  const byKey = new Map(loaded.sources.flatMap((s) => s.cells).map((c) => [cellKey(c), c]));
  const part = (name: 'train' | 'validation' | 'test') =>
    split.sources.flatMap((s) =>
      s[name].flatMap((id) => {
        const cell = byKey.get(`${s.name}/${id}`);
        if (!cell) throw new Error(`split: image ${id} of "${s.name}" is not among the labelled cells`);
        const prepared = prepareCell(cell.image, cell.truth, cropSpec);
        if (!prepared) log(`${cell.imagePath}: its mask holds no cell with a nucleus; left out`);
        return prepared ? [{ ...prepared, cell }] : [];
      }),
    );
  return { train: part('train'), validation: part('validation'), test: part('test') };
}

export async function trainClassifier(config: RunConfig, options: ClassifierRunOptions): Promise<ClassifierRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cls = config.classifier;
  if (!cls) throw new Error(`preset ${config.preset} has no classifier section; it trains a segmenter (leukoseg train)`);
  // Cells are typed one crop at a time; a field-like window of several cells is a segmenter's option.
  if (config.augment.enabled && config.augment.neighbours > 0) {
    throw new Error(`augment.neighbours is ${config.augment.neighbours}, but it applies to segmentation training only; the classifier (preset ${config.preset}) must leave it at 0`);
  }
  const runDir = resolve(options.runDir ?? join(options.outDir, runId(config)));
  await mkdir(runDir, { recursive: true });
  const loaded = options.loaded ?? (await loadLabelledCells(options.sources));
  loaded.notes.forEach((n) => log(n));
  const split = makeSplits(
    loaded.sources.map((s) => ({ name: s.name, dir: s.dir, ids: s.cells.map((c) => c.id) })),
    {
      testFraction: config.data.testFraction,
      valFraction: config.train.valFraction,
      seed: config.data.splitSeed,
      trainLimit: config.data.trainLimit,
      given: options.split,
      strata: Object.fromEntries(loaded.sources.map((s) => [s.name, new Map(s.cells.map((c) => [c.id, c.label]))])),
    },
  );
  await writeJsonAtomic(join(runDir, 'config.json'), config);
  await writeJsonAtomic(join(runDir, 'split.json'), split);
  const crop = cropSpecOf(config.data.size, cls);
  const parts = preparedParts(split, loaded, crop, log);
  const count = (cells: readonly Prepared[], source: string) =>
    CELL_TYPES.map((_, t) => cells.filter((c) => c.cell.source === source && c.cell.label === t).length).join('/');
  for (const s of split.sources) {
    log(`data: ${s.name} (${s.dir}): cells per type (${CELL_TYPES.join('/')}) train ${count(parts.train, s.name)}, validation ${count(parts.validation, s.name)}, test ${count(parts.test, s.name)}`);
  }
  if (parts.train.length === 0) throw new Error('no training cells');

  const weights = classWeights(parts.train.map((c) => c.cell.label), cls.classBalance);
  const info: CellTypeInfo = {
    crop,
    input: cls.input,
    features: fitFeatureScaling(parts.train, selectedFeatures(cls)),
    threshold: 0,
    classWeights: weights,
    ...(cls.views !== 'none' ? { views: cls.views } : {}),
  };
  log(`class weights ${weights.map((w, i) => `${CELL_TYPES[i]} ${w.toFixed(2)}`).join(', ')}; input ${cls.input}, ${info.features.names.length} features, crop ${crop.size} px`);
  const pixels = { scale: 1 / 255, ...(config.data.normalize === 'percentile' ? { normalize: 'percentile' as const } : {}) };
  const { name, ...modelOptions } = config.model;
  const modelOptionsFor = (seed: number, members = 1) => ({
    ...modelOptions,
    inputSize: crop.size,
    seed,
    inputChannels: inputChannels(cls.input),
    featureCount: info.features.names.length,
    classCount: CELL_TYPES.length,
    ...(members > 1 ? { members } : {}),
  });
  const metadata: ModelMetadata = {
    ...defaultMetadata(name, crop.size),
    classNames: [...CELL_TYPES],
    maskLevels: [],
    preprocessing: { ...preprocessingFor(crop.size, 'stretch', config.data.normalize), resize: 'cell-crop' },
    preset: config.preset,
    task: 'cell-type',
    inference: { tta: config.inference.tta },
    splits: toRecordedSplits(split),
  };
  // The views the saved model averages (segment, evaluate); epochs are picked with train.tta's.
  const views = viewsFor(info, config.inference.tta);
  /** Keeps `model` as the run's model: the threshold from its validation predictions, then model/. */
  const keep = async (model: tfl.LayersModel, epoch: number, epochValProbs: Float32Array | null, test: SetScores) => {
    // The threshold comes from the validation cells of the model whose weights are kept, seen as it will see cells.
    const valProbs = epochValProbs && views !== epochViews(config) ? await predictCells(model, parts.validation, info, pixels, { views }) : epochValProbs;
    const choice = valProbs ? chooseThreshold(valProbs, parts.validation.map((c) => c.cell.label), cls.targetAccuracy) : null;
    if (choice) {
      info.threshold = choice.threshold;
      info.thresholdChoice = { targetAccuracy: choice.targetAccuracy, validationCells: choice.validationCells, keptCells: choice.keptCells, keptAccuracy: choice.keptAccuracy };
    }
    await saveModel(model, join(runDir, 'model'), { ...metadata, epoch, cellType: { ...info }, metrics: test });
    // The kept model's validation predictions, so choices (ensembles, stain, crop) can be compared on validation cells only.
    if (valProbs) await writeJsonAtomic(join(runDir, 'validation.json'), { epoch, predictions: cellPredictions(valProbs, parts.validation) });
  };

  const history: ClassifierEpochRecord[] = [];
  const memberBest: ClassifierEpochRecord[] = [];
  const members = cls.members;
  const networks: tfl.LayersModel[] = [];
  try {
    for (let m = 1; m <= members; m++) {
      // Member m starts from its own seed (weights, order, augmentation); one member is the seed itself.
      const seed = config.train.seed + (m - 1);
      const model = createModel(name, modelOptionsFor(seed));
      networks.push(model);
      const member = { member: m, of: members, seed };
      memberBest.push(await trainNetwork(model, config, parts, info, weights, pixels, member, history, { runDir, log, onBatch: options.onBatch, save: members === 1 ? keep : undefined }));
    }
    if (members > 1) {
      const ensemble = createModel(name, modelOptionsFor(config.train.seed, members));
      try {
        networks.forEach((model, i) => copyIntoMember(ensemble, model, i + 1));
        const valProbs = parts.validation.length > 0 ? await predictCells(ensemble, parts.validation, info, pixels, { views }) : null;
        const test = setScores(await predictCells(ensemble, parts.test, info, pixels, { views }), parts.test);
        const val = valProbs ? setScores(valProbs, parts.validation) : undefined;
        log(`ensemble of ${members}: ${val ? `val loss ${val.loss.toFixed(4)} accuracy ${val.accuracy?.toFixed(3)} macro-F1 ${val.macroF1?.toFixed(3)}` : 'no validation cells'}`);
        await keep(ensemble, memberBest[0].epoch, valProbs, test);
      } finally {
        ensemble.dispose();
      }
    }
  } finally {
    networks.forEach((model) => model.dispose());
  }
  const bestEpoch = memberBest[0].epoch;
  const bestEpochs = memberBest.map((r) => r.epoch);
  log(`best epoch ${bestEpochs.join(', ')} (by validation ${cls.selectBy}); uncertain below ${info.threshold.toFixed(2)}`);
  const test = await scoreTestSplit(runDir, options.sources, loaded, cls, options.predicted);
  await writeJsonAtomic(join(runDir, 'test.json'), { truth: withoutPredictions(test.truth), predicted: test.predicted ? withoutPredictions(test.predicted) : undefined });
  await writeClassifierReport(runDir, { config, history, bestEpoch, ...(members > 1 ? { memberBestEpochs: bestEpochs } : {}), test, loaded });
  return { runDir, config, history, bestEpoch, test };
}

type Parts = ReturnType<typeof preparedParts>;

/** The views each epoch's validation and test cells are predicted with: train.tta's flips or the crop alone. */
function epochViews(config: RunConfig): CellViews {
  return config.train.tta ? 'flips' : 'none';
}
type Pixels = { scale: number; normalize?: 'percentile' };
type KeepModel = (model: tfl.LayersModel, epoch: number, valProbs: Float32Array | null, test: SetScores) => Promise<void>;

/**
 * Trains one network for the configured epochs, appending its epochs to `history`, and returns its
 * best epoch's record (by validation `selectBy`). With `save`, it is called with the model at each
 * new best epoch; without, the best epoch's weights are put back into `model` at the end.
 */
async function trainNetwork(
  model: tfl.LayersModel,
  config: RunConfig,
  parts: Parts,
  info: CellTypeInfo,
  weights: readonly number[],
  pixels: Pixels,
  member: { member: number; of: number; seed: number },
  history: ClassifierEpochRecord[],
  options: { runDir: string; log: (line: string) => void; onBatch?: (p: BatchProgress) => void; save?: KeepModel },
): Promise<ClassifierEpochRecord> {
  const cls = config.classifier!;
  const { log } = options;
  // tfjs's own Adam, not the engine's fused one: that one writes the weights in place, and tfjs-wasm's
  // dense layers keep their packed weights by tensor id (XNNPACK), so they would go on computing with
  // the weights of the first step (measured: training loss 0.09 instead of 0.0003 after 40 steps on one
  // batch). Its cost is nothing beside the network's for 67 k weights.
  const optimizer = tf.train.adam(config.train.learningRate);
  model.compile({ optimizer, loss: categoricalCrossentropy });
  let best: ClassifierEpochRecord | undefined;
  let bestWeights: tf.Tensor[] = [];
  const trainSet = parts.train;
  const sourceNames = [...new Set(trainSet.map((c) => c.cell.source))];
  const sourceIndex = Uint8Array.from(trainSet.map((c) => sourceNames.indexOf(c.cell.source)));
  const { batchSize, epochs } = config.train;
  const seed = member.seed;
  const batches = Math.ceil(trainSet.length / batchSize);
  const schedule = { kind: config.train.schedule, learningRate: config.train.learningRate, minLearningRate: config.train.minLearningRate, warmupEpochs: config.train.warmupEpochs };
  const tag = member.of > 1 ? `member ${member.member}/${member.of} ` : '';
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = sourceNames.length > 1 ? balancedEpochOrder(sourceIndex, config.train.sourceBalance, seed, epoch) : epochOrder(trainSet.length, seed, epoch);
      const rng = createRng((seed * 1000003 + epoch) >>> 0);
      const started = performance.now();
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt(schedule, (epoch - 1) * batches + b, epochs * batches, batches);
        const picked = order.slice(b * batchSize, (b + 1) * batchSize).map((i) => trainSet[i]);
        const cells = picked.map((c) => ({ crop: augmentPair(c.crop.image, c.crop.mask, config.augment, rng), features: c.features }));
        const inputs = batchTensors(cells, info, pixels);
        const target = trainingTargets(picked.map((c) => c.cell.label), weights, cls.labelSmoothing);
        const y = tf.tensor2d(target, [picked.length, CELL_TYPES.length]);
        const loss = (await model.trainOnBatch(inputs.length > 1 ? inputs : inputs[0], y)) as number;
        tf.dispose([...inputs, y]);
        lossSum += loss;
        options.onBatch?.({ epoch, batch: b + 1, batches, loss: lossSum / (b + 1) });
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const views = epochViews(config);
      const valProbs = parts.validation.length > 0 ? await predictCells(model, parts.validation, info, pixels, { views }) : null;
      const testProbs = await predictCells(model, parts.test, info, pixels, { views });
      const record: ClassifierEpochRecord = {
        ...(member.of > 1 ? { member: member.member } : {}),
        epoch,
        learningRate: (optimizer as unknown as { learningRate: number }).learningRate,
        trainLoss: lossSum / batches,
        trainSeconds,
        ...(valProbs ? { val: setScores(valProbs, parts.validation) } : {}),
        test: setScores(testProbs, parts.test),
      };
      history.push(record);
      const shown = record.val ?? record.test;
      log(
        `${tag}epoch ${epoch}/${epochs}  loss ${record.trainLoss.toFixed(4)}  ${record.val ? 'val' : 'test'} loss ${shown.loss.toFixed(4)} accuracy ${shown.accuracy?.toFixed(3)} ` +
          `macro-F1 ${shown.macroF1?.toFixed(3)}  ${trainSeconds.toFixed(1)} s, tensors ${tf.memory().numTensors}`,
      );
      const score = (r: ClassifierEpochRecord) => selectionValue(r.val ?? r.test, cls.selectBy);
      if (!best || score(record) > score(best)) {
        best = record;
        if (options.save) await options.save(model, epoch, valProbs, record.test);
        else {
          tf.dispose(bestWeights);
          bestWeights = model.getWeights().map((w) => w.clone());
        }
      }
      await writeJsonAtomic(join(options.runDir, 'metrics.json'), history);
      await writeFileAtomic(join(options.runDir, 'metrics.csv'), historyCsv(history));
    }
    if (!options.save) model.setWeights(bestWeights);
  } finally {
    tf.dispose(bestWeights);
    optimizer.dispose();
  }
  return best!;
}

/** An evaluation without its per-cell predictions (for the JSON summaries). */
export function withoutPredictions(e: ClassifierEvaluation): Omit<ClassifierEvaluation, 'predictions'> {
  const { predictions: _predictions, ...rest } = e;
  return rest;
}

/** The saved best model on the test split: annotated masks, and predicted ones unless configured off. */
async function scoreTestSplit(
  runDir: string,
  sources: readonly DataSource[],
  loaded: LoadedCells,
  cls: ClassifierConfig,
  predicted: ReadonlyMap<string, CellMask> | undefined,
): Promise<ClassifierRunResult['test']> {
  const best = await loadModel(join(runDir, 'model'));
  try {
    const truth = await evaluateClassifier(best, sources, { loaded, masks: 'truth' });
    if (cls.predictedMasks === false) return { truth };
    const segmenter = typeof cls.predictedMasks === 'string' ? cls.predictedMasks : DEFAULT_MODEL_DIR;
    return { truth, predicted: await evaluateClassifier(best, sources, { loaded, masks: 'predicted', segmenter, predicted }) };
  } finally {
    best.model.dispose();
  }
}

