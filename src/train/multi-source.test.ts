// Training on two sources end to end, on a few real pairs of each data set: splits and ids recorded per
// source, selection by the mean over sources, evaluate per source (refusing a split of another data
// set), fine-tuning from a model's weights, and cross-validation folds run one by one, then collected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { resolvePreset } from '../config/presets.js';
import { resolveSources, type DataSource } from '../data/locate.js';
import { sharedDataRoot } from '../testing/paths.js';
import { selectionScore, trainRun } from './run.js';
import { collectCv, crossValidate } from './cv.js';
import { evaluateModel, loadModelForEvaluation } from '../infer/evaluate.js';
import { recordedSplits } from '../models/io.js';

/** A collection root of links: the first `n1` pairs of Dataset 1 and `n2` of Dataset 2. */
async function smallCollection(n1: number, n2: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'leukoseg-multi-'));
  for (const [name, n] of [['Dataset 1', n1], ['Dataset 2', n2]] as const) {
    const from = join(sharedDataRoot(), name);
    await mkdir(join(root, name));
    const files = (await readdir(from)).filter((f) => /^\d+\.(bmp|png)$/.test(f)).sort().slice(0, 2 * n);
    for (const f of files) await symlink(join(from, f), join(root, name, f));
  }
  return root;
}

const tiny = (epochs = 1) =>
  resolvePreset('unet-small-multi', { data: { size: 32 }, train: { epochs, batchSize: 4, tta: false }, report: { predictionImages: 2 } });

test('two sources: split and recorded each on its own, scored each on its own, chosen by their mean', async () => {
  await initEngine({ training: true });
  const root = await smallCollection(12, 10);
  const out = await mkdtemp(join(tmpdir(), 'leukoseg-multi-runs-'));
  try {
    const sources = resolveSources({ data: [root], dataset: 'all' });
    const lines: string[] = [];
    const run = await trainRun(tiny(), { sources, outDir: out, log: (l) => lines.push(l) });
    const split = JSON.parse(await readFile(join(run.runDir, 'split.json'), 'utf8'));
    assert.deepEqual(split.sources.map((s: { name: string; test: string[] }) => [s.name, s.test.length]), [['Dataset 1', 4], ['Dataset 2', 3]]);
    assert.ok(lines.some((l) => /data: Dataset 2 .*: 5 train \/ 2 validation \/ 3 test images/.test(l)), lines.join('\n'));
    const bySource = run.best.valNativeBySource!;
    assert.deepEqual(Object.keys(bySource), ['Dataset 1', 'Dataset 2']);
    const mean = (bySource['Dataset 1'].dice.mean + bySource['Dataset 2'].dice.mean) / 2;
    assert.equal(selectionScore(run.best, run.config), mean, 'each source counts the same, not its pixel count');

    const loaded = await loadModelForEvaluation(run.runDir);
    try {
      const splits = recordedSplits(loaded.metadata);
      assert.deepEqual(splits.map((s) => [s.dataset, s.dir, s.testIds.length]), [['Dataset 1', sources[0].dir, 4], ['Dataset 2', sources[1].dir, 3]]);
      const scores = await evaluateModel(loaded, sources, { tta: false });
      assert.deepEqual(scores.sources.map((s) => [s.dataset, s.scope, s.native.images]), [['Dataset 1', 'test-split', 4], ['Dataset 2', 'test-split', 3]]);
      assert.equal(scores.native.images, 7);
      // The same images as training's last scoring of its best epoch, source by source.
      assert.deepEqual(scores.sources[1].native.confusion, run.best.testNativeBySource!['Dataset 2'].confusion);
      const other: DataSource = { name: 'Dataset 3', dir: sources[1].dir };
      await assert.rejects(evaluateModel(loaded, [other]), /records test splits for "Dataset 1", "Dataset 2", none for "Dataset 3"; a split recorded for one data set is never applied to another/);
      const all = await evaluateModel(loaded, [other], { all: true });
      assert.deepEqual([all.scope, all.native.images], ['all-images', 10]);
    } finally {
      loaded.model.dispose();
    }

    // Fine-tuning starts from the given weights: at a learning rate of ~0 the trained ones come out
    // unchanged (BatchNormalization's moving statistics still follow the new images, as they should).
    // The run padded its crops; a 'pad-smooth' run may start from it (they differ only in shrinking).
    const still = resolvePreset('unet-small-multi', { data: { size: 32, fit: 'pad-smooth' }, train: { epochs: 1, batchSize: 4, learningRate: 1e-12, minLearningRate: 0, warmupEpochs: 0 } });
    const tuned = await trainRun(still, { sources: [sources[1]], outDir: out, initModelDir: run.runDir, log: () => {} });
    const [a, b] = [await loadModelForEvaluation(run.runDir), await loadModelForEvaluation(tuned.runDir)];
    try {
      const wa = a.model.trainableWeights.map((w) => w.read().dataSync());
      const wb = b.model.trainableWeights.map((w) => w.read().dataSync());
      const maxDiff = Math.max(...wa.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - wb[i][j])))));
      assert.ok(maxDiff < 1e-6, `weights moved by ${maxDiff}`);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
    const wrong = resolvePreset('unet-small-multi', { data: { size: 32, normalize: 'percentile' }, train: { epochs: 1 } });
    await assert.rejects(trainRun(wrong, { sources, outDir: out, initModelDir: run.runDir, log: () => {} }), /does not match the run \(normalize scale, the run's is percentile\)/);
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
});

test('cross-validation folds run one at a time into one folder, and --collect merges them', async () => {
  await initEngine({ training: true });
  const root = await smallCollection(6, 6);
  const out = await mkdtemp(join(tmpdir(), 'leukoseg-cv-'));
  try {
    const sources = resolveSources({ data: [root], dataset: 'all' });
    const cvDir = join(out, 'cv');
    const options = { sources, cvDir, folds: 3, log: () => {} };
    assert.equal(await crossValidate(tiny(), { ...options, fold: 2 }), null);
    await assert.rejects(crossValidate(tiny(), { ...options, fold: 4 }), /--fold must be between 1 and --folds \(3\)/);
    await assert.rejects(collectCv(cvDir, { log: () => {} }), /1 finished fold\(s\); need at least 2/);
    await crossValidate(tiny(), { ...options, fold: 1 });
    await assert.rejects(collectCv(cvDir, { log: () => {} }), /fold\(s\) 3 have not finished/);
    // Collected with a fold missing, the summary says so: 2 of 3 folds, not a 2-fold CV.
    const partial: string[] = [];
    const part = await collectCv(cvDir, { log: (l) => partial.push(l), allowMissing: true });
    assert.deepEqual([part.folds, part.of, part.missing], [2, 3, [3]]);
    assert.match(partial.join('\n'), /2 of 3 folds \(fold\(s\) 3 missing\)/);
    assert.match(await readFile(join(cvDir, 'cv.html'), 'utf8'), /3-fold cross-validation[\s\S]*2 of 3 folds: fold\(s\) 3 had not finished/);
    // A finished fold's job run again keeps its result; a stopped one continues from its checkpoint.
    const foldJson = join(cvDir, 'fold-1', 'fold.json');
    const first = await readFile(foldJson, 'utf8');
    const again: string[] = [];
    await crossValidate(tiny(), { ...options, fold: 1, log: (l) => again.push(l) });
    assert.match(again.join('\n'), /fold 1\/3 already finished/);
    assert.equal(await readFile(foldJson, 'utf8'), first);
    await rm(foldJson);
    const resumed: string[] = [];
    await crossValidate(tiny(), { ...options, fold: 1, log: (l) => resumed.push(l) });
    assert.match(resumed.join('\n'), /continuing from its last checkpoint[\s\S]*resuming .*fold-1 after epoch 1/);
    const redone = JSON.parse(await readFile(foldJson, 'utf8'));
    assert.deepEqual([redone.bestEpoch, redone.native], [JSON.parse(first).bestEpoch, JSON.parse(first).native]);
    await rm(foldJson);
    await assert.rejects(crossValidate(tiny(2), { ...options, fold: 1 }), /this stopped fold was trained with another configuration; delete .*fold-1/);
    await crossValidate(tiny(), { ...options, fold: 1 });
    // Nor is a stopped fold of other images continued: another collection's fold 1 holds out others.
    await rm(foldJson);
    const other = await smallCollection(7, 6);
    try {
      await assert.rejects(crossValidate(tiny(), { ...options, sources: resolveSources({ data: [other], dataset: 'all' }), fold: 1 }), /split\.json: this stopped fold held out other images than fold-1/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    await crossValidate(tiny(), { ...options, fold: 1 });
    await crossValidate(tiny(), { ...options, fold: 3 });
    const summary = await collectCv(cvDir, { log: () => {} });
    assert.deepEqual(summary.perFold.map((f) => f.fold), [1, 2, 3]);
    // Each source cut into 3 folds on its own: every fold holds 2 images of each.
    assert.deepEqual(summary.perFold.map((f) => Object.keys(f.bySource ?? {}).join('+')), Array(3).fill('Dataset 1+Dataset 2'));
    assert.deepEqual(summary.perFold.map((f) => f.images), [4, 4, 4]);
    assert.equal(summary.images, 12);
    const saved = JSON.parse(await readFile(join(cvDir, 'cv.json'), 'utf8'));
    assert.deepEqual([saved.folds, saved.of, saved.missing], [3, 3, []]);
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
});
