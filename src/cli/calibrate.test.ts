// `calibrate` never rewrites the bundled model unless told to (--in-place), writes a calibrated copy
// with --out and leaves the source as it was; every refusal comes before any work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { defaultMetadata, loadModel, saveModel } from '../models/io.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { sharedDataset1 } from '../testing/paths.js';
import { calibrationTarget } from './calibrate.js';
import { buildProgram } from './main.js';

let dir: string;
let modelDir: string;

before(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), 'leukoseg-calibrate-'));
  // An untrained model that records two Dataset 1 images as its validation split: enough to fit.
  const model = createModel('study-model-1', { inputSize: 32, seed: 5 });
  modelDir = join(dir, 'model');
  await saveModel(model, modelDir, {
    ...defaultMetadata('study-model-1', 32),
    split: { dataset: 1, testFraction: 0.3, seed: 42, testIds: ['003'], validationIds: ['001', '002'] },
  });
  model.dispose();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the bundled model is refused without --out or --in-place, however it is named', async () => {
  for (const model of [undefined, DEFAULT_MODEL_DIR, `${DEFAULT_MODEL_DIR}/`]) {
    await assert.rejects(calibrationTarget({ model }), /is the model bundled with leukoseg; give --out DIR to write a calibrated copy, or --in-place/);
  }
  assert.deepEqual(await calibrationTarget({ inPlace: true }), { source: DEFAULT_MODEL_DIR, target: DEFAULT_MODEL_DIR });
  assert.deepEqual(await calibrationTarget({ dryRun: true }), { source: DEFAULT_MODEL_DIR, target: null });
  await assert.rejects(calibrationTarget({ model: modelDir, out: DEFAULT_MODEL_DIR }), /is the bundled model's folder/);
  await assert.rejects(calibrationTarget({ out: join(dir, 'x'), inPlace: true }), /--out DIR or --in-place, not both/);
});

test('--out refuses a folder holding anything but a model (saving replaces the whole folder)', async () => {
  const busy = join(dir, 'busy');
  await mkdir(busy);
  await writeFile(join(busy, 'notes.txt'), 'keep me');
  await assert.rejects(calibrationTarget({ model: modelDir, out: busy }), /busy exists and is not a model folder/);
  assert.deepEqual(await calibrationTarget({ model: modelDir, out: join(dir, 'new') }), { source: modelDir, target: join(dir, 'new') });
  // A model of the user's own is still calibrated in place by default.
  assert.deepEqual(await calibrationTarget({ model: modelDir }), { source: modelDir, target: modelDir });
});

test('`leukoseg calibrate` with no --model stops before any work and leaves the bundled model.json as it was', async () => {
  const before = await readFile(join(DEFAULT_MODEL_DIR, 'model.json'));
  await assert.rejects(buildProgram().parseAsync(['node', 'leukoseg', 'calibrate', '--data', join(dir, 'no-data-here')]), /model bundled with leukoseg/);
  assert.deepEqual(await readFile(join(DEFAULT_MODEL_DIR, 'model.json')), before);
});

test('`leukoseg calibrate --out` writes a calibrated copy and leaves the source model unchanged', async () => {
  const sourceJson = await readFile(join(modelDir, 'model.json'), 'utf8');
  const out = join(dir, 'calibrated');
  const log = console.log;
  console.log = () => {};
  try {
    await buildProgram().parseAsync(['node', 'leukoseg', 'calibrate', '--model', modelDir, '--data', sharedDataset1(), '--out', out]);
  } finally {
    console.log = log;
  }
  assert.equal(await readFile(join(modelDir, 'model.json'), 'utf8'), sourceJson);
  const copy = await loadModel(out);
  copy.model.dispose();
  assert.equal(copy.metadata.inference?.classWeights?.length, 3);
  assert.deepEqual(copy.metadata.split?.validationIds, ['001', '002']);
});
