// `leukoseg evaluate` as a user runs it: per data set, on the split the model records for it, every
// pair with --all, and a split recorded for one data set never applied to another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { PROJECT_ROOT, sharedDataRoot } from '../testing/paths.js';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, [join(PROJECT_ROOT, 'bin', 'leukoseg.js'), 'evaluate', ...args], {
    env: { ...process.env, LEUKOSEG_DATA: sharedDataRoot() },
    maxBuffer: 1 << 24,
  });

/** A copy of the bundled model that records the split of Dataset 1 only, as a model trained on it alone does. */
async function datasetOneModel(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-d1-model-'));
  const json = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'model.json'), 'utf8'));
  const meta = json.userDefinedMetadata.leukoseg;
  meta.splits = meta.splits.filter((s: { dataset: string }) => s.dataset === 'Dataset 1');
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await copyFile(join(DEFAULT_MODEL_DIR, 'weights.bin'), join(dir, 'weights.bin'));
  return dir;
}

test('evaluate --dataset 2 refuses to score a model on a split it recorded for Dataset 1; --all scores every pair', async () => {
  const model = await datasetOneModel();
  const refused = await cli('--model', model, '--data', sharedDataRoot(), '--dataset', '2', '--json').then(
    () => assert.fail('expected a refusal'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /records test splits for "Dataset 1", none for "Dataset 2"; a split recorded for one data set is never applied to another/);

  const { stdout } = await cli('--model', model, '--data', sharedDataRoot(), '--dataset', '2', '--all', '--json', '--no-tta');
  const result = JSON.parse(stdout);
  assert.deepEqual(result.datasets.map((d: { dataset: string; scope: string; images: number }) => [d.dataset, d.scope, d.images]), [['Dataset 2', 'all-images', 100]]);
  assert.equal(result.native.images, 100);
  assert.equal(result.scope, 'all-images');
  assert.ok(result.native.dice.nucleus > 0.5 && result.native.dice.nucleus <= 1);
  await rm(model, { recursive: true, force: true });
});

test('evaluate without --data scores each data set the bundled model records on its own test split', async () => {
  const { stdout } = await cli('--json', '--no-tta');
  const result = JSON.parse(stdout);
  assert.deepEqual(result.datasets.map((d: { dataset: string; scope: string; images: number }) => [d.dataset, d.scope, d.images]), [['Dataset 1', 'test-split', 90], ['Dataset 2', 'test-split', 30]]);
  assert.equal(result.images, 120);
});

test('evaluate --seeded-split scores another data set on its seeded test images, and refuses one the model trained on', async () => {
  const model = await datasetOneModel();
  const { stdout } = await cli('--model', model, '--data', sharedDataRoot(), '--dataset', '2', '--seeded-split', '42', '--json', '--no-tta');
  const result = JSON.parse(stdout);
  assert.deepEqual(result.datasets.map((d: { dataset: string; images: number }) => [d.dataset, d.images]), [['Dataset 2', 30]]);
  const same = JSON.parse((await cli('--data', sharedDataRoot(), '--dataset', '1', '--seeded-split', '42', '--json', '--no-tta')).stdout);
  assert.equal(same.images, 90, "Dataset 1's seeded split is the one the bundled model records");
  const refused = await cli('--data', sharedDataRoot(), '--dataset', '1', '--seeded-split', '7', '--json').then(
    () => assert.fail('expected a refusal'),
    (err: { stderr: string }) => err,
  );
  assert.match(refused.stderr, /of the seeded test split .* are not in the test split the model records for "Dataset 1": it may have trained on them/);
  await rm(model, { recursive: true, force: true });
});
