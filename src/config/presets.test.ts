// Presets resolve to full, validated configs; flags override only what they name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESET_NAMES, resolvePreset } from './presets.js';
import { parseRunConfig } from './schema.js';
import { cropSpecOf } from './classifier.js';

test("study presets carry the study's protocol", () => {
  const m3 = resolvePreset('study-model-3');
  assert.equal(m3.model.name, 'study-model-3');
  assert.equal(m3.model.l2, 0.001);
  assert.equal(m3.train.epochs, 20);
  assert.equal(m3.train.batchSize, 2);
  assert.equal(m3.train.learningRate, 0.001);
  assert.deepEqual(m3.data, { dataset: 1, size: 128, fit: 'stretch', testFraction: 0.3, splitSeed: 42, normalize: 'scale' });
  assert.equal(m3.augment.enabled, false);
  assert.equal(m3.train.sourceBalance, 0);
  assert.equal(resolvePreset('study-model-1').train.epochs, 5);
  assert.equal(resolvePreset('study-model-2').train.epochs, 5);
  for (const name of PRESET_NAMES) assert.equal(resolvePreset(name).preset, name);
});

test('overrides replace only the given fields; absent flags keep the preset value', () => {
  const c = resolvePreset('study-model-1', { train: { epochs: undefined, batchSize: 4 }, data: { size: 64 } });
  assert.equal(c.train.epochs, 5);
  assert.equal(c.train.batchSize, 4);
  assert.equal(c.data.size, 64);
  assert.equal(c.data.testFraction, 0.3);
});

test('bad values and names are rejected with their path', () => {
  assert.throws(() => resolvePreset('nope'), /unknown preset "nope": must be one of study-model-1/);
  assert.throws(() => resolvePreset('study-model-3', { train: { batchSize: 0 } }), /train\.batchSize/);
  assert.throws(() => parseRunConfig({ preset: 'x', model: { name: 'resnet' } }), /model\.name/);
});

test('a JSON config file overrides the preset by section, and flags win over the file', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readConfigOverrides, mergeOverrides } = await import('./presets.js');
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-config-'));
  try {
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ description: 'CE only', train: { loss: 'crossEntropy', epochs: 7 } }));
    const c = resolvePreset('unet-small', mergeOverrides(await readConfigOverrides(good), { train: { epochs: 3, seed: undefined } }));
    assert.equal(c.train.loss, 'crossEntropy');
    assert.equal(c.train.epochs, 3);
    assert.equal(c.train.schedule, 'cosine', 'fields the file does not name keep the preset value');
    assert.equal(c.description, 'CE only');

    const typo = join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ trian: { epochs: 2 } }));
    await assert.rejects(readConfigOverrides(typo), /typo\.json: unknown section\(s\) trian/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "train": ');
    await assert.rejects(readConfigOverrides(bad), /bad\.json: cannot read a JSON config/);
    await writeFile(bad, JSON.stringify({ train: { loss: 'hinge' } }));
    assert.throws(() => resolvePreset('unet-small', mergeOverrides(JSON.parse('{"train":{"loss":"hinge"}}'))), /train\.loss/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('unet-small-pad is unet-small with images padded into the square and no early stopping; every other preset stretches', () => {
  const pad = resolvePreset('unet-small-pad');
  const small = resolvePreset('unet-small');
  assert.equal(pad.data.fit, 'pad');
  assert.equal(pad.train.earlyStopPatience, 0);
  assert.ok(small.train.earlyStopPatience > 0);
  const asSmall = { ...pad, preset: small.preset, description: small.description, data: small.data, train: { ...pad.train, earlyStopPatience: small.train.earlyStopPatience } };
  assert.deepEqual(asSmall, small);
  for (const name of PRESET_NAMES.filter((n) => n !== 'unet-small-pad' && n !== 'unet-small-multi')) assert.equal(resolvePreset(name).data.fit, 'stretch', name);
});

test('unet-small-multi is unet-small-pad on every data set present, sources balanced', () => {
  const multi = resolvePreset('unet-small-multi');
  const pad = resolvePreset('unet-small-pad');
  assert.equal(multi.data.dataset, 'all');
  assert.equal(multi.data.fit, 'pad');
  assert.equal(multi.train.sourceBalance, 1);
  assert.deepEqual(multi.augment, pad.augment);
  assert.deepEqual({ ...multi.train, sourceBalance: 0 }, pad.train);
  assert.equal(multi.model.name, pad.model.name);
});

test('misspelt keys are refused with their path in every section, not dropped', () => {
  assert.throws(() => resolvePreset('study-model-3', { train: { epoch: 2 } }), /train: Unrecognized key: "epoch"/);
  assert.throws(() => resolvePreset('study-model-3', { data: { datset: 2 } }), /data: Unrecognized key: "datset"/);
  assert.throws(() => resolvePreset('study-model-3', { augment: { stian: 0.2 } }), /augment: Unrecognized key: "stian"/);
  assert.throws(() => resolvePreset('study-model-3', { model: { dept: 3 } }), /model: Unrecognized key: "dept"/);
  assert.throws(() => parseRunConfig({ preset: 'x', model: { name: 'unet' }, extra: 1 }), /\(root\): Unrecognized key: "extra"/);
  assert.equal(resolvePreset('study-model-3', { data: { dataset: [1, 2] } }).data.dataset.toString(), '1,2');
  assert.equal(resolvePreset('study-model-3', { data: { dataset: 'all' } }).data.dataset, 'all');
  assert.throws(() => resolvePreset('study-model-3', { data: { dataset: 0 } }), /data\.dataset/);
  assert.throws(() => resolvePreset('unet-small', { data: { fit: 'crop' } }), /data\.fit/);
});

test('wbc-type standardises stain and averages three networks; the crop it records leaves defaults out', () => {
  const c = resolvePreset('wbc-type').classifier!;
  assert.equal(c.stain, 'nucleus');
  assert.equal(c.members, 3);
  assert.deepEqual(cropSpecOf(64, c), { size: 64, margin: 0.15, stain: 'nucleus' });
  assert.deepEqual(cropSpecOf(32, { ...c, stain: 'none', cropAround: 'image' }), { size: 32, margin: 0.15, around: 'image' });
  assert.throws(() => resolvePreset('wbc-type', { classifier: { members: 0 } }), /classifier\.members/);
  assert.throws(() => resolvePreset('wbc-type', { classifier: { stain: 'reinhard' } }), /classifier\.stain/);
});
