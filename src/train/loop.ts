// The training loop of the study: per-epoch shuffle, batches one-hot encoded as they are drawn,
// Adam + categorical cross-entropy via trainOnBatch, then scoring on the test split after each epoch.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { numpyPermutation } from '../data/split.js';
import { oneHot } from '../data/masks.js';
import { NUM_CLASSES } from '../data/types.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import { predictBatches } from '../infer/predict.js';
import type { EpochRecord } from './types.js';

/** Images (NHWC float32, scaled) and their labels (NHW class indices), all of one size. */
export interface ArraySet {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
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
  test: ArraySet;
  size: number;
  /** First epoch to run (1-based; > 1 when resuming) and the last one. */
  fromEpoch: number;
  epochs: number;
  batchSize: number;
  seed: number;
  onBatch?: (p: BatchProgress) => void;
  /** Called after each epoch's scoring; may write artifacts. Awaited before the next epoch starts. */
  onEpoch?: (record: EpochRecord, test: { probs: Float32Array; labels: Uint8Array }) => Promise<void>;
}

/** The shuffle of epoch `epoch` depends only on (seed, epoch), so a resumed run sees the same batches. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return Array.from(numpyPermutation(n, (seed + epoch * 7919) >>> 0));
}

/** Copies the images and labels of `indices` into batch tensors; one-hot is made here, per batch. */
function batchTensors(set: ArraySet, indices: number[], size: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const pixels = size * size;
  const images = new Float32Array(indices.length * pixels * 3);
  const labels = new Uint8Array(indices.length * pixels);
  indices.forEach((idx, k) => {
    images.set(set.images.subarray(idx * pixels * 3, (idx + 1) * pixels * 3), k * pixels * 3);
    labels.set(set.labels.subarray(idx * pixels, (idx + 1) * pixels), k * pixels);
  });
  return {
    x: tf.tensor4d(images, [indices.length, size, size, 3]),
    y: tf.tensor4d(oneHot(labels, NUM_CLASSES), [indices.length, size, size, NUM_CLASSES]),
  };
}

/** Scores a model on a set: confusion-matrix metrics plus the soft Dice from its probabilities. */
export async function scoreSet(model: tfl.LayersModel, set: ArraySet, size: number) {
  const predictions = await predictBatches(model, set.images, set.count, size);
  const meter = new SegmentationMeter();
  meter.add(predictions.labels, set.labels, { probs: predictions.probs, images: set.count });
  return { metrics: meter.aggregate(), predictions };
}

export async function trainEpochs(options: TrainLoopOptions): Promise<void> {
  const { model, train, test, size, batchSize, seed } = options;
  const batches = Math.ceil(train.count / batchSize);
  for (let epoch = options.fromEpoch; epoch <= options.epochs; epoch++) {
    const order = epochOrder(train.count, seed, epoch);
    let lossSum = 0;
    let diceSum = 0;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const { x, y } = batchTensors(train, order.slice(b * batchSize, (b + 1) * batchSize), size);
      const out = (await model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += out[0];
      diceSum += out[1];
      options.onBatch?.({ epoch, batch: b + 1, batches, loss: lossSum / (b + 1) });
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const evalStarted = performance.now();
    const { metrics, predictions } = await scoreSet(model, test, size);
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / batches,
      trainDice: diceSum / batches,
      testDice: metrics.globalSoftDice ?? Number.NaN,
      testDicePerClass: {
        background: metrics.dice.background,
        cytoplasm: metrics.dice.cytoplasm,
        nucleus: metrics.dice.nucleus,
      },
      testMeanDice: metrics.dice.mean,
      test: metrics,
      trainSeconds,
      evalSeconds: (performance.now() - evalStarted) / 1000,
      imagesPerSecond: train.count / trainSeconds,
      numTensors: tf.memory().numTensors,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
    await options.onEpoch?.(record, predictions);
  }
}
