// One suite every architecture runs (forward shape, softmax output, save/load round trip), plus the
// study models' and U-Nets' exact parameter counts, U-Net training steps and the registry's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../engine/index.js';
import { createModel, MODEL_NAMES, modelTask } from './registry.js';
import { copyIntoMember } from './wbc-cnn.js';
import { defaultMetadata, loadModel, saveModel } from './io.js';
import type { ModelOptions } from './options.js';

for (const name of MODEL_NAMES) {
  const classifier = modelTask(name) === 'cell-type';
  test(`${name}: ${classifier ? 'one softmax per image' : "softmax map of the input's size"}, identical after save and load`, async () => {
    await initEngine();
    const model = createModel(name, { inputSize: 32, seed: 7 });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
    const y = model.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, classifier ? [2, 5] : [2, 32, 32, 3]);
    const sums = await tf.sum(y, -1).data();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);

    const dir = await mkdtemp(join(tmpdir(), 'leukoseg-model-'));
    try {
      await saveModel(model, join(dir, 'm'), defaultMetadata(name, 32));
      await saveModel(model, join(dir, 'm'), defaultMetadata(name, 32)); // replacing an existing folder works
      const loaded = await loadModel(join(dir, 'm'));
      assert.equal(loaded.metadata.architecture, name);
      assert.deepEqual(loaded.metadata.classNames, ['background', 'cytoplasm', 'nucleus']);
      const y2 = loaded.model.predict(x) as tf.Tensor;
      assert.deepEqual(await y2.data(), await y.data());
      loaded.model.dispose();
      tf.dispose(y2);
    } finally {
      await rm(dir, { recursive: true, force: true });
      tf.dispose([x, y]);
      model.dispose();
    }
  });
}

function trainableParams(name: string, extra: Partial<ModelOptions> = {}): number {
  const m = createModel(name, { inputSize: 128, seed: 1, ...extra });
  const count = m.countParams() - m.nonTrainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
  m.dispose();
  return count;
}

test("study models have the study's layer sizes (trainable parameter counts)", async () => {
  await initEngine();
  const trainable = (n: string) => trainableParams(n);
  // Model 1: 5x5x3x16+16, 5x5x16x16+16, 1x1x16x3+3.
  assert.equal(trainable('study-model-1'), 1216 + 6416 + 51);
  // Models 2/3: 52,739, the figure the PyTorch re-implementation of the same network reports.
  assert.equal(trainable('study-model-2'), 52739);
  assert.equal(trainable('study-model-3'), 52739);
});

test('wbc-cnn: crop channels and features as asked, about 60 k parameters, and a training step that moves the head', async () => {
  await initEngine();
  const model = createModel('wbc-cnn', { inputSize: 64, seed: 2, inputChannels: 5, featureCount: 11 });
  const x = tf.randomUniform([3, 64, 64, 5], 0, 1, 'float32', 4);
  const f = tf.randomUniform([3, 11], -1, 1, 'float32', 5);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 2, 4], 'int32'), 5), 'float32'));
  try {
    assert.deepEqual(model.inputs.map((i) => i.shape), [[null, 64, 64, 5], [null, 11]]);
    assert.ok(model.countParams() > 50_000 && model.countParams() < 80_000, `parameters ${model.countParams()}`);
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
    const before = model.getLayer('head').getWeights()[0].dataSync().slice();
    const loss = (await model.trainOnBatch([x, f], y)) as number;
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    assert.notDeepEqual(model.getLayer('head').getWeights()[0].dataSync(), before);
    assert.throws(() => createModel('wbc-cnn', { inputSize: 60, seed: 1 }), /divisible by 8, got 60 \(try 64\)/);
  } finally {
    tf.dispose([x, f, y]);
    model.dispose();
  }
});

test('wbc-cnn members: separately made networks copied in, the ensemble gives the mean of their probabilities', async () => {
  await initEngine();
  const options = { inputSize: 32, inputChannels: 5, featureCount: 3 };
  const singles = [createModel('wbc-cnn', { ...options, seed: 1 }), createModel('wbc-cnn', { ...options, seed: 2 })];
  const ensemble = createModel('wbc-cnn', { ...options, seed: 3, members: 2 });
  const x = tf.randomUniform([2, 32, 32, 5], 0, 1, 'float32', 6);
  const f = tf.randomUniform([2, 3], -1, 1, 'float32', 7);
  try {
    assert.equal(ensemble.countParams(), 2 * singles[0].countParams());
    singles.forEach((single, i) => copyIntoMember(ensemble, single, i + 1));
    const [a, b] = singles.map((s) => (s.predict([x, f]) as tf.Tensor).dataSync());
    const mean = (ensemble.predict([x, f]) as tf.Tensor).dataSync();
    assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-3), 'the two members should differ');
    mean.forEach((v, i) => assert.ok(Math.abs(v - (a[i] + b[i]) / 2) < 1e-5, `value ${i}: ${v} vs ${(a[i] + b[i]) / 2}`));
    assert.throws(() => copyIntoMember(ensemble, singles[0], 3), /m3_/);
    assert.throws(() => createModel('wbc-cnn', { ...options, seed: 1, members: 0 }), /members must be a whole number >= 1, got 0/);
  } finally {
    tf.dispose([x, f]);
    [...singles, ensemble].forEach((m) => m.dispose());
  }
});

test('registry errors name the problem and the way out', () => {
  assert.throws(() => createModel('unet9', { inputSize: 128, seed: 1 }), /unknown model "unet9": must be one of study-model-1, study-model-2, study-model-3, unet, unet-small/);
  assert.throws(() => createModel('study-model-3', { inputSize: 130, seed: 1 }), /divisible by 4, got 130 \(try 132\)/);
});

test('unet matches the PyTorch reference U-Net parameter for parameter; unet-small is 1/16 of it', async () => {
  await initEngine();
  // Widths 16-32-64-128-256, bias-free 3x3 convs + BN (gamma, beta trainable), 2x2 transposed convs with
  // bias, Conv1x1(3) head with bias: the reference's 1,942,611 trainable parameters.
  assert.equal(trainableParams('unet'), 1_942_611);
  // Widths 8-16-32-64, same layout.
  assert.equal(trainableParams('unet-small'), 121_195);
  // 'nearest' swaps each 2x2 transposed conv (4·c·c/2 + c/2) for a 3x3 conv (9·c·c/2 + c/2).
  assert.equal(trainableParams('unet', { upsample: 'nearest' }), 1_942_611 + 5 * (256 * 128 + 128 * 64 + 64 * 32 + 32 * 16));
});

test('unet layers carry stable names and seeded weights', async () => {
  await initEngine();
  const a = createModel('unet-small', { inputSize: 32, seed: 5 });
  const b = createModel('unet-small', { inputSize: 32, seed: 5 });
  const c = createModel('unet-small', { inputSize: 32, seed: 6 });
  try {
    const names = a.layers.map((l) => l.name);
    for (const name of ['image', 'enc1_conv1', 'enc1_bn1', 'enc3_pool', 'bottleneck_conv2', 'dec3_up', 'dec1_concat', 'dec1_relu2', 'head']) {
      assert.ok(names.includes(name), `missing layer ${name}`);
    }
    const kernel = (m: tfl.LayersModel, layer: string) => m.getLayer(layer).getWeights()[0].dataSync();
    for (const layer of ['enc1_conv1', 'dec2_up', 'head']) {
      assert.deepEqual(kernel(a, layer), kernel(b, layer));
      assert.notDeepEqual(kernel(a, layer), kernel(c, layer));
    }
    // Different layers of one model do not start from the same random stream.
    assert.notDeepEqual(kernel(a, 'enc2_conv2').slice(0, 16), kernel(a, 'enc3_conv1').slice(0, 16));
  } finally {
    a.dispose();
    b.dispose();
    c.dispose();
  }
});

test('unet checks a depth given in the options against the input size', () => {
  assert.throws(() => createModel('unet', { inputSize: 48, seed: 1, depth: 5 }), /model "unet" needs an input size divisible by 32, got 48 \(try 64\)/);
  assert.throws(() => createModel('unet', { inputSize: 32, seed: 1, depth: 0 }), /depth must be a whole number/);
  assert.throws(() => createModel('unet-small', { inputSize: 36, seed: 1 }), /divisible by 8, got 36 \(try 40\)/);
});

const trainingCases: Array<[string, Partial<ModelOptions>]> = [
  ['unet', {}],
  ['unet-small', { upsample: 'nearest', dropout: 0.2, l2: 1e-3 }],
];
for (const [name, extra] of trainingCases) {
  test(`${name} ${JSON.stringify(extra)}: one training step on random data gives a finite loss`, async () => {
    await initEngine();
    const model = createModel(name, { inputSize: 32, seed: 3, ...extra });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 11);
    const y = tf.cast(tf.oneHot(tf.randomUniform([2, 32, 32], 0, 3, 'int32', 12), 3), 'float32');
    // The decoder's first learned upsampling layer (the transposed conv, or the conv after nearest upsampling).
    const upLayer = extra.upsample === 'nearest' ? 'dec1_upconv' : 'dec1_up';
    try {
      const before = model.getLayer(upLayer).getWeights()[0].dataSync().slice();
      const loss = await model.trainOnBatch(x, y);
      const value = Array.isArray(loss) ? loss[0] : loss;
      assert.ok(Number.isFinite(value) && value > 0, `loss ${value}`);
      // The gradient reached it (for transposed convs through Conv2DBackpropFilter's transposed use).
      const after = model.getLayer(upLayer).getWeights()[0];
      assert.notDeepEqual(after.dataSync(), before);
    } finally {
      tf.dispose([x, y]);
      model.dispose();
    }
  });
}
