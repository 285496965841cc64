// Scores a saved model on the test split recorded with it (or on every image when none is recorded):
// the per-class table of `leukoseg evaluate`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, imagesToFloat32, labelsOf } from '../data/dataset.js';
import { loadModel, MODEL_JSON, type LoadedModel } from '../models/io.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import type { DataIssue } from '../data/types.js';
import { argmaxLabels, predictBatches, probsAtImageSizes } from './predict.js';
import { NUM_CLASSES, type LabelMask, type Sample } from '../data/types.js';
import { fitClassWeights, type CalibrationResult } from './calibrate.js';
import type { SquareFit } from '../data/fit-square.js';
import { squareFitOf } from '../models/preprocessing.js';

/** A model folder holds model.json; a run folder holds its best model in `model/`. */
export async function resolveModelDir(dir: string): Promise<string> {
  const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
  if (await isFile(join(dir, MODEL_JSON))) return dir;
  if (await isFile(join(dir, 'model', MODEL_JSON))) return join(dir, 'model');
  throw new Error(`${dir}: neither a model folder (with ${MODEL_JSON}) nor a run folder (with model/${MODEL_JSON})`);
}

export interface EvaluationResult {
  /** Scored at the model's input size, against masks resized as for training. */
  metrics: SegmentationMetrics;
  /** Scored at each image's own size: probabilities brought back (probsToImageSize), against the original mask. */
  native: SegmentationMetrics;
  /** Which images were scored: the model's recorded test split, or all of them. */
  scope: 'test-split' | 'all-images';
  issues: DataIssue[];
  /** The class weights the argmax used (null: plain argmax). */
  classWeights: number[] | null;
}

export interface EvaluateOptions {
  /** Flip test-time augmentation. */
  tta?: boolean;
  /** Score only these ids (default: the test split recorded with the model, else all images). */
  ids?: string[];
  /** Apply the model's calibrated class weights when it has them (default true). */
  calibrated?: boolean;
}

/**
 * The model's probabilities for `samples`: at its input size (one NHWC block), and per image brought
 * back to the image's own size, undoing `fit` (the one the samples were loaded with). All tensors are freed.
 */
export async function predictSamples(
  model: LoadedModel['model'],
  samples: readonly Sample[],
  size: number,
  options: { tta?: boolean; fit: SquareFit },
): Promise<{ atSize: Float32Array; native: Float32Array[] }> {
  const indices = samples.map((_, i) => i);
  const predictions = await predictBatches(model, imagesToFloat32(samples, indices), samples.length, size, { tta: options.tta });
  const sizes = samples.map((s) => ({ width: s.originalWidth, height: s.originalHeight }));
  const native = probsAtImageSizes(predictions.probs, size, sizes, options.fit);
  return { atSize: predictions.probs, native };
}

/**
 * Metrics of per-image probabilities at each image's own size against its original mask: the one
 * definition of "native-size" scores, shared by `evaluate` and training's per-epoch scoring.
 */
export function scoreAtImageSizes(
  probs: readonly Float32Array[],
  masks: readonly LabelMask[],
  classWeights?: readonly number[],
): SegmentationMetrics {
  const meter = new SegmentationMeter();
  probs.forEach((p, i) => meter.add(argmaxLabels(p, NUM_CLASSES, classWeights), masks[i].data, { probs: p }));
  return meter.aggregate();
}

/**
 * Scores samples (loaded with `fit`) at the model's size and at native size, with the argmax weighted
 * by `classWeights` when given.
 */
export async function scoreSamples(
  model: LoadedModel['model'],
  samples: Sample[],
  size: number,
  options: { tta?: boolean; classWeights?: readonly number[]; fit: SquareFit },
): Promise<{ metrics: SegmentationMetrics; native: SegmentationMetrics }> {
  const { atSize, native } = await predictSamples(model, samples, size, options);
  const meter = new SegmentationMeter();
  const indices = samples.map((_, i) => i);
  meter.add(argmaxLabels(atSize, NUM_CLASSES, options.classWeights), labelsOf(samples, indices), { probs: atSize, images: samples.length });
  const masks = samples.map((s) => s.originalMask);
  return { metrics: meter.aggregate(), native: scoreAtImageSizes(native, masks, options.classWeights) };
}

/** The samples with these ids, in that order; ids absent from the folder are left out, unless all are. */
async function samplesById(dataDir: string, size: number, fit: SquareFit, ids: readonly string[] | undefined, what: string) {
  const dataset = await loadDataset({ dir: dataDir, size, fit });
  if (!ids) return { samples: dataset.samples, issues: dataset.issues };
  const byId = new Map(dataset.samples.map((s) => [s.id, s]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length === ids.length) {
    throw new Error(`${dataDir}: none of the model's ${ids.length} ${what} images are here (e.g. ${ids[0]}); is it the right data set?`);
  }
  return { samples: ids.filter((id) => byId.has(id)).map((id) => byId.get(id)!), issues: dataset.issues };
}

export async function evaluateModel(loaded: LoadedModel, dataDir: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const size = loaded.metadata.preprocessing.inputSize;
  const fit = squareFitOf(loaded.metadata.preprocessing);
  const testIds = options.ids ?? loaded.metadata.split?.testIds;
  const { samples, issues } = await samplesById(dataDir, size, fit, testIds, 'test');
  const classWeights = options.calibrated === false ? undefined : loaded.metadata.inference?.classWeights;
  const scores = await scoreSamples(loaded.model, samples, size, { tta: options.tta ?? loaded.metadata.inference?.tta ?? false, classWeights, fit });
  return { ...scores, scope: testIds ? 'test-split' : 'all-images', issues, classWeights: classWeights ?? null };
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
  dataDir: string,
  options: CalibrateOptions = {},
): Promise<CalibrationResult & { images: number; issues: DataIssue[] }> {
  const ids = options.ids ?? loaded.metadata.split?.validationIds;
  if (!ids || ids.length === 0) {
    throw new Error(
      `${loaded.dir}: no validation images are recorded with this model; train with train.valFraction > 0 ` +
        '(the U-Net presets do) or name the images to calibrate on',
    );
  }
  const testIds = new Set(loaded.metadata.split?.testIds ?? []);
  const onTest = ids.filter((id) => testIds.has(id));
  if (onTest.length > 0) {
    throw new Error(`${loaded.dir}: ${onTest.length} calibration image(s) are in the model's test split (e.g. ${onTest[0]}); calibrate on validation images only`);
  }
  const size = loaded.metadata.preprocessing.inputSize;
  const squareFit = squareFitOf(loaded.metadata.preprocessing);
  const { samples, issues } = await samplesById(dataDir, size, squareFit, ids, 'validation');
  const { native } = await predictSamples(loaded.model, samples, size, { tta: options.tta ?? loaded.metadata.inference?.tta ?? false, fit: squareFit });
  const fit = fitClassWeights(samples.map((s, i) => ({ probs: native[i], truth: s.originalMask.data })));
  return { ...fit, images: samples.length, issues };
}

export async function loadModelForEvaluation(dir: string): Promise<LoadedModel> {
  return loadModel(await resolveModelDir(dir));
}
