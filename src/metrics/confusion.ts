// Confusion matrices of label masks, and SegmentationMeter, which accumulates them (and the soft
// Dice sums) batch by batch over a test set so the scores are computed once over all pixels.
import { NUM_CLASSES } from '../data/types.js';
import { accumulateSoftDice, computeMetrics, type SegmentationMetrics, type SoftDiceSums } from './scores.js';

/** Adds pixel counts to a flat confusion matrix in place (row = truth, column = prediction). */
function accumulateConfusion(matrix: Float64Array, pred: Uint8Array, truth: Uint8Array, numClasses: number): void {
  if (pred.length !== truth.length) {
    throw new Error(`prediction has ${pred.length} pixels but truth has ${truth.length}`);
  }
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = pred[i]!;
    // Check here rather than trust callers: an out-of-range label would silently land in another cell.
    if (t >= numClasses || p >= numClasses) {
      throw new Error(`label out of range at pixel ${i}: truth ${t}, prediction ${p} (classes 0..${numClasses - 1})`);
    }
    matrix[t * numClasses + p]! += 1;
  }
}

/**
 * Confusion matrix of one prediction against the truth, flat with length numClasses²:
 * matrix[truth * numClasses + prediction] = pixel count.
 */
export function confusionMatrix(pred: Uint8Array, truth: Uint8Array, numClasses: number = NUM_CLASSES): Float64Array {
  const matrix = new Float64Array(numClasses * numClasses);
  accumulateConfusion(matrix, pred, truth, numClasses);
  return matrix;
}

export interface MeterAddOptions {
  /** Softmax output for the same pixels, NHWC flattened: probs[pixel * 3 + class]. */
  probs?: Float32Array;
  /** How many images `pred`/`truth` hold (a batch); default 1. */
  images?: number;
}

/**
 * Accumulates predictions over a test set (MONAI-style metric object): call add() per image or
 * batch, aggregate() once at the end, reset() before the next epoch.
 * globalSoftDice is reported only if probs were given with every add(); a partial sum would be
 * a score over a different pixel set than the other metrics, so it is null instead.
 */
export class SegmentationMeter {
  private readonly matrix = new Float64Array(NUM_CLASSES * NUM_CLASSES);
  private soft: SoftDiceSums = { intersection: 0, labelSum: 0, probSum: 0 };
  private imageCount = 0;
  private pixelCount = 0;
  private pixelsWithProbs = 0;

  /** Images added since the last reset. */
  get images(): number {
    return this.imageCount;
  }

  /** Pixels added since the last reset. */
  get pixels(): number {
    return this.pixelCount;
  }

  add(pred: Uint8Array, truth: Uint8Array, options: MeterAddOptions = {}): void {
    const images = options.images ?? 1;
    if (!Number.isInteger(images) || images < 0) throw new Error(`images must be a whole number ≥ 0, got ${images}`);
    // Validate the soft-Dice input before touching any sums so a bad call leaves the meter unchanged.
    if (options.probs && options.probs.length !== truth.length * NUM_CLASSES) {
      throw new Error(`probs has ${options.probs.length} values, expected ${truth.length * NUM_CLASSES}`);
    }
    const batch = confusionMatrix(pred, truth, NUM_CLASSES);
    for (let i = 0; i < batch.length; i++) this.matrix[i]! += batch[i]!;
    if (options.probs) {
      accumulateSoftDice(this.soft, options.probs, truth, NUM_CLASSES);
      this.pixelsWithProbs += truth.length;
    }
    this.imageCount += images;
    this.pixelCount += truth.length;
  }

  /** A copy of the accumulated confusion matrix (flat, row = truth). */
  confusion(): Float64Array {
    return this.matrix.slice();
  }

  /** Scores over everything added since the last reset; throws if nothing was added. */
  aggregate(): SegmentationMetrics {
    const softComplete = this.pixelsWithProbs > 0 && this.pixelsWithProbs === this.pixelCount;
    return computeMetrics(this.matrix, { images: this.imageCount, soft: softComplete ? this.soft : null });
  }

  reset(): void {
    this.matrix.fill(0);
    this.soft = { intersection: 0, labelSum: 0, probSum: 0 };
    this.imageCount = 0;
    this.pixelCount = 0;
    this.pixelsWithProbs = 0;
  }
}
