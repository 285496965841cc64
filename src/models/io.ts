// Saving and loading models as a folder (tfjs `model.json` + `weights.bin`) without tfjs-node:
// file I/O through tf.io.withSaveHandler / tf.io.fromMemory. Class names and preprocessing travel
// inside model.json (userDefinedMetadata), so every consumer prepares images the same way.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLASS_NAMES } from '../data/types.js';
import type { SquareFit } from '../data/fit-square.js';
import type { ModelTask } from './registry.js';
import { checkPreprocessing, preprocessingFor, type PixelNormalization, type Preprocessing } from './preprocessing.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export type { Preprocessing } from './preprocessing.js';

export interface InferenceMetadata {
  /** Average the predictions of the image and its flips. */
  tta: boolean;
  /**
   * Per-class factors on the probabilities before the argmax (background first), fitted on the
   * validation images by `leukoseg calibrate`; absent = plain argmax.
   */
  classWeights?: number[];
}

export interface ModelMetadata {
  format: 'leukoseg-model';
  version: 1;
  architecture: string;
  classNames: string[];
  /** Gray level of each class in mask files. */
  maskLevels: number[];
  preprocessing: Preprocessing;
  preset?: string;
  /** Epoch whose weights these are. */
  epoch?: number;
  /** Each source's test (and validation) images, so `evaluate` and `calibrate` use the same ones. */
  splits?: RecordedSplit[];
  /** How models saved before several sources recorded their one split ("Dataset N"); read by recordedSplits. */
  split?: { dataset: number; testFraction: number; seed: number; testIds: string[]; validationIds?: string[] };
  /** Test metrics at that epoch, as recorded by training. */
  metrics?: unknown;
  /** How the model is meant to be run (e.g. flip test-time augmentation); callers may override. */
  inference?: InferenceMetadata;
  /** What the model does; absent means 'segmentation' (every model saved before classifiers). */
  task?: ModelTask;
  /** A cell-type classifier's crop, inputs, feature scaling and uncertain threshold; read and checked by src/classify/model-info.ts. */
  cellType?: Record<string, unknown>;
}

/** The split of one data source as a model records it; `dataset` is the source's name ("Dataset 1"). */
export interface RecordedSplit {
  dataset: string;
  /** The folder the images were read from at training time (absolute). */
  dir?: string;
  testFraction: number;
  seed: number;
  testIds: string[];
  validationIds?: string[];
}

/** The model's recorded splits, one per source; a model of the single-split era gives its one as "Dataset N". */
export function recordedSplits(metadata: Pick<ModelMetadata, 'split' | 'splits'>): RecordedSplit[] {
  if (metadata.splits) return metadata.splits;
  if (!metadata.split) return [];
  const { dataset, ...rest } = metadata.split;
  return [{ dataset: `Dataset ${dataset}`, ...rest }];
}

/** Metadata of a model trained on images fitted into its inputSize square by `fit` (default: stretched, as the study did). */
export function defaultMetadata(
  architecture: string,
  inputSize: number,
  fit: SquareFit = 'stretch',
  normalize: PixelNormalization = 'scale',
): ModelMetadata {
  return {
    format: 'leukoseg-model',
    version: 1,
    architecture,
    classNames: [...CLASS_NAMES],
    maskLevels: [0, 128, 255],
    preprocessing: preprocessingFor(inputSize, fit, normalize),
  };
}

function concatBuffers(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out;
}

/**
 * Writes the model to `dir` as a whole: into a temp folder first, then swapped in by rename, so a
 * crash leaves either the old model or the new one, never a mix.
 */
export async function saveModel(model: tfl.LayersModel, dir: string, metadata: ModelMetadata): Promise<void> {
  const target = resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  const old = `${target}.old-${process.pid}-${randomBytes(3).toString('hex')}`;
  model.setUserDefinedMetadata({ leukoseg: metadata } as unknown as Record<string, never>);
  await mkdir(tmp, { recursive: true });
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = concatBuffers(artifacts.weightData ?? new ArrayBuffer(0));
        const json = {
          format: 'layers-model',
          generatedBy: `leukoseg (TensorFlow.js ${tf.version_core})`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
          userDefinedMetadata: artifacts.userDefinedMetadata,
        };
        await writeFile(join(tmp, WEIGHTS_BIN), weights);
        await writeFile(join(tmp, MODEL_JSON), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
      }),
    );
    const exists = await stat(target).then(() => true, () => false);
    if (exists) await rename(target, old);
    await rename(tmp, target);
    if (exists) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export interface LoadedModel {
  model: tfl.LayersModel;
  metadata: ModelMetadata;
  dir: string;
}

/** Loads a model folder written by `saveModel` (or any tfjs layers model folder with one weights file). */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const jsonPath = join(dir, MODEL_JSON);
  let parsed: {
    modelTopology?: object;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    userDefinedMetadata?: { leukoseg?: ModelMetadata };
  };
  try {
    parsed = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (err) {
    throw new Error(`${jsonPath}: cannot read a model here (${(err as Error).message})`);
  }
  if (!parsed.modelTopology || !parsed.weightsManifest) {
    throw new Error(`${jsonPath}: not a TensorFlow.js layers model (no modelTopology/weightsManifest)`);
  }
  const recordedPreprocessing = parsed.userDefinedMetadata?.leukoseg?.preprocessing;
  if (recordedPreprocessing) {
    try {
      checkPreprocessing(recordedPreprocessing); // refused before loading, not when an image is prepared the wrong way
    } catch (err) {
      throw new Error(`${jsonPath}: ${(err as Error).message}`);
    }
  }
  const specs = parsed.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(
    parsed.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))),
  );
  const weightData = concatBuffers(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: parsed.modelTopology, weightSpecs: specs, weightData: weightData.buffer as ArrayBuffer }),
  );
  const metadata = parsed.userDefinedMetadata?.leukoseg;
  if (!metadata) {
    throw new Error(`${jsonPath}: no leukoseg metadata (class names, preprocessing); was it saved by leukoseg?`);
  }
  return { model, metadata, dir };
}

/** A model folder holds model.json; a run folder holds its best model in `model/`. */
export async function resolveModelDir(dir: string): Promise<string> {
  const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
  if (await isFile(join(dir, MODEL_JSON))) return dir;
  if (await isFile(join(dir, 'model', MODEL_JSON))) return join(dir, 'model');
  throw new Error(`${dir}: neither a model folder (with ${MODEL_JSON}) nor a run folder (with model/${MODEL_JSON})`);
}
