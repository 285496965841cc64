// The training loop: per-epoch seeded shuffle, batches augmented and one-hot encoded as they are
// drawn (never the whole set: the study ran out of memory that way), trainOnBatch, then scoring.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { numpyPermutation } from '../data/split.js';
import { pixelsToInput, type PixelNormalization } from '../data/pixels.js';
import { oneHot } from '../data/masks.js';
import { augmentPair, createRng, type AugmentConfig } from '../data/augment.js';
import { amongNeighbours } from '../data/augment-neighbours.js';
import { randomInt, uniform } from '../data/random.js';
import { NUM_CLASSES, type ImageMaskPair, type LabelMask } from '../data/types.js';
import type { SquareFit } from '../data/fit-square.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { predictBatches, probsAtImageSizes } from '../models/predict.js';
import { scoreAtImageSizes } from '../metrics/native.js';
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
  /** Which data source each image came from (index into `sources`), when the set mixes several. */
  sourceIndex?: Uint8Array;
  /** The sources in order, each a contiguous run of the set's images (scored on its own as well). */
  sources?: Array<{ name: string; start: number; count: number }>;
}

/** How pixel bytes become the network's values (the model's preprocessing; data/pixels.ts). */
export type PixelPreprocessing = { scale: number; normalize?: PixelNormalization };

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
  /** Pixel values into the network (default: image / 255). */
  pixels?: PixelPreprocessing;
  /** TrainConfig.sourceBalance: 0 = every training image once per epoch; 1 = each source an equal share. */
  sourceBalance?: number;
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

/** The indices 0..count-1 of each source, by `sourceIndex` (one list, of all, without it). */
export function membersBySource(sourceIndex: Uint8Array | undefined, count: number): number[][] {
  const members: number[][] = [[]];
  for (let i = 0; i < count; i++) {
    const s = sourceIndex?.[i] ?? 0;
    while (members.length <= s) members.push([]);
    members[s].push(i);
  }
  return members;
}

/**
 * The images of one epoch when the training set mixes sources: as many draws as images, source s
 * getting a share proportional to n_s^(1 - balance) (balance 0: each image once, as epochOrder;
 * balance 1: equal shares). A source's draws walk a fresh permutation of its images, repeating it when
 * its share is larger than the source; the whole is then shuffled. Depends only on (seed, epoch).
 */
export function balancedEpochOrder(sourceIndex: Uint8Array, balance: number, seed: number, epoch: number): number[] {
  const n = sourceIndex.length;
  const members = membersBySource(sourceIndex, n);
  if (balance === 0 || members.length <= 1) return epochOrder(n, seed, epoch);
  const weights = members.map((m) => (m.length === 0 ? 0 : m.length ** (1 - balance)));
  const total = weights.reduce((a, b) => a + b, 0);
  // Largest-remainder rounding, so the shares add up to exactly n.
  const exact = weights.map((w) => (n * w) / total);
  const quota = exact.map(Math.floor);
  const order = exact.map((e, s) => [e - quota[s], s] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < n - quota.reduce((a, b) => a + b, 0); k++) quota[order[k][1]]++;
  const draws: number[] = [];
  members.forEach((m, s) => {
    if (m.length === 0) return;
    const perm = numpyPermutation(m.length, (seed + epoch * 7919 + (s + 1) * 104729) >>> 0);
    for (let k = 0; k < quota[s]; k++) draws.push(m[perm[k % m.length]]);
  });
  return numpyPermutation(draws.length, (seed + epoch * 7919) >>> 0).map((i) => draws[i]);
}

/** Image `index` of the set and its labels, as views (not copies). */
function squareOf(set: ArraySet, index: number, size: number): ImageMaskPair {
  const pixels = size * size;
  return {
    image: { width: size, height: size, data: set.images.subarray(index * pixels * 3, (index + 1) * pixels * 3) },
    mask: { width: size, height: size, data: set.labels.subarray(index * pixels, (index + 1) * pixels) },
  };
}


export interface BatchAugment {
  config: AugmentConfig;
  rng: () => number;
  /** Training images of each source, where `neighbours` draws from (membersBySource). */
  sourceMembers: number[][];
}

/**
 * Training image `index` of the set augmented as `augment` says: first, with probability
 * `neighbours`, shown among 8 random images of its own source (augment-neighbours.ts), then the
 * per-pair augmentation of augment.ts. New arrays.
 */
export function augmentedSquare(set: ArraySet, index: number, size: number, augment: BatchAugment): ImageMaskPair {
  let pair = squareOf(set, index, size);
  // Drawn only when asked for, so recipes without it keep their random stream.
  const { neighbours, neighbourShift, neighbourLabels } = augment.config;
  if (neighbours > 0 && augment.rng() < neighbours) {
    const pool = augment.sourceMembers[set.sourceIndex?.[index] ?? 0];
    const others = Array.from({ length: 8 }, () => squareOf(set, pool[randomInt(augment.rng, pool.length)], size));
    const most = neighbourShift * size;
    pair = amongNeighbours(pair, others, uniform(augment.rng, -most, most), uniform(augment.rng, -most, most), neighbourLabels);
  }
  return augmentPair(pair.image, pair.mask, augment.config, augment.rng);
}

/** Copies (and augments) the pairs of `indices` into batch tensors; one-hot is made here, per batch. */
function batchTensors(
  set: ArraySet,
  indices: number[],
  size: number,
  augment: BatchAugment | null,
  pixelsPre: PixelPreprocessing,
): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const pixels = size * size;
  const images = new Float32Array(indices.length * pixels * 3);
  const labels = new Uint8Array(indices.length * pixels);
  indices.forEach((idx, k) => {
    let image = set.images.subarray(idx * pixels * 3, (idx + 1) * pixels * 3);
    let mask = set.labels.subarray(idx * pixels, (idx + 1) * pixels);
    if (augment) {
      const out = augmentedSquare(set, idx, size, augment);
      image = out.image.data;
      mask = out.mask.data;
    }
    pixelsToInput(image, pixelsPre, images, k * pixels * 3);
    labels.set(mask, k * pixels);
  });
  return {
    x: tf.tensor4d(images, [indices.length, size, size, 3]),
    y: tf.tensor4d(oneHot(labels, NUM_CLASSES), [indices.length, size, size, NUM_CLASSES]),
  };
}

/** A set's 8-bit images as the network's input, image by image (a per-image normalisation needs each alone). */
export function toFloatImages(images: Uint8Array, count: number, pixels: PixelPreprocessing = DEFAULT_PIXELS): Float32Array {
  const out = new Float32Array(images.length);
  const perImage = count > 0 ? images.length / count : 0;
  for (let n = 0; n < count; n++) pixelsToInput(images.subarray(n * perImage, (n + 1) * perImage), pixels, out, n * perImage);
  return out;
}

const DEFAULT_PIXELS: PixelPreprocessing = { scale: 1 / 255 };

/**
 * Scores a model on a set: confusion-matrix metrics plus the soft Dice from its probabilities, at the
 * model's size and, when the set carries its native masks, at each image's own size.
 */
export async function scoreSet(model: tfl.LayersModel, set: ArraySet, size: number, tta = false, pixels: PixelPreprocessing = DEFAULT_PIXELS) {
  const predictions = await predictBatches(model, toFloatImages(set.images, set.count, pixels), set.count, size, { tta });
  const meter = new SegmentationMeter();
  meter.add(predictions.labels, set.labels, { probs: predictions.probs, images: set.count });
  let native: SegmentationMetrics | undefined;
  let nativeBySource: Record<string, SegmentationMetrics> | undefined;
  if (set.native) {
    const { masks } = set.native;
    const probs = probsAtImageSizes(predictions.probs, size, masks, set.native.fit);
    native = scoreAtImageSizes(probs, masks);
    if (set.sources && set.sources.length > 1) {
      nativeBySource = Object.fromEntries(
        set.sources.map((s) => [s.name, scoreAtImageSizes(probs.slice(s.start, s.start + s.count), masks.slice(s.start, s.start + s.count))]),
      );
    }
  }
  return { metrics: meter.aggregate(), native, nativeBySource, predictions };
}

function perClass(m: SegmentationMetrics) {
  return { background: m.dice.background, cytoplasm: m.dice.cytoplasm, nucleus: m.dice.nucleus };
}

export async function trainEpochs(options: TrainLoopOptions): Promise<void> {
  const { model, train, test, size, batchSize, seed } = options;
  const batches = Math.ceil(train.count / batchSize);
  const optimizer = model.optimizer as unknown as { learningRate: number };
  const augmentOn = options.augment?.enabled ? options.augment : null;
  const sourceMembers = membersBySource(train.sourceIndex, train.count);
  for (let epoch = options.fromEpoch; epoch <= options.epochs; epoch++) {
    const order = train.sourceIndex
      ? balancedEpochOrder(train.sourceIndex, options.sourceBalance ?? 0, seed, epoch)
      : epochOrder(train.count, seed, epoch);
    const augment = augmentOn ? { config: augmentOn, rng: createRng((seed * 1000003 + epoch) >>> 0), sourceMembers } : null;
    let lossSum = 0;
    let diceSum = 0;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      optimizer.learningRate = learningRateAt(options.schedule, (epoch - 1) * batches + b, options.epochs * batches, batches);
      const { x, y } = batchTensors(train, order.slice(b * batchSize, (b + 1) * batchSize), size, augment, options.pixels ?? DEFAULT_PIXELS);
      const out = (await model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += out[0];
      diceSum += out[1];
      options.onBatch?.({ epoch, batch: b + 1, batches, loss: lossSum / (b + 1) });
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const evalStarted = performance.now();
    const pixels = options.pixels ?? DEFAULT_PIXELS;
    const val = options.validation ? await scoreSet(model, options.validation, size, options.tta, pixels) : undefined;
    const { metrics, native, nativeBySource, predictions } = await scoreSet(model, test, size, options.tta, pixels);
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
      ...(nativeBySource ? { testNativeBySource: nativeBySource } : {}),
      ...(val
        ? {
            valDice: val.metrics.globalSoftDice ?? Number.NaN,
            valMeanDice: val.metrics.dice.mean,
            valDicePerClass: perClass(val.metrics),
            val: val.metrics,
            ...(val.native ? { valNative: val.native } : {}),
            ...(val.nativeBySource ? { valNativeBySource: val.nativeBySource } : {}),
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
