// Splits per source, balanced epochs, and the sources a --data/--dataset pair names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSplits, readSplitFile } from './splits.js';
import { balancedEpochOrder, epochOrder } from './loop.js';
import { trainTestSplit } from '../data/split.js';
import { parseDatasetSelection, resolveSources } from '../data/locate.js';
import { loadModel, recordedSplits } from '../models/io.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { sharedDataRoot } from '../testing/paths.js';
import { initEngine } from '../engine/index.js';

const ids = (n: number, prefix = '') => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}`);

test('each source is split on its own: Dataset 1 keeps the 90 test images every model so far was scored on', async () => {
  const split = makeSplits(
    [
      { name: 'Dataset 1', dir: '/d1', ids: ids(300) },
      { name: 'Dataset 2', dir: '/d2', ids: ids(100) },
    ],
    { testFraction: 0.3, valFraction: 0.15, seed: 42 },
  );
  const [d1, d2] = split.sources;
  assert.deepEqual(d1.test, trainTestSplit(ids(300), { testFraction: 0.3, seed: 42 }).test);
  assert.deepEqual([d1.train.length, d1.validation.length, d1.test.length], [178, 32, 90]);
  assert.deepEqual([d2.train.length, d2.validation.length, d2.test.length], [59, 11, 30]);
  for (const s of split.sources) assert.equal(new Set([...s.train, ...s.validation, ...s.test]).size, s.train.length + s.validation.length + s.test.length);
  const limited = makeSplits([{ name: 'Dataset 2', dir: '/d2', ids: ids(100) }], { testFraction: 0.3, valFraction: 0.15, seed: 42, trainLimit: 5 });
  assert.deepEqual(limited.sources[0].train, d2.train.slice(0, 5), 'a learning curve trains on a prefix of the same training part');
  assert.deepEqual([limited.sources[0].validation, limited.sources[0].test], [d2.validation, d2.test]);
  // The bundled model was trained on both data sets: it records exactly these splits.
  await initEngine();
  const bundled = await loadModel(DEFAULT_MODEL_DIR);
  bundled.model.dispose();
  const [r1, r2] = recordedSplits(bundled.metadata);
  assert.deepEqual([r1.dataset, r2.dataset], ['Dataset 1', 'Dataset 2']);
  assert.deepEqual([r1.testIds, r1.validationIds], [d1.test, d1.validation]);
  assert.deepEqual([r2.testIds, r2.validationIds], [d2.test, d2.validation]);
  // A model saved before several sources recorded one split; it reads as "Dataset N".
  assert.deepEqual(recordedSplits({ split: { dataset: 1, testFraction: 0.3, seed: 42, testIds: d1.test } })[0].dataset, 'Dataset 1');
});

test('a split file of the single-source era reads as one "Dataset N" source in the folder given', () => {
  const v1 = { dataset: 1, testFraction: 0.3, seed: 42, train: ['a'], validation: [], test: ['b'] };
  const read = readSplitFile(v1, 'split.json', '/data/Dataset 1');
  assert.deepEqual(read.sources, [{ name: 'Dataset 1', dir: '/data/Dataset 1', train: ['a'], validation: [], test: ['b'] }]);
  assert.throws(() => readSplitFile(v1, 'split.json'), /does not record where its data is; give --data/);
  assert.throws(() => readSplitFile({ nope: 1 }, 'x/split.json'), /x\/split\.json: not a leukoseg split file/);
});

test('balanced epochs give each source the same share; unbalanced and single-source epochs are the old shuffle', () => {
  const sourceIndex = Uint8Array.from([...Array(30).fill(0), ...Array(10).fill(1)]);
  assert.deepEqual(balancedEpochOrder(sourceIndex, 0, 42, 3), epochOrder(40, 42, 3));
  assert.deepEqual(balancedEpochOrder(new Uint8Array(40), 1, 42, 3), epochOrder(40, 42, 3));
  const order = balancedEpochOrder(sourceIndex, 1, 42, 3);
  assert.equal(order.length, 40);
  const fromSmall = order.filter((i) => i >= 30);
  assert.equal(fromSmall.length, 20, 'half the draws from the 10-image source');
  assert.equal(new Set(fromSmall).size, 10, 'every image of the small source drawn (twice)');
  assert.equal(new Set(order.filter((i) => i < 30)).size, 20, 'no image of the large source drawn twice');
  assert.deepEqual(balancedEpochOrder(sourceIndex, 1, 42, 3), order, 'deterministic in (seed, epoch)');
  assert.notDeepEqual(balancedEpochOrder(sourceIndex, 1, 42, 4), order);
  // Half-way: shares proportional to sqrt(n): 30 -> 5.48, 10 -> 3.16 of 8.64, i.e. 25.4 and 14.6 of 40.
  const half = balancedEpochOrder(sourceIndex, 0.5, 42, 3);
  assert.equal(half.filter((i) => i >= 30).length, 15);
});

test('--dataset and --data name the sources: one, a list, or all of a collection; folders of pairs by their name', async () => {
  assert.equal(parseDatasetSelection('2'), 2);
  assert.deepEqual(parseDatasetSelection('1,2'), [1, 2]);
  assert.equal(parseDatasetSelection('all'), 'all');
  for (const bad of ['0', '1,', 'x', '1.5']) assert.throws(() => parseDatasetSelection(bad), /--dataset must be a number/);
  const root = sharedDataRoot();
  assert.deepEqual(resolveSources({ data: [root], dataset: 'all' }).map((s) => s.name), ['Dataset 1', 'Dataset 2']);
  assert.deepEqual(resolveSources({ data: [root], dataset: [2] }).map((s) => s.dir), [join(root, 'Dataset 2')]);
  assert.throws(() => resolveSources({ data: [root], dataset: 3 }), /not "Dataset 3\/"/);
  const tmp = await mkdtemp(join(tmpdir(), 'leukoseg-sources-'));
  try {
    const lab = join(tmp, 'lab-a');
    await mkdir(lab);
    await symlink(join(root, 'Dataset 2', '001.bmp'), join(lab, '001.bmp'));
    await symlink(join(root, 'Dataset 2', '001.png'), join(lab, '001.png'));
    assert.deepEqual(resolveSources({ data: [root, lab], dataset: 1 }).map((s) => s.name), ['Dataset 1', 'lab-a']);
    assert.throws(() => resolveSources({ data: [lab, lab] }), /two data sources are both named "lab-a"/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
