// Scores a saved model on the test split recorded with it (or on every image when none is recorded):
// the per-class table of `leukoseg evaluate`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, imagesToFloat32, labelsOf } from '../data/dataset.js';
import { loadModel, MODEL_JSON, type LoadedModel } from '../models/io.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import type { DataIssue } from '../data/types.js';
import { argmaxLabels, predictBatches, probsToSize } from './predict.js';
import { NUM_CLASSES, type Sample } from '../data/types.js';
import * as tf from '@tensorflow/tfjs-core';

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
  /** Scored at each image's own size: probabilities resized back, against the original mask. */
  native: SegmentationMetrics;
  /** Which images were scored: the model's recorded test split, or all of them. */
  scope: 'test-split' | 'all-images';
  issues: DataIssue[];
}

export interface EvaluateOptions {
  /** Flip test-time augmentation. */
  tta?: boolean;
  /** Score only these ids (default: the test split recorded with the model, else all images). */
  ids?: string[];
}

/** Scores samples at the model's size and at native size; all tensors are freed. */
export async function scoreSamples(
  model: LoadedModel['model'],
  samples: Sample[],
  size: number,
  options: { tta?: boolean } = {},
): Promise<{ metrics: SegmentationMetrics; native: SegmentationMetrics }> {
  const indices = samples.map((_, i) => i);
  const predictions = await predictBatches(model, imagesToFloat32(samples, indices), samples.length, size, { tta: options.tta });
  const meter = new SegmentationMeter();
  meter.add(predictions.labels, labelsOf(samples, indices), { probs: predictions.probs, images: samples.length });
  const nativeMeter = new SegmentationMeter();
  const perImage = size * size * NUM_CLASSES;
  samples.forEach((s, i) => {
    const probs = tf.tidy(() =>
      probsToSize(tf.tensor3d(predictions.probs.subarray(i * perImage, (i + 1) * perImage), [size, size, NUM_CLASSES]), s.originalWidth, s.originalHeight),
    );
    const data = probs.dataSync() as Float32Array;
    probs.dispose();
    nativeMeter.add(argmaxLabels(data), s.originalMask.data, { probs: data });
  });
  return { metrics: meter.aggregate(), native: nativeMeter.aggregate() };
}

export async function evaluateModel(loaded: LoadedModel, dataDir: string, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const size = loaded.metadata.preprocessing.inputSize;
  const dataset = await loadDataset({ dir: dataDir, size });
  const testIds = options.ids ?? loaded.metadata.split?.testIds;
  let samples = dataset.samples;
  if (testIds) {
    const byId = new Map(samples.map((s) => [s.id, s]));
    const missing = testIds.filter((id) => !byId.has(id));
    if (missing.length === testIds.length) {
      throw new Error(`${dataDir}: none of the model's ${testIds.length} test images are here (e.g. ${testIds[0]}); is it the right data set?`);
    }
    samples = testIds.filter((id) => byId.has(id)).map((id) => byId.get(id)!);
  }
  const scores = await scoreSamples(loaded.model, samples, size, { tta: options.tta ?? loaded.metadata.inference?.tta ?? false });
  return { ...scores, scope: testIds ? 'test-split' : 'all-images', issues: dataset.issues };
}

export async function loadModelForEvaluation(dir: string): Promise<LoadedModel> {
  return loadModel(await resolveModelDir(dir));
}
