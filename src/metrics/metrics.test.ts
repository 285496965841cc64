// Hand-computed checks of the confusion matrix, Dice/IoU scores, soft Dice, the empty-class
// policy and the accumulating meter, on masks small enough to verify on paper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionMatrix, SegmentationMeter } from './confusion.js';
import { computeMetrics, overlapScores, type ScoreKey } from './scores.js';
import { formatMetricsTable } from './format.js';

const close = (actual: number, expected: number, what: string, tolerance = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: got ${actual}, expected ${expected}`);

interface HandCase {
  name: string;
  truth: number[];
  pred: number[];
  confusion: number[][];
  dice: Record<ScoreKey, number>;
  iou: Record<ScoreKey, number>;
  pixelAccuracy: number;
}

const cases: HandCase[] = [
  {
    // 2x2. truth [0 1 / 2 2], pred [0 1 / 2 1]: one nucleus pixel predicted as cytoplasm.
    // background: tp 1 fp 0 fn 0 -> Dice 1, IoU 1
    // cytoplasm:  tp 1 fp 1 fn 0 -> Dice 2/3, IoU 1/2
    // nucleus:    tp 1 fp 0 fn 1 -> Dice 2/3, IoU 1/2
    // mean Dice (1 + 2/3 + 2/3)/3 = 7/9, mean IoU (1 + 1/2 + 1/2)/3 = 2/3
    // foreground Dice 2/3, IoU 1/2; whole cell: truth cells {1,2,3} = pred cells -> 1, 1
    // pixel accuracy 3/4
    name: '2x2, nucleus pixel called cytoplasm',
    truth: [0, 1, 2, 2],
    pred: [0, 1, 2, 1],
    confusion: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ],
    dice: { background: 1, cytoplasm: 2 / 3, nucleus: 2 / 3, mean: 7 / 9, foreground: 2 / 3, wholeCell: 1 },
    iou: { background: 1, cytoplasm: 1 / 2, nucleus: 1 / 2, mean: 2 / 3, foreground: 1 / 2, wholeCell: 1 },
    pixelAccuracy: 3 / 4,
  },
  {
    // 3x3. truth      pred
    //      0 0 0      0 0 1
    //      0 2 1      0 2 2
    //      1 1 1      0 1 1
    // confusion rows (truth) x cols (pred): [3 1 0], [1 2 1], [0 0 1]
    // background: tp 3 fp 1 fn 1 -> Dice 6/8 = 3/4, IoU 3/5
    // cytoplasm:  tp 2 fp 1 fn 2 -> Dice 4/7,        IoU 2/5
    // nucleus:    tp 1 fp 1 fn 0 -> Dice 2/3,        IoU 1/2
    // mean Dice (3/4 + 4/7 + 2/3)/3 = (63 + 48 + 56)/252 = 167/252; mean IoU (3/5 + 2/5 + 1/2)/3 = 1/2
    // foreground Dice (4/7 + 2/3)/2 = 13/21; IoU (2/5 + 1/2)/2 = 9/20
    // whole cell: truth cells {4..8}, pred cells {2,4,5,7,8}: tp 4 fp 1 fn 1 -> Dice 8/10, IoU 4/6
    // pixel accuracy (3 + 2 + 1)/9 = 2/3
    name: '3x3, mixed errors',
    truth: [0, 0, 0, 0, 2, 1, 1, 1, 1],
    pred: [0, 0, 1, 0, 2, 2, 0, 1, 1],
    confusion: [
      [3, 1, 0],
      [1, 2, 1],
      [0, 0, 1],
    ],
    dice: { background: 3 / 4, cytoplasm: 4 / 7, nucleus: 2 / 3, mean: 167 / 252, foreground: 13 / 21, wholeCell: 4 / 5 },
    iou: { background: 3 / 5, cytoplasm: 2 / 5, nucleus: 1 / 2, mean: 1 / 2, foreground: 9 / 20, wholeCell: 2 / 3 },
    pixelAccuracy: 2 / 3,
  },
];

for (const c of cases) {
  test(`scores: ${c.name}`, () => {
    const matrix = confusionMatrix(Uint8Array.from(c.pred), Uint8Array.from(c.truth));
    const m = computeMetrics(matrix, { images: 1 });
    assert.deepEqual(m.confusion, c.confusion);
    assert.equal(m.pixels, c.truth.length);
    assert.equal(m.images, 1);
    for (const key of Object.keys(c.dice) as ScoreKey[]) {
      close(m.dice[key], c.dice[key], `Dice ${key}`);
      close(m.iou[key], c.iou[key], `IoU ${key}`);
    }
    close(m.pixelAccuracy, c.pixelAccuracy, 'pixel accuracy');
    assert.equal(m.globalSoftDice, null, 'no probs given -> null');
  });
}

test('confusion matrix: row = truth, column = prediction', () => {
  // truth 2 predicted as 0 once: lands in row 2, column 0.
  const matrix = confusionMatrix(Uint8Array.from([2]), Uint8Array.from([0]));
  assert.deepEqual(Array.from(matrix), [0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const twoClass = confusionMatrix(Uint8Array.from([1, 1]), Uint8Array.from([0, 1]), 2);
  assert.deepEqual(Array.from(twoClass), [0, 1, 0, 1]);
});

test('confusion matrix rejects mismatched lengths and out-of-range labels', () => {
  assert.throws(() => confusionMatrix(Uint8Array.from([0]), Uint8Array.from([0, 1])), /pixels/);
  assert.throws(() => confusionMatrix(Uint8Array.from([3]), Uint8Array.from([0])), /out of range/);
});

test('empty-class policy: a class absent from truth and prediction scores Dice = IoU = 1', () => {
  // 2x2 with no nucleus anywhere, everything right: nucleus tp = fp = fn = 0 -> 1 by policy.
  const m = computeMetrics(confusionMatrix(Uint8Array.from([0, 0, 1, 1]), Uint8Array.from([0, 0, 1, 1])), { images: 1 });
  assert.equal(m.dice.nucleus, 1);
  assert.equal(m.iou.nucleus, 1);
  assert.equal(m.dice.mean, 1);
  assert.deepEqual(overlapScores(0, 0, 0), { dice: 1, iou: 1 });
  // Absent from truth but predicted (false positives only) is a real error: Dice 0.
  const fp = computeMetrics(confusionMatrix(Uint8Array.from([0, 2]), Uint8Array.from([0, 0])), { images: 1 });
  assert.equal(fp.dice.nucleus, 0);
  // Present in truth but never predicted: Dice 0.
  const fn = computeMetrics(confusionMatrix(Uint8Array.from([0, 0]), Uint8Array.from([0, 2])), { images: 1 });
  assert.equal(fn.dice.nucleus, 0);
  assert.equal(fn.iou.nucleus, 0);
});

test('computeMetrics refuses an empty matrix', () => {
  assert.throws(() => computeMetrics(new Float64Array(9), { images: 0 }), /no pixels/);
});

test('global soft Dice on a hand case', () => {
  // 2 pixels, truth [0, 2].
  // pixel 0 softmax [0.8, 0.1, 0.1] -> true-class prob 0.8, row sum 1.0
  // pixel 1 softmax [0.1, 0.1, 0.5] -> true-class prob 0.5, row sum 0.7 (not normalised, to test Σ softmax)
  // intersection 1.3, Σ onehot 2, Σ softmax 1.7 -> 2·1.3 / (2 + 1.7) = 2.6 / 3.7
  const meter = new SegmentationMeter();
  const probs = Float32Array.from([0.8, 0.1, 0.1, 0.1, 0.1, 0.5]);
  meter.add(Uint8Array.from([0, 2]), Uint8Array.from([0, 2]), { probs });
  const soft = meter.aggregate().globalSoftDice;
  assert.ok(soft !== null);
  close(soft, 2.6 / 3.7, 'global soft Dice', 1e-6);
});

test('meter: two adds equal one add of the concatenation', () => {
  const [a, b] = cases;
  const probsFor = (truth: number[]): Float32Array =>
    // Deterministic softmax-like rows: 0.6 on (truth + 1) % 3, 0.3 on the truth, 0.1 elsewhere.
    Float32Array.from(truth.flatMap((t) => [0, 1, 2].map((c) => (c === (t + 1) % 3 ? 0.6 : c === t ? 0.3 : 0.1))));
  const split = new SegmentationMeter();
  split.add(Uint8Array.from(a!.pred), Uint8Array.from(a!.truth), { probs: probsFor(a!.truth) });
  split.add(Uint8Array.from(b!.pred), Uint8Array.from(b!.truth), { probs: probsFor(b!.truth) });
  const whole = new SegmentationMeter();
  const truth = [...a!.truth, ...b!.truth];
  whole.add(Uint8Array.from([...a!.pred, ...b!.pred]), Uint8Array.from(truth), { probs: probsFor(truth), images: 2 });

  const ms = split.aggregate();
  const mw = whole.aggregate();
  assert.equal(split.images, 2);
  assert.equal(ms.images, 2);
  assert.equal(ms.pixels, 13);
  assert.deepEqual(ms.confusion, mw.confusion);
  assert.deepEqual(ms.confusion, [
    [4, 1, 0],
    [1, 3, 1],
    [0, 1, 2],
  ]);
  assert.deepEqual(ms.dice, mw.dice);
  assert.deepEqual(ms.iou, mw.iou);
  assert.ok(ms.globalSoftDice !== null && mw.globalSoftDice !== null);
  // Every true-class prob is 0.3 (as float32) and rows sum to 1: 2·13·0.3 / 26 ≈ 0.3.
  close(ms.globalSoftDice, mw.globalSoftDice, 'soft Dice split vs whole', 1e-12);
  close(ms.globalSoftDice, 0.3, 'soft Dice value', 1e-6);
});

test('meter: soft Dice is null unless every add had probs; reset clears everything', () => {
  const meter = new SegmentationMeter();
  meter.add(Uint8Array.from([0, 1]), Uint8Array.from([0, 1]), { probs: Float32Array.from([1, 0, 0, 0, 1, 0]) });
  assert.equal(meter.aggregate().globalSoftDice, 1);
  meter.add(Uint8Array.from([2]), Uint8Array.from([2]));
  assert.equal(meter.aggregate().globalSoftDice, null);
  assert.throws(() => meter.add(Uint8Array.from([0]), Uint8Array.from([0]), { probs: new Float32Array(2) }), /probs/);
  assert.equal(meter.pixels, 3, 'a rejected add leaves the meter unchanged');
  meter.reset();
  assert.equal(meter.images, 0);
  assert.equal(meter.pixels, 0);
  assert.throws(() => meter.aggregate(), /no pixels/);
});

test('formatMetricsTable lists every row and the headline metric', () => {
  const meter = new SegmentationMeter();
  meter.add(Uint8Array.from(cases[1]!.pred), Uint8Array.from(cases[1]!.truth));
  const text = formatMetricsTable(meter.aggregate());
  for (const label of ['background', 'cytoplasm', 'nucleus', 'mean', 'foreground', 'whole cell', 'pixel accuracy']) {
    assert.match(text, new RegExp(label));
  }
  assert.match(text, /background\s+0\.7500\s+0\.6000/);
  assert.match(text, /whole cell\s+0\.8000\s+0\.6667/);
  assert.match(text, /global soft Dice \(the study's MeanDice\): n\/a/);
  // Numbers right-aligned: every table row has the same length.
  const tableRows = text.split('\n').slice(1, 10).filter((l) => !l.startsWith('-'));
  assert.equal(new Set(tableRows.map((l) => l.length)).size, 1);
});
