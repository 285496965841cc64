// The uncertain threshold: chosen on validation cells so that the cells given a type are right at
// least as often as asked; cells below it are reported as 'uncertain' rather than silently assigned.
// Pure.
import { CELL_TYPES } from './cell-types.js';

/** Thresholds tried, in steps of 0.05 from 0 (never uncertain: a top probability of 5 types is at least 0.2). */
export const THRESHOLD_STEPS = Array.from({ length: 20 }, (_, i) => i / 20);

export interface ThresholdChoice {
  threshold: number;
  targetAccuracy: number;
  validationCells: number;
  /** Validation cells at or above the threshold, and how many of those were right. */
  keptCells: number;
  keptAccuracy: number | null;
}

/** Top probability and whether the top type is the true one, per cell (probs: cells x 5). */
export function confidences(probs: Float32Array, labels: ArrayLike<number>): Array<{ confidence: number; correct: boolean }> {
  const k = CELL_TYPES.length;
  if (probs.length !== labels.length * k) throw new Error(`confidences: ${probs.length} probabilities for ${labels.length} cells`);
  return Array.from({ length: labels.length }, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    return { confidence: probs[i * k + best], correct: best === labels[i] };
  });
}

/**
 * The lowest threshold of THRESHOLD_STEPS at which the kept validation cells reach `targetAccuracy`;
 * when none does, the one with the best kept accuracy (the lowest of ties).
 */
export function chooseThreshold(probs: Float32Array, labels: ArrayLike<number>, targetAccuracy: number): ThresholdChoice {
  const cells = confidences(probs, labels);
  let fallback: ThresholdChoice | null = null;
  for (const threshold of THRESHOLD_STEPS) {
    const kept = cells.filter((c) => c.confidence >= threshold);
    const keptAccuracy = kept.length === 0 ? null : kept.filter((c) => c.correct).length / kept.length;
    const choice = { threshold, targetAccuracy, validationCells: cells.length, keptCells: kept.length, keptAccuracy };
    if (keptAccuracy !== null && keptAccuracy >= targetAccuracy) return choice;
    if (keptAccuracy !== null && (fallback === null || keptAccuracy > fallback.keptAccuracy!)) fallback = choice;
  }
  return fallback ?? { threshold: 0, targetAccuracy, validationCells: cells.length, keptCells: cells.length, keptAccuracy: null };
}
