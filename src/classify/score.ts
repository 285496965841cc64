// From the classifier's probabilities for labelled cells to the figures `evaluate`, `train` and `cv`
// report: per data set and pooled, over every cell given a type, with the confident cells (at or above
// the uncertain threshold) and the cells the segmenter gave nothing to type counted on their own. Pure.
import { CELL_TYPES } from './cell-types.js';
import { addConfusions, classificationMetrics, confusionOf, macroF1Over, type ClassificationMetrics } from './metrics.js';
import { confidences } from './threshold.js';

/** The four types both data sets have enough cells of to learn and to score (basophils: 4 in all). */
export const MAIN_TYPES = ['neutrophil', 'lymphocyte', 'monocyte', 'eosinophil'] as const;

export interface CellPrediction {
  id: string;
  source: string;
  /** True class index. */
  label: number;
  /** Probabilities in CELL_TYPES order; null when the mask held no cell with a nucleus to type. */
  probs: number[] | null;
}

export interface CellScores {
  /** Every labelled cell, typed or not. */
  cells: number;
  /** Cells with no cell to type in their mask (an error of the segmentation, counted apart). */
  untyped: number;
  /** Over the typed cells: the likeliest type against the label. */
  metrics: ClassificationMetrics;
  /** Macro-F1 over MAIN_TYPES (the types the data can teach). */
  macroF1Main: number | null;
  /** The cells at or above the uncertain threshold: how many, and how often right. */
  confident: { threshold: number; cells: number; coverage: number | null; accuracy: number | null };
}

/** Argmax class of a probability row. */
export function likeliest(probs: readonly number[]): number {
  let best = 0;
  for (let c = 1; c < probs.length; c++) if (probs[c] > probs[best]) best = c;
  return best;
}

/** The scores of a set of predictions (one data set, or several pooled); a threshold of NaN counts no confident cells. */
export function scoreCells(predictions: readonly CellPrediction[], threshold: number): CellScores {
  const typed = predictions.filter((p) => p.probs !== null);
  const truth = typed.map((p) => p.label);
  const metrics = classificationMetrics(confusionOf(truth, typed.map((p) => likeliest(p.probs!)), CELL_TYPES.length), CELL_TYPES);
  const conf = typed.length === 0 ? [] : confidences(Float32Array.from(typed.flatMap((p) => p.probs!)), truth);
  const kept = conf.filter((c) => c.confidence >= threshold);
  return {
    cells: predictions.length,
    untyped: predictions.length - typed.length,
    metrics,
    macroF1Main: macroF1Over(metrics, MAIN_TYPES),
    confident: {
      threshold,
      cells: kept.length,
      coverage: predictions.length === 0 ? null : kept.length / predictions.length,
      accuracy: kept.length === 0 ? null : kept.filter((c) => c.correct).length / kept.length,
    },
  };
}

/** Scores per data source (in order of first appearance) and pooled over all of them. */
export function scoreBySource(predictions: readonly CellPrediction[], threshold: number): { pooled: CellScores; sources: Array<{ source: string } & CellScores> } {
  const names = [...new Set(predictions.map((p) => p.source))];
  return {
    pooled: scoreCells(predictions, threshold),
    sources: names.map((source) => ({ source, ...scoreCells(predictions.filter((p) => p.source === source), threshold) })),
  };
}

/** The pooled confusion matrix of several scored sets (folds), e.g. out-of-fold predictions of a cross-validation. */
export function pooledConfusion(sets: ReadonlyArray<Pick<CellScores, 'metrics'>>): number[][] {
  return addConfusions(sets.map((s) => s.metrics.confusion));
}
