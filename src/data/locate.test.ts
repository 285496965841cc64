// Tests for locate.ts: --data beats LEUKOSEG_DATA beats the cache; "Dataset N/" is picked inside a
// collection root; a missing folder gives an error that says how to get the data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir, resolveDataDir } from './locate.js';
import { makeTempDir } from './fixtures.js';

async function collection(datasets: number[]): Promise<string> {
  const root = await makeTempDir();
  for (const n of datasets) {
    await mkdir(join(root, `Dataset ${n}`));
    await writeFile(join(root, `Dataset ${n}`, '001.bmp'), '');
  }
  return root;
}

test('defaultCacheDir: LEUKOSEG_CACHE, else ~/.cache/leukoseg', () => {
  assert.equal(defaultCacheDir({ LEUKOSEG_CACHE: '/tmp/lc' }), '/tmp/lc');
  assert.equal(defaultCacheDir({}), join(homedir(), '.cache', 'leukoseg'));
});

test('--data, then LEUKOSEG_DATA, then the cache; Dataset N is picked inside a collection root', async () => {
  const fromFlag = await collection([1, 2]);
  const fromEnv = await collection([1]);
  const cache = await makeTempDir();
  await mkdir(join(cache, 'segmentation_WBC', 'Dataset 1'), { recursive: true });
  const env = { LEUKOSEG_DATA: fromEnv };
  assert.equal(resolveDataDir({ data: fromFlag, env, cacheDir: cache }), join(fromFlag, 'Dataset 1'));
  assert.equal(resolveDataDir({ data: fromFlag, dataset: 2, env, cacheDir: cache }), join(fromFlag, 'Dataset 2'));
  assert.equal(resolveDataDir({ env, cacheDir: cache }), join(fromEnv, 'Dataset 1'));
  assert.equal(resolveDataDir({ env: {}, cacheDir: cache }), join(cache, 'segmentation_WBC', 'Dataset 1'));
  assert.equal(resolveDataDir({ env: { LEUKOSEG_CACHE: cache } }), join(cache, 'segmentation_WBC', 'Dataset 1'));
});

test('a folder of pairs is used as it is', async () => {
  const root = await collection([1]);
  const pairs = join(root, 'Dataset 1');
  assert.equal(resolveDataDir({ data: pairs, env: {} }), pairs);
});

test('missing data: the error names the folder, its source and how to get the data', async () => {
  const cache = await makeTempDir();
  assert.throws(
    () => resolveDataDir({ env: {}, cacheDir: cache }),
    (err: Error) => {
      assert.match(err.message, /^No data folder at .*segmentation_WBC \(from the download cache\)\./);
      assert.match(err.message, /npx leukoseg download/);
      assert.match(err.message, /--data DIR/);
      assert.match(err.message, /LEUKOSEG_DATA/);
      return true;
    },
  );
  assert.throws(() => resolveDataDir({ data: join(cache, 'nope'), env: {} }), /No data folder at .*nope \(from --data\)/);
  const wrong = await collection([2]);
  assert.throws(
    () => resolveDataDir({ env: { LEUKOSEG_DATA: wrong } }),
    /\(from LEUKOSEG_DATA\) holds no usable data: it has "Dataset 2\/" but not "Dataset 1\/"/,
  );
});
