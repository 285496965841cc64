// The training loop: per-epoch seeded shuffle, batches augmented and one-hot encoded as they are
// drawn (never the whole set: the study ran out of memory that way), trainOnBatch, then scoring.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { numpyPermutation } from '../data/split.js';
import { oneHot } from '../data/masks.js';
import { augmentPair, createRng, type AugmentConfig } from '../data/augment.js';
import { NUM_CLASSES, type LabelMask } from '../data/types.js';
import type { SquareFit } from '../data/fit-square.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { predictBatches, probsAtImageSizes } from '../infer/predict.js';
import { scoreAtImageSizes } from '../infer/evaluate.js';
import type { EpochRecord } from './types.js';
import { learningRateAt, type ScheduleOptions } from './schedule.js';

/** 8-bit images (NHWC) and their labels (NHW class indices), all of one size. */
export interface ArraySet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /**
   * Each image's mask at the file's own size and how the image was fitted into the square: with it,
   * the set is also scored at native size, as `evaluate` scores (padded margins and stretched
   * duplicates of rows are not pixels of the image, so they should not pick the best epoch).
   */
  native?: { fit: SquareFit; masks: LabelMask[] };
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
}

export interface TrainLoopOptions {
  model: tfl.LayersModel;
  train: ArraySet;
  /** Picks the best epoch when given (else the test split does, as in the study). */
  validation?: ArraySet;
  test: ArraySet;
  size: number;
  /** First epoch to run (1-based; > 1 when resuming) and the last one. */
  fromEpoch: number;
  epochs: number;
  batchSize: number;
  seed: number;
  augment?: AugmentConfig;
  schedule: ScheduleOptions;
  tta?: boolean;
  onBatch?: (p: BatchProgress) => void;
  /**
   * Called after each epoch's scoring; may write artifacts. Awaited before the next epoch. Returning
   * 'stop' ends training (early stopping).
   */
  onEpoch?: (record: EpochRecord, test: { probs: Float32Array; labels: Uint8Array }) => Promise<'stop' | void>;
}

/** The shuffle of epoch `epoch` depends only on (seed, epoch), so a resumed run sees the same batches. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return Array.from(numpyPermutation(n, (seed + epoch * 7919) >>> 0));
}

/** Copies (and augments) the pairs of `indices` into batch tensors; one-hot is made here, per batch. */
function batchTensors(
  set: ArraySet,
  indices: number[],
  size: number,
  augment: { config: AugmentConfig; rng: () => number } | null,
): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const pixels = size * size;
  const images = new Float32Array(indices.length * pixels * 3);
  const labels = new Uint8Array(indices.length * pixels);
  indices.forEach((idx, k) => {
    let image = set.images.subarray(idx * pixels * 3, (idx + 1) * pixels * 3);
    let mask = set.labels.subarray(idx * pixels, (idx + 1) * pixels);
    if (augment) {
      const out = augmentPair({ width: size, height: size, data: image }, { width: size, height: size, data: mask }, augment.config, augment.rng);
      image = out.image.data;
      mask = out.mask.data;
    }
    const offset = k * pixels * 3;
    for (let i = 0; i < image.length; i++) images[offset + i] = image[i] / 255;
    labels.set(mask, k * pixels);
  });
  return {
    x: tf.tensor4d(images, [indices.length, size, size, 3]),
    y: tf.tensor4d(oneHot(labels, NUM_CLASSES), [indices.length, size, size, NUM_CLASSES]),
  };
}

export function toFloatImages(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
  return out;
}

/**
 * Scores a model on a set: confusion-matrix metrics plus the soft Dice from its probabilities, at the
 * model's size and, when the set carries its native masks, at each image's own size.
 */
export async function scoreSet(model: tfl.LayersModel, set: ArraySet, size: number, tta = false) {
  const predictions = await predictBatches(model, toFloatImages(set.images), set.count, size, { tta });
  const meter = new SegmentationMeter();
  meter.add(predictions.labels, set.labels, { probs: predictions.probs, images: set.count });
  const native = set.native
    ? scoreAtImageSizes(probsAtImageSizes(predictions.probs, size, set.native.masks, set.native.fit), set.native.masks)
    : undefined;
  return { metrics: meter.aggregate(), native, predictions };
}

function perClass(m: SegmentationMetrics) {
  return { background: m.dice.background, cytoplasm: m.dice.cytoplasm, nucleus: m.dice.nucleus };
}

export async function trainEpochs(options: TrainLoopOptions): Promise<void> {
  const { model, train, test, size, batchSize, seed } = options;
  const batches = Math.ceil(train.count / batchSize);
  const optimizer = model.optimizer as unknown as { learningRate: number };
  const augmentOn = options.augment?.enabled ? options.augment : null;
  for (let epoch = options.fromEpoch; epoch <= options.epochs; epoch++) {
    const order = epochOrder(train.count, seed, epoch);
    const augment = augmentOn ? { config: augmentOn, rng: createRng((seed * 1000003 + epoch) >>> 0) } : null;
    let lossSum = 0;
    let diceSum = 0;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      optimizer.learningRate = learningRateAt(options.schedule, (epoch - 1) * batches + b, options.epochs * batches, batches);
      const { x, y } = batchTensors(train, order.slice(b * batchSize, (b + 1) * batchSize), size, augment);
      const out = (await model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += out[0];
      diceSum += out[1];
      options.onBatch?.({ epoch, batch: b + 1, batches, loss: lossSum / (b + 1) });
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const evalStarted = performance.now();
    const val = options.validation ? await scoreSet(model, options.validation, size, options.tta) : undefined;
    const { metrics, native, predictions } = await scoreSet(model, test, size, options.tta);
    const record: EpochRecord = {
      epoch,
      learningRate: optimizer.learningRate,
      trainLoss: lossSum / batches,
      trainDice: diceSum / batches,
      testDice: metrics.globalSoftDice ?? Number.NaN,
      testDicePerClass: perClass(metrics),
      testMeanDice: metrics.dice.mean,
      test: metrics,
      ...(native ? { testNative: native } : {}),
      ...(val
        ? {
            valDice: val.metrics.globalSoftDice ?? Number.NaN,
            valMeanDice: val.metrics.dice.mean,
            valDicePerClass: perClass(val.metrics),
            val: val.metrics,
            ...(val.native ? { valNative: val.native } : {}),
          }
        : {}),
      trainSeconds,
      evalSeconds: (performance.now() - evalStarted) / 1000,
      imagesPerSecond: train.count / trainSeconds,
      numTensors: tf.memory().numTensors,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
    if ((await options.onEpoch?.(record, predictions)) === 'stop') break;
  }
}
