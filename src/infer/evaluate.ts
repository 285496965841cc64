// Scores a saved model on each data source's test split recorded with it (or on every image when asked,
// or when none is recorded): the per-class tables of `leukoseg evaluate`.
import { loadDataset, imagesToFloat32, labelsOf } from '../data/dataset.js';
import { loadModel, recordedSplits, resolveModelDir, type LoadedModel, type ModelMetadata } from '../models/io.js';
import { sourceOfFolder, type DataSource } from '../data/locate.js';
import { trainTestSplit } from '../data/split.js';
import type { PixelNormalization } from '../data/pixels.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import type { DataIssue } from '../data/types.js';
import { predictBatches, probsAtImageSizes } from '../models/predict.js';
import { argmaxLabels } from '../metrics/labels.js';
import { scoreAtImageSizes } from '../metrics/native.js';
import { NUM_CLASSES, type Sample } from '../data/types.js';
import { fitClassWeights, type CalibrationResult } from './calibrate.js';
import type { SquareFit } from '../data/fit-square.js';
import { squareFitOf } from '../models/preprocessing.js';

/** Scores of one data source. */
export interface SourceEvaluation {
  /** The source's name ("Dataset 2"). */
  dataset: string;
  dir: string;
  /** Which images were scored: the split the model records for this source, or every pair. */
  scope: 'test-split' | 'all-images';
  /** Scored at the model's input size, against masks fitted as for training. */
  metrics: SegmentationMetrics;
  /** Scored at each image's own size: probabilities brought back (probsToImageSize), against the original mask. */
  native: SegmentationMetrics;
  issues: DataIssue[];
}

export interface EvaluationResult {
  /** Over every scored image of every source (pixels pooled). */
  metrics: SegmentationMetrics;
  native: SegmentationMetrics;
  /** 'test-split' when every source was scored on its recorded split. */
  scope: 'test-split' | 'all-images' | 'mixed';
  sources: SourceEvaluation[];
  issues: DataIssue[];
  /** The class weights the argmax used (null: plain argmax). */
  classWeights: number[] | null;
}

export interface EvaluateOptions {
  /** Flip test-time augmentation. */
  tta?: boolean;
  /** Score only these ids (one source only; cross-validation folds). */
  ids?: string[];
  /** Score every pair of every source, whatever split the model records. */
  all?: boolean;
  /**
   * Score each source on the test part of its seeded split (testFraction 0.3 and this seed, what a
   * training run with that split seed records), whether or not the model was trained on it: how a model
   * trained on one data set is scored on the same test images as one trained on the other.
   */
  seededSplit?: number;
  /** Apply the model's calibrated class weights when it has them (default true). */
  calibrated?: boolean;
}

type ModelPixels = { scale: number; normalize?: PixelNormalization };

/**
 * The model's probabilities for `samples`: at its input size (one NHWC block), and per image brought
 * back to the image's own size, undoing `fit` (the one the samples were loaded with). All tensors are freed.
 */
export async function predictSamples(
  model: LoadedModel['model'],
  samples: readonly Sample[],
  size: number,
  options: { tta?: boolean; fit: SquareFit; pixels?: ModelPixels },
): Promise<{ atSize: Float32Array; native: Float32Array[] }> {
  const indices = samples.map((_, i) => i);
  const input = imagesToFloat32(samples, indices, options.pixels);
  const predictions = await predictBatches(model, input, samples.length, size, { tta: options.tta });
  const sizes = samples.map((s) => ({ width: s.originalWidth, height: s.originalHeight }));
  const native = probsAtImageSizes(predictions.probs, size, sizes, options.fit);
  return { atSize: predictions.probs, native };
}

/** Metrics at the model's size of a run of images of one NHWC probability block. */
function scoreAtModelSize(atSize: Float32Array, samples: readonly Sample[], start: number, count: number, size: number, classWeights?: readonly number[]) {
  const per = size * size * NUM_CLASSES;
  const probs = atSize.subarray(start * per, (start + count) * per);
  const meter = new SegmentationMeter();
  const indices = Array.from({ length: count }, (_, i) => start + i);
  meter.add(argmaxLabels(probs, NUM_CLASSES, classWeights), labelsOf(samples, indices), { probs, images: count });
  return meter.aggregate();
}

/**
 * Scores groups of samples (loaded with `fit`) at the model's size and at native size, each group on
 * its own and all pooled, with the argmax weighted by `classWeights` when given.
 */
export async function scoreSamples(
  model: LoadedModel['model'],
  groups: ReadonlyArray<readonly Sample[]>,
  size: number,
  options: { tta?: boolean; classWeights?: readonly number[]; fit: SquareFit; pixels?: ModelPixels },
): Promise<{ metrics: SegmentationMetrics; native: SegmentationMetrics; groups: Array<{ metrics: SegmentationMetrics; native: SegmentationMetrics }> }> {
  const samples = groups.flat();
  const { atSize, native } = await predictSamples(model, samples, size, options);
  const masks = samples.map((s) => s.originalMask);
  let start = 0;
  const perGroup = groups.map((g) => {
    const scores = {
      metrics: scoreAtModelSize(atSize, samples, start, g.length, size, options.classWeights),
      native: scoreAtImageSizes(native.slice(start, start + g.length), masks.slice(start, start + g.length), options.classWeights),
    };
    start += g.length;
    return scores;
  });
  return {
    metrics: scoreAtModelSize(atSize, samples, 0, samples.length, size, options.classWeights),
    native: scoreAtImageSizes(native, masks, options.classWeights),
    groups: perGroup,
  };
}

/**
 * The samples with these ids, in that order (or the ids `pick` chooses from those in the folder);
 * ids absent from the folder are left out, unless all are. No ids: every sample.
 */
async function samplesById(
  dataDir: string,
  size: number,
  fit: SquareFit,
  pick: readonly string[] | ((present: string[]) => readonly string[]) | undefined,
  what: string,
) {
  const dataset = await loadDataset({ dir: dataDir, size, fit });
  if (!pick) return { samples: dataset.samples, issues: dataset.issues };
  const ids = typeof pick === 'function' ? pick(dataset.samples.map((s) => s.id)) : pick;
  const byId = new Map(dataset.samples.map((s) => [s.id, s]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length === ids.length) {
    throw new Error(`${dataDir}: none of the model's ${ids.length} ${what} images are here (e.g. ${ids[0]}); is it the right data set?`);
  }
  return { samples: ids.filter((id) => byId.has(id)).map((id) => byId.get(id)!), issues: dataset.issues };
}

/**
 * Which images of `source` to score: the split the model records under the source's name; every pair
 * when asked (`all`) or when the model records no split at all. A split recorded for one data set is
 * never applied to another: a model with splits but none for this source is refused.
 */
export function idsToScore(metadata: ModelMetadata, source: DataSource, all = false): string[] | undefined {
  if (all) return undefined;
  const splits = recordedSplits(metadata);
  if (splits.length === 0) return undefined;
  const split = splits.find((s) => s.dataset === source.name);
  if (!split) {
    throw new Error(
      `${source.dir}: the model records test splits for ${splits.map((s) => `"${s.dataset}"`).join(', ')}, none for "${source.name}"; ` +
        'a split recorded for one data set is never applied to another. Score every image of it with --all, ' +
        'or pick a data set the model records with --dataset.',
    );
  }
  return split.testIds;
}

/**
 * The test part of the seeded 70/30 split of `present` (the source's ids). Refused where the model
 * records another test split for this source: it would be scored on images it may have trained on.
 */
function seededTestIds(metadata: ModelMetadata, source: DataSource, present: readonly string[], seed: number): string[] {
  const ids = trainTestSplit([...present].sort(), { testFraction: 0.3, seed }).test;
  const split = recordedSplits(metadata).find((s) => s.dataset === source.name);
  if (!split) return ids;
  const test = new Set(split.testIds);
  const trained = ids.filter((id) => !test.has(id));
  if (trained.length > 0) {
    throw new Error(`${source.dir}: ${trained.length} image(s) of the seeded test split (e.g. ${trained[0]}) are not in the test split the model records for "${source.name}": it may have trained on them`);
  }
  return ids;
}

/** Scores the model on each source: its recorded test split there, or every pair with `all`. */
export async function evaluateModel(loaded: LoadedModel, data: string | readonly DataSource[], options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const sources = typeof data === 'string' ? [sourceOfFolder(data)] : data;
  if (options.ids && sources.length !== 1) throw new Error('evaluateModel: ids can only be given for one data source');
  const pre = loaded.metadata.preprocessing;
  const size = pre.inputSize;
  const fit = squareFitOf(pre);
  const picked = [];
  for (const source of sources) {
    const seed = options.seededSplit;
    const pick =
      options.ids ??
      (seed === undefined ? idsToScore(loaded.metadata, source, options.all) : (present: string[]) => seededTestIds(loaded.metadata, source, present, seed));
    const { samples, issues } = await samplesById(source.dir, size, fit, pick, 'test');
    picked.push({ source, samples, issues, scope: (pick ? 'test-split' : 'all-images') as SourceEvaluation['scope'] });
  }
  const classWeights = options.calibrated === false ? undefined : loaded.metadata.inference?.classWeights;
  const scores = await scoreSamples(
    loaded.model,
    picked.map((p) => p.samples),
    size,
    { tta: options.tta ?? loaded.metadata.inference?.tta ?? false, classWeights, fit, pixels: pre },
  );
  const perSource = picked.map((p, k) => ({ dataset: p.source.name, dir: p.source.dir, scope: p.scope, issues: p.issues, ...scores.groups[k] }));
  const scopes = new Set(perSource.map((p) => p.scope));
  return {
    metrics: scores.metrics,
    native: scores.native,
    scope: scopes.size === 1 ? perSource[0].scope : 'mixed',
    sources: perSource,
    issues: perSource.flatMap((p) => p.issues),
    classWeights: classWeights ?? null,
  };
}

export interface CalibrateOptions {
  /** Images to fit on (default: the validation images recorded with the model). */
  ids?: string[];
  tta?: boolean;
}

/**
 * Fits the model's class weights (see calibrate.ts) on its validation images at their own size, the
 * size results are used at. Refuses to fit on the test split: that would make its scores optimistic.
 */
export async function calibrateModel(
  loaded: LoadedModel,
  data: string | readonly DataSource[],
  options: CalibrateOptions = {},
): Promise<CalibrationResult & { images: number; issues: DataIssue[] }> {
  const sources = typeof data === 'string' ? [sourceOfFolder(data)] : data;
  const splits = recordedSplits(loaded.metadata);
  const pre = loaded.metadata.preprocessing;
  const size = pre.inputSize;
  const squareFit = squareFitOf(pre);
  const samples: Sample[] = [];
  const issues: DataIssue[] = [];
  for (const source of sources) {
    const split = splits.find((s) => s.dataset === source.name);
    const ids = options.ids ?? split?.validationIds;
    if (!ids || ids.length === 0) {
      throw new Error(
        `${loaded.dir}: no validation images of "${source.name}" are recorded with this model; train with train.valFraction > 0 ` +
          '(the U-Net presets do) or name the images to calibrate on',
      );
    }
    const testIds = new Set(split?.testIds ?? []);
    const onTest = ids.filter((id) => testIds.has(id));
    if (onTest.length > 0) {
      throw new Error(`${loaded.dir}: ${onTest.length} calibration image(s) are in the model's test split of "${source.name}" (e.g. ${onTest[0]}); calibrate on validation images only`);
    }
    const found = await samplesById(source.dir, size, squareFit, ids, 'validation');
    samples.push(...found.samples);
    issues.push(...found.issues);
  }
  const { native } = await predictSamples(loaded.model, samples, size, { tta: options.tta ?? loaded.metadata.inference?.tta ?? false, fit: squareFit, pixels: pre });
  const fit = fitClassWeights(samples.map((s, i) => ({ probs: native[i], truth: s.originalMask.data })));
  return { ...fit, images: samples.length, issues };
}

export async function loadModelForEvaluation(dir: string): Promise<LoadedModel> {
  return loadModel(await resolveModelDir(dir));
}
