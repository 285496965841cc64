// A real, short classifier training on a few labelled cells of both data sets, laid out as two labs'
// folders with their own labels.csv: the run folder, a stratified split, a loss that drops, a model
// that reloads and gives the same probabilities through the path `segment` uses, and a 2-fold CV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { resolvePreset } from '../config/presets.js';
import { sharedDataRoot } from '../testing/paths.js';
import { parseLabelCsv } from './labels.js';
import { trainClassifier } from './train.js';
import { crossValidateClassifier } from './cv.js';
import { loadLabelledCells } from './cells.js';
import { loadCellClassifier } from './classifier.js';
import { loadSegmenter } from '../infer/segmenter.js';
import { CELL_TYPES } from './cell-types.js';
import { FEATURE_NAMES } from './features.js';
import { TEXTURE_FEATURE_NAMES } from './texture.js';
import type { ClassifierEpochRecord } from './train.js';

let root: string;
let sources: Array<{ name: string; dir: string }>;

/** A lab folder of `perType` images of each of the first four types from one data set, linked, with labels.csv. */
async function labFolder(name: string, dataset: string, perType: number): Promise<{ name: string; dir: string }> {
  const from = join(sharedDataRoot(), dataset);
  const labels = parseLabelCsv(await readFile(join(sharedDataRoot(), `Class Labels of ${dataset}.csv`), 'utf8'), dataset);
  const dir = join(root, name);
  await mkdir(dir);
  const lines = ['id,label'];
  for (let type = 0; type < 4; type++) {
    const ids = [...labels.entries()].filter(([, l]) => l === type).slice(0, perType).map(([id]) => id.padStart(3, '0'));
    for (const id of ids) {
      await symlink(join(from, `${id}.bmp`), join(dir, `${id}.bmp`));
      await symlink(join(from, `${id}.png`), join(dir, `${id}.png`));
      lines.push(`${id},${CELL_TYPES[type]}`);
    }
  }
  await writeFile(join(dir, 'labels.csv'), lines.join('\n') + '\n');
  return { name, dir };
}

before(async () => {
  await initEngine({ training: true });
  root = await mkdtemp(join(tmpdir(), 'leukoseg-classify-'));
  sources = [await labFolder('lab-a', 'Dataset 1', 4), await labFolder('lab-b', 'Dataset 2', 3)];
});

after(() => rm(root, { recursive: true, force: true }));

const config = (epochs: number) =>
  resolvePreset('wbc-type', {
    data: { size: 32 },
    train: { epochs, batchSize: 4, valFraction: 0.25, schedule: 'constant', learningRate: 0.003 },
    augment: { enabled: false },
    // One network: the preset's ensemble would triple every test's training (the ensemble has its own test).
    classifier: { members: 1 },
  });

const exists = (p: string) => stat(p).then(() => true, () => false);

test('wbc-type trains on two labs, writes its run folder, and its model reloads with the same probabilities', async () => {
  const tensors = tf.memory().numTensors;
  const result = await trainClassifier(config(4), { sources, outDir: join(root, 'runs'), log: () => {} });
  assert.equal(tf.memory().numTensors, tensors, 'a finished run left tensors behind');
  for (const f of ['config.json', 'split.json', 'metrics.json', 'metrics.csv', 'test.json', 'model/model.json', 'model/weights.bin', 'report.html', 'confusion-test.png', 'confusion-test-predicted.png', 'mistakes.png']) {
    assert.ok(await exists(join(result.runDir, f)), `${f} missing`);
  }
  // Stratified per lab: every type of lab-a (4 images each) has one test image.
  const split = JSON.parse(await readFile(join(result.runDir, 'split.json'), 'utf8'));
  const labA = split.sources.find((s: { name: string }) => s.name === 'lab-a');
  const labelsA = parseLabelCsv(await readFile(join(sources[0].dir, 'labels.csv'), 'utf8'), 'lab-a');
  assert.deepEqual(labA.test.map((id: string) => labelsA.get(String(Number(id)))).sort(), [0, 1, 2, 3]);

  const history: ClassifierEpochRecord[] = JSON.parse(await readFile(join(result.runDir, 'metrics.json'), 'utf8'));
  assert.deepEqual(history.map((h) => h.epoch), [1, 2, 3, 4]);
  assert.ok(history[3].trainLoss < history[0].trainLoss, `training loss ${history.map((h) => h.trainLoss.toFixed(3)).join(' -> ')} did not drop`);
  assert.ok(history.every((h) => h.val !== undefined && h.test.cells === result.test.truth.pooled.cells));
  assert.equal(result.test.predicted?.masks, 'predicted');
  assert.equal(result.test.predicted?.pooled.cells, result.test.truth.pooled.cells);

  const classifier = await loadCellClassifier(join(result.runDir, 'model'));
  try {
    assert.equal(classifier.metadata.task, 'cell-type');
    assert.equal(classifier.metadata.preprocessing.resize, 'cell-crop');
    assert.deepEqual(classifier.info.features.names, [...FEATURE_NAMES, ...TEXTURE_FEATURE_NAMES]);
    assert.ok(classifier.info.threshold >= 0 && classifier.info.threshold < 1);
    const loaded = await loadLabelledCells(sources);
    const cells = new Map(loaded.sources.flatMap((s) => s.cells).map((c) => [`${c.source}/${c.id}`, c]));
    for (const p of result.test.truth.predictions) {
      const cell = cells.get(`${p.source}/${p.id}`)!;
      const r = await classifier.classify(cell.image, cell.truth);
      assert.ok(r !== null);
      CELL_TYPES.forEach((t, i) => assert.ok(Math.abs(r.probabilities[t] - p.probs![i]) < 1e-5, `${p.id} ${t}: ${r.probabilities[t]} vs ${p.probs![i]}`));
      assert.equal(r.cellType === 'uncertain', r.confidence < classifier.info.threshold);
    }
    const empty = { width: 8, height: 8, data: new Uint8Array(64) };
    assert.equal(await classifier.classify({ width: 8, height: 8, data: new Uint8Array(192) }, empty), null);
  } finally {
    classifier.dispose();
  }
  await assert.rejects(loadSegmenter({ model: join(result.runDir, 'model') }), /is a cell-type classifier, not a segmenter/);
});

test('an ensemble of two members with stain standardisation and dihedral views: one saved model that averages them and reloads alike', async () => {
  const base = config(2);
  const tensors = tf.memory().numTensors;
  const run = await trainClassifier(
    { ...base, classifier: { ...base.classifier!, members: 2, stain: 'nucleus', views: 'dihedral', predictedMasks: false } },
    { sources, outDir: join(root, 'runs-ensemble'), log: () => {} },
  );
  assert.equal(tf.memory().numTensors, tensors, 'a finished ensemble run left tensors behind');
  assert.deepEqual(run.history.map((h) => `${h.member}:${h.epoch}`), ['1:1', '1:2', '2:1', '2:2']);
  const csv = (await readFile(join(run.runDir, 'metrics.csv'), 'utf8')).trim().split('\n');
  assert.deepEqual(csv.slice(1).map((l) => l.split(',')[0]), ['1', '1', '2', '2']);
  assert.match(await readFile(join(run.runDir, 'report.html'), 'utf8'), /Best epoch \d+, \d+ \(one per member/);
  const validation = JSON.parse(await readFile(join(run.runDir, 'validation.json'), 'utf8'));
  assert.ok(validation.predictions.length > 0 && validation.predictions.every((p: { probs: number[] }) => Math.abs(p.probs.reduce((a, b) => a + b, 0) - 1) < 1e-4));
  const classifier = await loadCellClassifier(join(run.runDir, 'model'));
  try {
    assert.equal(classifier.info.crop.stain, 'nucleus');
    assert.equal(classifier.info.views, 'dihedral');
    assert.equal(run.test.truth.views, 'dihedral');
    const loaded = await loadLabelledCells(sources);
    const cells = new Map(loaded.sources.flatMap((s) => s.cells).map((c) => [`${c.source}/${c.id}`, c]));
    for (const p of run.test.truth.predictions) {
      const cell = cells.get(`${p.source}/${p.id}`)!;
      const r = (await classifier.classify(cell.image, cell.truth))!;
      CELL_TYPES.forEach((t, i) => assert.ok(Math.abs(r.probabilities[t] - p.probs![i]) < 1e-5, `${p.id} ${t}`));
    }
  } finally {
    classifier.dispose();
  }
  const json = JSON.parse(await readFile(join(run.runDir, 'model', 'model.json'), 'utf8'));
  const names = (json.modelTopology.model_config ?? json.modelTopology).config.layers.map((l: { name: string }) => l.name);
  assert.ok(names.includes('m1_head') && names.includes('m2_head') && names.includes('head'), names.join(' '));
});

test('the training step really updates the network: a handful of cells is learnt by heart', async () => {
  // The engine's fused Adam writes weights in place, which tfjs-wasm's dense layers do not see (they
  // keep packed weights by tensor id): with it, this loss stayed near 0.1; with tfjs's Adam it drops
  // below 0.01.
  const small = [{ name: 'lab-a', dir: sources[0].dir }];
  const base = config(40);
  const run = await trainClassifier(
    {
      ...base,
      data: { ...base.data, testFraction: 0.25 },
      train: { ...base.train, batchSize: 64, valFraction: 0 },
      classifier: { ...base.classifier!, labelSmoothing: 0, classBalance: 0, predictedMasks: false },
      model: { ...base.model, dropout: 0 },
    },
    { sources: small, outDir: join(root, 'runs-memorise'), log: () => {} },
  );
  const last = run.history[run.history.length - 1];
  assert.ok(last.trainLoss < 0.01, `training loss after 40 full-batch steps: ${last.trainLoss}`);
});

test('cv --preset wbc-type --folds 2: each cell held out once, folds and summary written', async () => {
  const cvDir = join(root, 'cv');
  const summary = await crossValidateClassifier({ ...config(1), classifier: { ...config(1).classifier!, predictedMasks: false } }, { sources, cvDir, folds: 2, log: () => {} });
  assert.ok(summary);
  assert.equal(summary.folds, 2);
  assert.equal(summary.cells, 16 + 12);
  assert.equal(summary.masks.predicted, undefined);
  const pooled = summary.masks.truth!.pooled.pooled;
  assert.equal(pooled.cells, 28, 'every cell predicted once, by the fold that did not train on it');
  assert.ok(summary.masks.truth!.accuracy.folds === 2 && summary.masks.truth!.accuracy.mean >= 0 && summary.masks.truth!.accuracy.mean <= 1);
  for (const f of ['cv.json', 'cv.html', 'confusion-truth.png', 'mistakes.png', 'fold-1/fold.json', 'fold-2/report.html']) assert.ok(await exists(join(cvDir, f)), `${f} missing`);
  const html = await readFile(join(cvDir, 'cv.html'), 'utf8');
  assert.match(html, /basophil/);
});

test('the classifier refuses augment.neighbours, a segmenter option, before it trains', async () => {
  const withNeighbours = resolvePreset('wbc-type', { augment: { enabled: true, neighbours: 0.5 }, classifier: { members: 1 } });
  await assert.rejects(
    trainClassifier(withNeighbours, { sources, outDir: join(root, 'runs-neighbours'), log: () => {} }),
    /augment\.neighbours is 0\.5, but it applies to segmentation training only/,
  );
  assert.equal(await exists(join(root, 'runs-neighbours')), false);
});
