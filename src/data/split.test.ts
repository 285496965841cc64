// Tests for split.ts against values printed by numpy 2.4.6 (np.random.RandomState(seed).permutation(n))
// and sklearn's KFold fold rule applied to those permutations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mt19937, kFoldSplits, numpyPermutation, stratifiedKFoldSplits, stratifiedTrainTestSplit, trainTestSplit } from './split.js';
import { NUMPY_PERM300_SEED42_FIRST90 } from './numpy-reference.js';

test('MT19937 with init_genrand(5489) gives the reference first outputs', () => {
  // mt19937ar.c's default seed; numpy 2.4.6 MT19937()._legacy_seeding(5489).random_raw(3) prints the same.
  const rng = new Mt19937(5489);
  assert.deepEqual([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()], [3499211612, 581869302, 3890346734]);
});

test('numpyPermutation reproduces numpy RandomState(seed).permutation(n)', () => {
  assert.deepEqual(numpyPermutation(10, 42), [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
  assert.deepEqual(numpyPermutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  assert.deepEqual(numpyPermutation(7, 123), [1, 3, 4, 0, 2, 5, 6]);
  assert.deepEqual(numpyPermutation(12, 2 ** 32 - 1), [11, 8, 5, 9, 1, 10, 6, 0, 4, 7, 2, 3]);
  assert.deepEqual(numpyPermutation(1, 42), [0]);
  assert.deepEqual(numpyPermutation(0, 42), []);
  const perm300 = numpyPermutation(300, 42);
  assert.deepEqual(perm300.slice(0, 90), NUMPY_PERM300_SEED42_FIRST90);
  assert.deepEqual(perm300.slice(90, 100), [194, 101, 68, 224, 37, 16, 179, 147, 274, 67]);
  assert.deepEqual(perm300.slice(-10), [87, 214, 121, 299, 20, 188, 71, 106, 270, 102]);
  // Large n draws past several 624-word state refills.
  assert.deepEqual(numpyPermutation(70000, 7).slice(0, 8), [7653, 66274, 9119, 10760, 43166, 24247, 3682, 37283]);
});

test('numpyPermutation rejects seeds numpy rejects', () => {
  assert.throws(() => numpyPermutation(5, -1), /seed must be an integer between 0 and 2\^32 - 1/);
  assert.throws(() => numpyPermutation(5, 2 ** 32), /got 4294967296/);
  assert.throws(() => numpyPermutation(2.5, 1), /n must be a non-negative integer, got 2.5/);
});

test('trainTestSplit: ceil(0.3 n) test items first in permutation order, like sklearn', () => {
  const ids = Array.from({ length: 300 }, (_, i) => String(i + 1).padStart(3, '0'));
  const { train, test: testIds } = trainTestSplit(ids);
  assert.equal(train.length, 210);
  assert.equal(testIds.length, 90);
  assert.deepEqual(testIds, NUMPY_PERM300_SEED42_FIRST90.map((i) => ids[i]));
  assert.deepEqual(testIds.slice(0, 3), ['204', '267', '153']);
  assert.deepEqual(new Set([...train, ...testIds]).size, 300);

  // n = 10: ceil(0.3 * 10) = 3 test items; numpy's permutation(10) for seed 42 starts 8, 1, 5.
  const ten = trainTestSplit([...'abcdefghij'], { testFraction: 0.3, seed: 42 });
  assert.deepEqual(ten.test, ['i', 'b', 'f']);
  assert.deepEqual(ten.train, ['a', 'h', 'c', 'j', 'e', 'd', 'g']);
  // n = 11: ceil(3.3) = 4, the rounding up sklearn does.
  assert.equal(trainTestSplit([...'abcdefghijk']).test.length, 4);
});

test('trainTestSplit explains impossible requests', () => {
  assert.throws(() => trainTestSplit([1, 2], { testFraction: 1 }), /testFraction must be between 0 and 1 \(exclusive\), got 1/);
  assert.throws(() => trainTestSplit([1], { testFraction: 0.3 }), /with 1 item\(s\) and testFraction 0.3 the training set would be empty/);
});

test('kFoldSplits follows sklearn KFold(shuffle=True): sorted folds, first n % k folds one larger', () => {
  // numpy 2.4.6 RandomState(42).permutation(10) = [8,1,5,0,7,2,9,4,3,6] cut into 4/3/3, each sorted.
  const folds = kFoldSplits(10, 3, 42);
  assert.deepEqual(folds.map((f) => f.test), [[0, 1, 5, 8], [2, 7, 9], [3, 4, 6]]);
  assert.deepEqual(folds[0].train, [2, 3, 4, 6, 7, 9]);
  assert.deepEqual(kFoldSplits(11, 4, 0).map((f) => f.test), [[2, 4, 9], [1, 6, 10], [3, 7, 8], [0, 5]]);
  assert.throws(() => kFoldSplits(3, 5, 0), /cannot make 5 folds from 3 item\(s\)/);
  assert.throws(() => kFoldSplits(10, 1, 0), /k must be an integer of at least 2/);
});

test('stratified splits keep every stratum in both parts and each stratum of one in training', () => {
  const strata = [...Array(50).fill(0), ...Array(20).fill(1), ...Array(9).fill(2), 3];
  const items = strata.map((_, i) => `id${i}`);
  const { train, test: held } = stratifiedTrainTestSplit(items, strata, { testFraction: 0.3, seed: 42 });
  assert.equal(train.length + held.length, items.length);
  assert.equal(new Set([...train, ...held]).size, items.length);
  const count = (part: string[], s: number) => part.filter((id) => strata[Number(id.slice(2))] === s).length;
  assert.deepEqual([0, 1, 2, 3].map((s) => count(held, s)), [15, 6, 3, 0]);
  assert.ok(train.includes('id79'), 'the lone item of stratum 3 trains');
  const again = stratifiedTrainTestSplit(items, strata, { testFraction: 0.3, seed: 42 });
  assert.deepEqual(again.test, held, 'seeded');
  assert.notDeepEqual(stratifiedTrainTestSplit(items, strata, { testFraction: 0.3, seed: 7 }).test, held);
  assert.throws(() => stratifiedTrainTestSplit(items, [0], {}), /80 items but 1 strata/);
});

test('stratified k folds: each item held out once, every stratum spread as evenly as it can be', () => {
  const strata = [...Array(53).fill(0), ...Array(16).fill(1), ...Array(4).fill(4)];
  const folds = stratifiedKFoldSplits(strata, 5, 42);
  const seen = new Array<number>(strata.length).fill(0);
  for (const f of folds) {
    f.test.forEach((i) => seen[i]++);
    assert.equal(f.train.length + f.test.length, strata.length);
    for (const s of [0, 1, 4]) {
      const n = strata.filter((x) => x === s).length;
      const k = f.test.filter((i) => strata[i] === s).length;
      assert.ok(k === Math.floor(n / 5) || k === Math.ceil(n / 5), `stratum ${s}: ${k} of ${n} in a fold`);
    }
  }
  assert.ok(seen.every((n) => n === 1));
  const sizes = folds.map((f) => f.test.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  assert.equal(folds.filter((f) => f.test.some((i) => strata[i] === 4)).length, 4, 'four items of a stratum land in four folds');
});
