// Classification scores from one confusion matrix (rows = truth, columns = prediction): accuracy,
// balanced accuracy, per-class precision / recall / F1 and their macro mean. Pure functions, so
// the scores of `evaluate`, `cv` and the tests are computed one way. Empty-class policy: a class
// with no true cells has recall null and takes no part in balanced accuracy or the macro mean; a
// class never predicted has precision null (its F1 is 0 when it has true cells).

export interface ClassScores {
  /** True cells of the class. */
  support: number;
  /** Cells predicted as the class. */
  predicted: number;
  precision: number | null;
  recall: number | null;
  /** 2 tp / (2 tp + fp + fn); null when the class is neither present nor predicted. */
  f1: number | null;
}

export interface ClassificationMetrics {
  cells: number;
  classNames: string[];
  /** confusion[truth][prediction] = cells. */
  confusion: number[][];
  accuracy: number | null;
  /** Mean recall over the classes that have true cells (sklearn's balanced_accuracy_score). */
  balancedAccuracy: number | null;
  /** Mean F1 over the classes that have true cells. */
  macroF1: number | null;
  perClass: Record<string, ClassScores>;
}

/** An all-zero classes x classes matrix. */
export function emptyConfusion(classes: number): number[][] {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** Counts (truth, prediction) pairs; throws on a label outside 0..classes-1 or arrays of different length. */
export function confusionOf(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  if (truth.length !== predicted.length) throw new Error(`confusionOf: ${truth.length} true labels but ${predicted.length} predictions`);
  const matrix = emptyConfusion(classes);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (!Number.isInteger(t) || !Number.isInteger(p) || t < 0 || p < 0 || t >= classes || p >= classes) {
      throw new Error(`confusionOf: label out of range at ${i}: truth ${t}, prediction ${p} (classes 0..${classes - 1})`);
    }
    matrix[t][p]++;
  }
  return matrix;
}

/** Element-wise sum of matrices of one size (pooling folds or data sets). */
export function addConfusions(matrices: ReadonlyArray<number[][]>): number[][] {
  if (matrices.length === 0) throw new Error('addConfusions: no matrices');
  const n = matrices[0].length;
  const out = emptyConfusion(n);
  for (const m of matrices) {
    if (m.length !== n || m.some((row) => row.length !== n)) throw new Error(`addConfusions: matrices of different sizes (${n} and ${m.length})`);
    m.forEach((row, t) => row.forEach((v, p) => (out[t][p] += v)));
  }
  return out;
}

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

/** Every score of a confusion matrix whose rows and columns are `classNames`. */
export function classificationMetrics(confusion: number[][], classNames: readonly string[]): ClassificationMetrics {
  const k = classNames.length;
  if (confusion.length !== k || confusion.some((row) => row.length !== k)) {
    throw new Error(`classificationMetrics: a ${k}-class matrix is needed for ${classNames.join(', ')}`);
  }
  const cells = confusion.reduce((n, row) => n + row.reduce((a, b) => a + b, 0), 0);
  const correct = confusion.reduce((n, row, i) => n + row[i], 0);
  const perClass: Record<string, ClassScores> = {};
  classNames.forEach((name, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((n, row) => n + row[c], 0);
    const denominator = support + predicted; // = 2 tp + fp + fn
    perClass[name] = {
      support,
      predicted,
      precision: predicted === 0 ? null : tp / predicted,
      recall: support === 0 ? null : tp / support,
      f1: denominator === 0 ? null : (2 * tp) / denominator,
    };
  });
  const present = classNames.filter((name) => perClass[name].support > 0);
  return {
    cells,
    classNames: [...classNames],
    confusion: confusion.map((row) => [...row]),
    accuracy: cells === 0 ? null : correct / cells,
    balancedAccuracy: mean(present.map((name) => perClass[name].recall!)),
    macroF1: mean(present.map((name) => perClass[name].f1!)),
    perClass,
  };
}

/** Mean F1 over the named classes (those with true cells); e.g. the four types the data can teach. */
export function macroF1Over(metrics: ClassificationMetrics, names: readonly string[]): number | null {
  const unknown = names.filter((n) => !(n in metrics.perClass));
  if (unknown.length > 0) throw new Error(`macroF1Over: no class ${unknown.join(', ')} (classes: ${metrics.classNames.join(', ')})`);
  return mean(names.filter((n) => metrics.perClass[n].support > 0).map((n) => metrics.perClass[n].f1!));
}
