// Scores a saved model on the test split recorded with it (or on every image when none is recorded):
// the per-class table of `leukoseg evaluate`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, imagesToFloat32, labelsOf } from '../data/dataset.js';
import { loadModel, MODEL_JSON, type LoadedModel } from '../models/io.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import type { DataIssue } from '../data/types.js';
import { predictBatches } from './predict.js';

/** A model folder holds model.json; a run folder holds its best model in `model/`. */
export async function resolveModelDir(dir: string): Promise<string> {
  const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
  if (await isFile(join(dir, MODEL_JSON))) return dir;
  if (await isFile(join(dir, 'model', MODEL_JSON))) return join(dir, 'model');
  throw new Error(`${dir}: neither a model folder (with ${MODEL_JSON}) nor a run folder (with model/${MODEL_JSON})`);
}

export interface EvaluationResult {
  metrics: SegmentationMetrics;
  /** Which images were scored: the model's recorded test split, or all of them. */
  scope: 'test-split' | 'all-images';
  issues: DataIssue[];
}

export async function evaluateModel(loaded: LoadedModel, dataDir: string): Promise<EvaluationResult> {
  const size = loaded.metadata.preprocessing.inputSize;
  const dataset = await loadDataset({ dir: dataDir, size });
  const testIds = loaded.metadata.split?.testIds;
  let samples = dataset.samples;
  if (testIds) {
    const byId = new Map(samples.map((s) => [s.id, s]));
    const missing = testIds.filter((id) => !byId.has(id));
    if (missing.length === testIds.length) {
      throw new Error(`${dataDir}: none of the model's ${testIds.length} test images are here (e.g. ${testIds[0]}); is it the right data set?`);
    }
    samples = testIds.filter((id) => byId.has(id)).map((id) => byId.get(id)!);
  }
  const indices = samples.map((_, i) => i);
  const images = imagesToFloat32(samples, indices);
  const predictions = await predictBatches(loaded.model, images, samples.length, size);
  const meter = new SegmentationMeter();
  meter.add(predictions.labels, labelsOf(samples, indices), { probs: predictions.probs, images: samples.length });
  return { metrics: meter.aggregate(), scope: testIds ? 'test-split' : 'all-images', issues: dataset.issues };
}

export async function loadModelForEvaluation(dir: string): Promise<LoadedModel> {
  return loadModel(await resolveModelDir(dir));
}
