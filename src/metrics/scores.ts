// Segmentation scores from one confusion matrix over all pixels (micro-averaged over the test set),
// plus the study's "global soft Dice" from summed softmax products.
import { CLASS_NAMES, NUM_CLASSES } from '../data/types.js';

/** Rows of the score tables: the three classes, then the summaries built from them. */
export const SCORE_KEYS = ['background', 'cytoplasm', 'nucleus', 'mean', 'foreground', 'wholeCell'] as const;
export type ScoreKey = (typeof SCORE_KEYS)[number];

/**
 * Running sums behind the study's headline metric (Keras "MeanDice"):
 * globalSoftDice = 2·Σ(onehot·softmax) / (Σ onehot + Σ softmax), over all pixels and classes.
 */
export interface SoftDiceSums {
  /** Σ onehot·softmax = Σ over pixels of the probability given to the true class. */
  intersection: number;
  /** Σ onehot = number of pixels. */
  labelSum: number;
  /** Σ softmax over all pixels and classes (≈ number of pixels, exactly so only if rows sum to 1). */
  probSum: number;
}

export interface SegmentationMetrics {
  images: number;
  pixels: number;
  dice: Record<ScoreKey, number>;
  iou: Record<ScoreKey, number>;
  pixelAccuracy: number;
  /** null when no softmax probabilities were given for (every batch of) the scored pixels. */
  globalSoftDice: number | null;
  /** confusion[truth][prediction], in pixels. */
  confusion: number[][];
}

/**
 * Dice and IoU of one binary overlap.
 * Empty-class policy: when the class is absent from both truth and prediction (tp = fp = fn = 0)
 * both scores are 1 — "correctly predicted nothing". This is the limit of the smoothed Keras
 * Dice (smooth / smooth) the study used, and it keeps means finite and JSON free of NaN.
 */
export function overlapScores(tp: number, fp: number, fn: number): { dice: number; iou: number } {
  if (tp + fp + fn === 0) return { dice: 1, iou: 1 };
  return { dice: (2 * tp) / (2 * tp + fp + fn), iou: tp / (tp + fp + fn) };
}

/** Global soft Dice from its sums; null if nothing was summed (no probabilities were given). */
export function globalSoftDice(sums: SoftDiceSums | null | undefined): number | null {
  if (!sums) return null;
  const denominator = sums.labelSum + sums.probSum;
  return denominator > 0 ? (2 * sums.intersection) / denominator : null;
}

/**
 * Adds one batch's soft-Dice terms to `sums` in place.
 * `probs` is NHWC softmax output flattened: probs[pixel * numClasses + class].
 */
export function accumulateSoftDice(
  sums: SoftDiceSums,
  probs: ArrayLike<number>,
  truth: Uint8Array,
  numClasses: number = NUM_CLASSES,
): void {
  if (probs.length !== truth.length * numClasses) {
    throw new Error(
      `softmax has ${probs.length} values, expected ${truth.length} pixels × ${numClasses} classes = ${truth.length * numClasses}`,
    );
  }
  let intersection = sums.intersection;
  let probSum = sums.probSum;
  for (let i = 0; i < truth.length; i++) {
    const base = i * numClasses;
    const t = truth[i]!;
    if (t >= numClasses) throw new Error(`truth label ${t} at pixel ${i} is out of range (classes 0..${numClasses - 1})`);
    intersection += probs[base + t]!;
    for (let c = 0; c < numClasses; c++) probSum += probs[base + c]!;
  }
  sums.intersection = intersection;
  sums.probSum = probSum;
  sums.labelSum += truth.length;
}

/**
 * All scores from a 3-class confusion matrix (flat, row = truth, column = prediction).
 * Per-class scores pool every pixel of every image (micro average), as the study's metric does;
 * `mean` averages the three classes, `foreground` cytoplasm and nucleus, and `wholeCell` scores
 * cytoplasm ∪ nucleus against background as one binary problem.
 * Throws if the matrix holds no pixels: there is nothing to score.
 */
export function computeMetrics(
  confusion: ArrayLike<number>,
  context: { images: number; soft?: SoftDiceSums | null },
): SegmentationMetrics {
  const n = NUM_CLASSES;
  if (confusion.length !== n * n) {
    throw new Error(`confusion matrix has ${confusion.length} cells, expected ${n * n}`);
  }
  const at = (truth: number, pred: number): number => confusion[truth * n + pred]!;
  let pixels = 0;
  let correct = 0;
  for (let t = 0; t < n; t++) {
    correct += at(t, t);
    for (let p = 0; p < n; p++) pixels += at(t, p);
  }
  if (pixels === 0) throw new Error('cannot compute metrics: no pixels were scored');

  const dice = {} as Record<ScoreKey, number>;
  const iou = {} as Record<ScoreKey, number>;
  CLASS_NAMES.forEach((name, c) => {
    let rowSum = 0; // pixels of class c in truth
    let colSum = 0; // pixels predicted as class c
    for (let k = 0; k < n; k++) {
      rowSum += at(c, k);
      colSum += at(k, c);
    }
    const tp = at(c, c);
    const scores = overlapScores(tp, colSum - tp, rowSum - tp);
    dice[name] = scores.dice;
    iou[name] = scores.iou;
  });
  dice.mean = (dice.background + dice.cytoplasm + dice.nucleus) / 3;
  iou.mean = (iou.background + iou.cytoplasm + iou.nucleus) / 3;
  dice.foreground = (dice.cytoplasm + dice.nucleus) / 2;
  iou.foreground = (iou.cytoplasm + iou.nucleus) / 2;

  // Whole cell: class 0 is background, every other class is "cell".
  let cellTp = 0;
  let cellFp = 0;
  let cellFn = 0;
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      if (t > 0 && p > 0) cellTp += at(t, p);
      else if (t === 0 && p > 0) cellFp += at(t, p);
      else if (t > 0 && p === 0) cellFn += at(t, p);
    }
  }
  const cell = overlapScores(cellTp, cellFp, cellFn);
  dice.wholeCell = cell.dice;
  iou.wholeCell = cell.iou;

  const rows: number[][] = [];
  for (let t = 0; t < n; t++) rows.push(Array.from({ length: n }, (_, p) => at(t, p)));

  return {
    images: context.images,
    pixels,
    dice,
    iou,
    pixelAccuracy: correct / pixels,
    globalSoftDice: globalSoftDice(context.soft),
    confusion: rows,
  };
}
