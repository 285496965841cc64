// A short real training on a dozen Dataset 1 pairs: every artifact of the run folder exists, metrics
// are in range, tensors stay flat, resume continues the same run, and evaluate reproduces the best epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, stat, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { builtAddon } from '../engine/testing.js';
import { resolvePreset } from '../config/presets.js';
import { sharedDataset1 } from '../testing/paths.js';
import { selectionScore, trainRun } from './run.js';
import { calibrateModel, evaluateModel, loadModelForEvaluation } from '../infer/evaluate.js';
import { recordedSplits } from '../models/io.js';
import type { EpochRecord } from './types.js';
import { loadDataset } from '../data/dataset.js';

async function dozenPairs(): Promise<string> {
  const source = sharedDataset1();
  const files = (await readdir(source)).filter((f) => /^\d+\.(bmp|png)$/.test(f)).sort().slice(0, 24);
  assert.equal(files.length, 24, `expected Dataset 1 at ${source}`);
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-train-'));
  // Links, not copies: the data set stays where it is.
  for (const f of files) await symlink(join(source, f), join(dir, f));
  return dir;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

test('study-model-3 trains for two epochs and writes a complete run folder; resume and evaluate agree', async () => {
  await initEngine();
  const dataDir = await dozenPairs();
  const outDir = await mkdtemp(join(tmpdir(), 'leukoseg-runs-'));
  try {
    const config = resolvePreset('study-model-3', {
      train: { epochs: 2 },
      report: { predictionEvery: 1, predictionImages: 2 },
    });
    const lines: string[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const first = await trainRun(config, { dataDir, outDir, log: (l) => lines.push(l) });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'a finished run left tensors behind (cross-validation runs many)');
    const run = first.runDir;
    for (const f of [
      'config.json', 'split.json', 'metrics.json', 'metrics.csv', 'checkpoint.json', 'curves.png',
      'predictions-epoch-01.png', 'predictions-epoch-02.png', 'report.html', 'model/model.json', 'model/weights.bin',
    ]) {
      assert.ok(await exists(join(run, f)), `${f} missing from the run folder`);
    }
    const split = JSON.parse(await readFile(join(run, 'split.json'), 'utf8'));
    assert.equal(split.sources.length, 1);
    const [only] = split.sources;
    assert.equal(only.dir, dataDir, 'the run records where its data is');
    assert.equal(only.test.length, 4); // ceil(0.3 * 12)
    assert.equal(only.train.length, 8);
    assert.equal(new Set([...only.train, ...only.test]).size, 12);

    const history: EpochRecord[] = JSON.parse(await readFile(join(run, 'metrics.json'), 'utf8'));
    assert.deepEqual(history.map((r) => r.epoch), [1, 2]);
    for (const r of history) {
      assert.ok(Number.isFinite(r.trainLoss) && r.trainLoss > 0, `trainLoss ${r.trainLoss}`);
      for (const v of [r.trainDice, r.testDice, r.testMeanDice, r.test.pixelAccuracy]) assert.ok(v >= 0 && v <= 1, `metric ${v}`);
      assert.ok(r.trainSeconds > 0 && r.imagesPerSecond > 0);
      assert.equal(r.test.images, 4);
    }
    assert.equal(history[1].numTensors, history[0].numTensors, 'tensor count grew between epochs');
    const csv = (await readFile(join(run, 'metrics.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv.length, 3);
    const html = await readFile(join(run, 'report.html'), 'utf8');
    assert.match(html, /curves\.png/);
    assert.match(html, /predictions-epoch-02\.png/);

    // Resume to a third epoch: the first two records are kept as they were.
    // A kill mid-save leaves temporary folders; the next start of the run removes them.
    await mkdir(join(run, 'checkpoints', 'epoch-003.tmp-4242-abc123'), { recursive: true });
    await mkdir(join(run, 'model.old-4242-abc123'));
    // No data given: the run reads the folder its split.json records.
    const resumed = await trainRun(config, { outDir, resumeDir: run, resumeEpochs: 3, log: (l) => lines.push(l) });
    assert.equal(resumed.runDir, run);
    assert.deepEqual(resumed.history.map((r) => r.epoch), [1, 2, 3]);
    assert.deepEqual(resumed.history.slice(0, 2).map((r) => r.trainLoss), history.map((r) => r.trainLoss));
    assert.deepEqual(await readdir(join(run, 'checkpoints')), ['epoch-003']);
    assert.ok(!(await exists(join(run, 'model.old-4242-abc123'))), 'leftover folder kept');

    // The saved best model scores exactly as training recorded for its epoch.
    const before = tf.memory().numTensors;
    const loaded = await loadModelForEvaluation(run);
    const evaluation = await evaluateModel(loaded, dataDir);
    loaded.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'evaluate leaked tensors');
    assert.equal(evaluation.scope, 'test-split');
    assert.equal(evaluation.metrics.images, 4);
    const best = resumed.best;
    assert.ok(Math.abs((evaluation.metrics.globalSoftDice ?? -1) - best.testDice) < 1e-5);
    assert.deepEqual(evaluation.metrics.confusion, best.test.confusion);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
});

test('study-model-3 learns alike on WebAssembly alone and with the addon: per-epoch loss within 1 %', async (t) => {
  // The engine's two paths compute the same step up to float rounding; a path whose optimizer or
  // kernels go wrong shows at once (an in-place Adam step on WebAssembly alone gave 1.53, 1.55, 1.50
  // here against 1.006, 0.599, 0.525).
  if (builtAddon(t) === null) return;
  const dataDir = await dozenPairs();
  const outDir = await mkdtemp(join(tmpdir(), 'leukoseg-runs-'));
  try {
    const config = resolvePreset('study-model-3', { train: { epochs: 3 }, report: { predictionEvery: 10 } });
    const losses = async (native: boolean) => {
      await initEngine({ native, training: true });
      const run = await trainRun(config, { dataDir, outDir, log: () => {} });
      return run.history.map((r) => r.trainLoss);
    };
    const wasm = await losses(false);
    const onednn = await losses(true);
    assert.ok(onednn[2] < onednn[0], `the loss did not fall with the addon: ${onednn}`);
    wasm.forEach((loss, i) => assert.ok(Math.abs(loss - onednn[i]) <= 0.01 * onednn[i], `epoch ${i + 1}: ${loss} on WebAssembly alone against ${onednn[i]} with the addon`));
  } finally {
    await initEngine();
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
});

test('a run with a validation part records its ids; calibrate fits on them only, and evaluate applies the weights', async () => {
  await initEngine();
  const dataDir = await dozenPairs();
  const outDir = await mkdtemp(join(tmpdir(), 'leukoseg-runs-'));
  try {
    const config = resolvePreset('unet-small', {
      data: { size: 32 },
      train: { epochs: 1, valFraction: 0.25, earlyStopPatience: 0 },
      report: { predictionImages: 1 },
    });
    const { runDir } = await trainRun(config, { dataDir, outDir, log: () => {} });
    const loaded = await loadModelForEvaluation(runDir);
    try {
      const [split] = recordedSplits(loaded.metadata);
      assert.equal(split.validationIds?.length, 2); // ceil(0.25 * 8)
      assert.ok(split.validationIds!.every((id) => !split.testIds.includes(id)), 'validation and test overlap');

      await assert.rejects(calibrateModel(loaded, dataDir, { ids: [split.testIds[0]] }), /in the model's test split/);
      const fit = await calibrateModel(loaded, dataDir);
      assert.equal(fit.images, 2);
      assert.equal(fit.classWeights.length, 3);
      assert.ok(fit.meanAfter >= fit.meanBefore, `calibration lost on its own images: ${fit.meanBefore} -> ${fit.meanAfter}`);

      // Weights that only ever pick background: evaluate must follow them, and ignore them on request.
      const biased = { ...loaded, metadata: { ...loaded.metadata, inference: { tta: false, classWeights: [1e9, 1, 1] } } };
      const withWeights = await evaluateModel(biased, dataDir);
      assert.deepEqual(withWeights.classWeights, [1e9, 1, 1]);
      const predictedForeground = withWeights.native.confusion.reduce((n, row) => n + row[1] + row[2], 0);
      assert.equal(predictedForeground, 0, 'a foreground pixel was predicted despite the weights');
      const plain = await evaluateModel(biased, dataDir, { calibrated: false });
      assert.equal(plain.classWeights, null);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
});

test('unet-small-pad trains on padded images, records pad in its model, and evaluate scores it the same way', async () => {
  await initEngine();
  const dataDir = await dozenPairs();
  const outDir = await mkdtemp(join(tmpdir(), 'leukoseg-runs-'));
  try {
    // 32 px: Dataset 1's 104..120 px images are shrunk into the square, then cut out and resized back.
    const config = resolvePreset('unet-small-pad', { data: { size: 32 }, train: { epochs: 1 }, report: { predictionImages: 1 } });
    assert.equal(config.data.fit, 'pad');
    const { runDir, best } = await trainRun(config, { dataDir, outDir, log: () => {} });
    const saved = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8'));
    assert.equal(saved.data.fit, 'pad');
    const loaded = await loadModelForEvaluation(runDir);
    try {
      assert.equal(loaded.metadata.preprocessing.resize, 'pad');
      assert.equal(loaded.metadata.preset, 'unet-small-pad');
      const evaluation = await evaluateModel(loaded, dataDir, { tta: config.train.tta, calibrated: false });
      // Same padded inputs as training scored: the same confusion matrix at the model's size.
      assert.deepEqual(evaluation.metrics.confusion, best.test.confusion);
      assert.equal(evaluation.native.images, 4);
      const { samples } = await loadDataset({ dir: dataDir, size: 32, fit: 'pad' });
      const testIds = new Set(recordedSplits(loaded.metadata)[0].testIds);
      const ownPixels = samples.filter((s) => testIds.has(s.id)).reduce((n, s) => n + s.originalWidth * s.originalHeight, 0);
      assert.equal(evaluation.native.pixels, ownPixels, 'native scoring covers each test image at its own size');
      // Training scored the test split at native size exactly as evaluate does, and validation too.
      assert.deepEqual(best.testNative?.confusion, evaluation.native.confusion);
      const validationIds = new Set(recordedSplits(loaded.metadata)[0].validationIds);
      const validationPixels = samples.filter((s) => validationIds.has(s.id)).reduce((n, s) => n + s.originalWidth * s.originalHeight, 0);
      assert.equal(best.valNative?.pixels, validationPixels, 'validation scored at each image\'s own size');
      const csv = (await readFile(join(runDir, 'metrics.csv'), 'utf8')).trim().split('\n');
      const column = csv[0].split(',').indexOf('valNativeMeanDice');
      assert.ok(column >= 0, 'metrics.csv has no valNativeMeanDice column');
      assert.equal(Number(csv[1].split(',')[column]), best.valNative!.dice.mean);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
});

test('the best epoch is picked by mean Dice at native size when the record has it, else at the model size', () => {
  const config = resolvePreset('unet-small');
  const at = (mean: number) => ({ dice: { mean } }) as EpochRecord['test'];
  const base = { val: at(0.5), valMeanDice: 0.5, testMeanDice: 0.4, test: at(0.4) } as EpochRecord;
  assert.equal(selectionScore(base, config), 0.5);
  assert.equal(selectionScore({ ...base, valNative: at(0.9) }, config), 0.9);
  // No validation part: the test split picks (the study's way), also at native size when scored so.
  const noVal = { test: at(0.4), testMeanDice: 0.4, testNative: at(0.7) } as EpochRecord;
  assert.equal(selectionScore(noVal, config), 0.7);
  // The study's global soft Dice stays at the model's size.
  const study = resolvePreset('study-model-3');
  assert.equal(selectionScore({ ...noVal, testDice: 0.3 }, study), 0.3);
});
