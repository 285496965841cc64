// Classification scores on confusion matrices small enough to check by hand, the empty-class policy,
// and the threshold and verdict rules that decide when a cell is reported as uncertain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addConfusions, classificationMetrics, confusionOf, macroF1Over } from './metrics.js';
import { chooseThreshold } from './threshold.js';
import { CELL_TYPES, cellTypeRow, CELL_TYPE_COLUMNS, verdict } from './cell-types.js';
import { scoreCells } from './score.js';

const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('a 3-class matrix: accuracy, per-class precision/recall/F1, balanced accuracy and macro-F1 by hand', () => {
  // truth a: 3 right, 1 said b; truth b: 2 right, 2 said c; truth c: 1 right.
  const truth = [0, 0, 0, 0, 1, 1, 1, 1, 2];
  const pred = [0, 0, 0, 1, 1, 1, 2, 2, 2];
  const confusion = confusionOf(truth, pred, 3);
  assert.deepEqual(confusion, [[3, 1, 0], [0, 2, 2], [0, 0, 1]]);
  const m = classificationMetrics(confusion, ['a', 'b', 'c']);
  assert.equal(m.cells, 9);
  close(m.accuracy, 6 / 9, 'accuracy');
  close(m.perClass.a.precision, 1, 'precision a');
  close(m.perClass.a.recall, 3 / 4, 'recall a');
  close(m.perClass.a.f1, 6 / 7, 'F1 a'); // 2*3 / (2*3 + 0 + 1)
  close(m.perClass.b.precision, 2 / 3, 'precision b');
  close(m.perClass.b.recall, 2 / 4, 'recall b');
  close(m.perClass.b.f1, 4 / 7, 'F1 b'); // 2*2 / (4 + 1 + 2)
  close(m.perClass.c.precision, 1 / 3, 'precision c');
  close(m.perClass.c.f1, 2 / 4, 'F1 c'); // 2 / (2 + 2 + 0)
  close(m.balancedAccuracy, (3 / 4 + 2 / 4 + 1) / 3, 'balanced accuracy');
  close(m.macroF1, (6 / 7 + 4 / 7 + 2 / 4) / 3, 'macro-F1');
  close(macroF1Over(m, ['a', 'b']), (6 / 7 + 4 / 7) / 2, 'macro-F1 over a, b');
});

test('empty classes: absent from the truth they leave the means; never predicted their precision is null', () => {
  // Class c is never true but predicted once; class b is true twice and never predicted.
  const m = classificationMetrics(confusionOf([0, 0, 1, 1], [0, 2, 0, 0], 3), ['a', 'b', 'c']);
  assert.equal(m.perClass.c.recall, null);
  close(m.perClass.c.precision, 0, 'precision c');
  close(m.perClass.c.f1, 0, 'F1 c');
  assert.equal(m.perClass.b.precision, null);
  close(m.perClass.b.f1, 0, 'F1 b');
  close(m.balancedAccuracy, (1 / 2 + 0) / 2, 'balanced accuracy over a and b only');
  close(m.macroF1, (2 / 5 + 0) / 2, 'macro-F1 over a and b only'); // F1 a = 2 / (2 + 1 + 2)
  const none = classificationMetrics(confusionOf([0], [0], 3), ['a', 'b', 'c']);
  assert.equal(none.perClass.b.f1, null, 'neither present nor predicted: no F1');
  assert.equal(classificationMetrics(confusionOf([], [], 2), ['a', 'b']).accuracy, null);
});

test('confusion matrices refuse bad labels and add up across folds', () => {
  assert.throws(() => confusionOf([0, 3], [0, 0], 3), /label out of range at 1: truth 3/);
  assert.throws(() => confusionOf([0], [0, 1], 3), /1 true labels but 2 predictions/);
  assert.deepEqual(addConfusions([[[1, 0], [2, 3]], [[0, 4], [1, 1]]]), [[1, 4], [3, 4]]);
  assert.throws(() => addConfusions([[[1]], [[1, 0], [0, 1]]]), /different sizes/);
  assert.throws(() => macroF1Over(classificationMetrics([[1]], ['a']), ['z']), /no class z/);
});

test('the uncertain threshold is the lowest step whose kept validation cells reach the target accuracy', () => {
  const row = (p: number, c: number) => CELL_TYPES.map((_, i) => (i === c ? p : (1 - p) / 4));
  // Confidences 0.9 right, 0.8 right, 0.6 wrong, 0.5 right, 0.3 wrong.
  const probs = Float32Array.from([row(0.9, 0), row(0.8, 1), row(0.6, 2), row(0.5, 0), row(0.3, 3)].flat());
  const labels = [0, 1, 0, 0, 0];
  // All five: 3/5; from 0.35: 3/4; from 0.55: 2/3; from 0.65: 2/2.
  assert.equal(chooseThreshold(probs, labels, 0.6).threshold, 0);
  assert.equal(chooseThreshold(probs, labels, 0.75).threshold, 0.35);
  const strict = chooseThreshold(probs, labels, 1);
  assert.equal(strict.threshold, 0.65);
  assert.deepEqual([strict.keptCells, strict.keptAccuracy, strict.validationCells], [2, 1, 5]);
});

test('a verdict below the threshold is uncertain but keeps the likeliest type and every probability', () => {
  const v = verdict([0.1, 0.55, 0.2, 0.1, 0.05], 0.6);
  assert.equal(v.cellType, 'uncertain');
  assert.equal(v.likeliest, 'lymphocyte');
  assert.equal(v.confidence, 0.55);
  assert.equal(verdict([0.1, 0.55, 0.2, 0.1, 0.05], 0.5).cellType, 'lymphocyte');
  const row = cellTypeRow(v);
  assert.deepEqual(Object.keys(row), [...CELL_TYPE_COLUMNS]);
  assert.deepEqual([row.cellType, row.pLymphocyte, row.pBasophil], ['uncertain', 0.55, 0.05]);
  assert.deepEqual(Object.values(cellTypeRow(null)), CELL_TYPE_COLUMNS.map(() => null));
  assert.throws(() => verdict([0.5, 0.5], 0.5), /expected 5 cell-type probabilities, got 2/);
});

test('scores of predictions: untyped cells apart, confident cells counted at the threshold', () => {
  const one = (c: number, p = 0.9) => CELL_TYPES.map((_, i) => (i === c ? p : (1 - p) / 4));
  const s = scoreCells(
    [
      { id: '1', source: 'A', label: 0, probs: one(0) },
      { id: '2', source: 'A', label: 1, probs: one(0, 0.5) },
      { id: '3', source: 'A', label: 2, probs: null },
    ],
    0.8,
  );
  assert.deepEqual([s.cells, s.untyped, s.metrics.cells], [3, 1, 2]);
  close(s.metrics.accuracy, 0.5, 'accuracy of the typed cells');
  assert.deepEqual([s.confident.cells, s.confident.accuracy], [1, 1]);
  close(s.confident.coverage, 1 / 3, 'coverage');
});
