// Train/test splits identical to the Python study's: numpy's legacy RandomState permutation (MT19937)
// feeding sklearn's train_test_split and KFold(shuffle=True) rules, so the same seed gives the same ids.
//
//   const { train, test } = trainTestSplit(sortedIds, { testFraction: 0.3, seed: 42 }); // 210 / 90
//   numpyPermutation(10, 42); // [8, 1, 5, 0, 7, 2, 9, 4, 3, 6], as np.random.RandomState(42).permutation(10)

const MT_N = 624;
const MT_M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The MT19937 generator as numpy's legacy RandomState seeds it from an integer. */
export class Mt19937 {
  private readonly state = new Uint32Array(MT_N);
  private index = MT_N;

  /** init_genrand(seed): what RandomState(seed) does for an integer seed in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`seed must be an integer between 0 and 2^32 - 1 (as numpy requires), got ${seed}`);
    }
    this.state[0] = seed >>> 0;
    for (let i = 1; i < MT_N; i++) {
      const prev = this.state[i - 1] ^ (this.state[i - 1] >>> 30);
      this.state[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** Next 32-bit output (genrand_int32), as an unsigned number. */
  nextUint32(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Uniform integer in [0, max] by numpy's legacy rejection sampling (random_interval): draw 32-bit
   * values, keep the bits of the smallest all-ones mask covering `max`, retry while above `max`.
   */
  interval(max: number): number {
    if (max === 0) return 0;
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new Error(`interval: max must be an integer in [0, 2^32 - 1], got ${max}`);
    }
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do {
      value = (this.nextUint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  private twist(): void {
    const mt = this.state;
    for (let i = 0; i < MT_N; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[(i + 1) % MT_N] & LOWER_MASK);
      mt[i] = mt[(i + MT_M) % MT_N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}

/** numpy.random.RandomState(seed).permutation(n): arange(n) shuffled by the legacy Fisher-Yates. */
export function numpyPermutation(n: number, seed: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`numpyPermutation: n must be a non-negative integer, got ${n}`);
  const rng = new Mt19937(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  // RandomState.shuffle: for i = n-1 down to 1, swap x[i] with x[random_interval(i)].
  for (let i = n - 1; i > 0; i--) {
    const j = rng.interval(i);
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  return perm;
}

export interface TrainTestSplitOptions {
  /** Fraction of items in the test set, 0 < f < 1 (default 0.3, as in the study). */
  testFraction?: number;
  /** RandomState seed (default 42, the study's random_state). */
  seed?: number;
}

/**
 * sklearn.model_selection.train_test_split(items, test_size=testFraction, random_state=seed):
 * n_test = ceil(testFraction * n), test = items[perm[:n_test]], train = items[perm[n_test:]],
 * both in permutation order. Pass items in a fixed order (the study sorts ids by name).
 */
export function trainTestSplit<T>(items: readonly T[], options: TrainTestSplitOptions = {}): { train: T[]; test: T[] } {
  const testFraction = options.testFraction ?? 0.3;
  const seed = options.seed ?? 42;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`trainTestSplit: testFraction must be between 0 and 1 (exclusive), got ${testFraction}`);
  }
  const n = items.length;
  const nTest = Math.ceil(testFraction * n);
  if (n - nTest < 1) {
    throw new Error(
      `trainTestSplit: with ${n} item(s) and testFraction ${testFraction} the training set would be empty; ` +
        'add data or lower testFraction',
    );
  }
  const perm = numpyPermutation(n, seed);
  return { test: perm.slice(0, nTest).map((i) => items[i]), train: perm.slice(nTest).map((i) => items[i]) };
}

export interface Fold {
  /** Indices, ascending, as sklearn's KFold.split yields them. */
  train: number[];
  test: number[];
}

/**
 * sklearn KFold(n_splits=k, shuffle=True, random_state=seed).split(range(n)): arange(n) is shuffled
 * with RandomState(seed); fold f takes the next n//k (+1 for the first n % k folds) shuffled indices
 * as its test set; train is the rest. sklearn returns both as sorted index arrays, and so do we.
 */
export function kFoldSplits(n: number, k: number, seed = 42): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`kFoldSplits: k must be an integer of at least 2, got ${k}`);
  if (!Number.isInteger(n) || n < k) throw new Error(`kFoldSplits: cannot make ${k} folds from ${n} item(s); need n >= k`);
  const shuffled = numpyPermutation(n, seed);
  const folds: Fold[] = [];
  let start = 0;
  for (let fold = 0; fold < k; fold++) {
    const size = Math.floor(n / k) + (fold < n % k ? 1 : 0);
    const inTest = new Uint8Array(n);
    for (const index of shuffled.slice(start, start + size)) inTest[index] = 1;
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (inTest[i] ? test : train).push(i);
    folds.push({ train, test });
    start += size;
  }
  return folds;
}

/**
 * A train/test split that keeps each stratum's share (a class, for classification): the items are
 * walked in the order of numpyPermutation(n, seed) and the first round(testFraction x n_s) of each
 * stratum s go to test, at least one and never all of a stratum of two or more; a stratum of one
 * stays in training. Both parts come in permutation order, like trainTestSplit's.
 */
export function stratifiedTrainTestSplit<T>(items: readonly T[], strata: readonly number[], options: TrainTestSplitOptions = {}): { train: T[]; test: T[] } {
  const testFraction = options.testFraction ?? 0.3;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`stratifiedTrainTestSplit: testFraction must be between 0 and 1 (exclusive), got ${testFraction}`);
  if (strata.length !== items.length) throw new Error(`stratifiedTrainTestSplit: ${items.length} items but ${strata.length} strata`);
  const sizes = new Map<number, number>();
  for (const s of strata) sizes.set(s, (sizes.get(s) ?? 0) + 1);
  const quota = new Map<number, number>();
  for (const [s, n] of sizes) quota.set(s, n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(testFraction * n))));
  const perm = numpyPermutation(items.length, options.seed ?? 42);
  const train: T[] = [];
  const test: T[] = [];
  for (const i of perm) {
    const left = quota.get(strata[i])!;
    if (left > 0) {
      test.push(items[i]);
      quota.set(strata[i], left - 1);
    } else train.push(items[i]);
  }
  if (train.length === 0) throw new Error(`stratifiedTrainTestSplit: with ${items.length} item(s) the training set would be empty`);
  return { train, test };
}

/**
 * k folds that keep each stratum's share: the items, ordered by stratum and within a stratum by
 * numpyPermutation(n, seed), are dealt to the folds in turn (item j to fold j mod k), so every fold
 * gets floor or ceil of n_s / k of each stratum and fold sizes differ by at most one. Indices ascending.
 */
export function stratifiedKFoldSplits(strata: readonly number[], k: number, seed = 42): Fold[] {
  const n = strata.length;
  if (!Number.isInteger(k) || k < 2) throw new Error(`stratifiedKFoldSplits: k must be an integer of at least 2, got ${k}`);
  if (n < k) throw new Error(`stratifiedKFoldSplits: cannot make ${k} folds from ${n} item(s); need n >= k`);
  const rank = new Int32Array(n);
  numpyPermutation(n, seed).forEach((item, position) => (rank[item] = position));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => strata[a] - strata[b] || rank[a] - rank[b]);
  const foldOf = new Int32Array(n);
  order.forEach((item, j) => (foldOf[item] = j % k));
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? test : train).push(i);
    return { train, test };
  });
}
