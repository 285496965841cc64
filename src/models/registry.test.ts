// One suite every architecture runs (forward shape, softmax output, save/load round trip), plus the
// study models' exact parameter counts and the registry's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { createModel, MODEL_NAMES } from './registry.js';
import { defaultMetadata, loadModel, saveModel } from './io.js';

for (const name of MODEL_NAMES) {
  test(`${name}: softmax map of the input's size, identical after save and load`, async () => {
    await initEngine();
    const model = createModel(name, { inputSize: 32, seed: 7 });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
    const y = model.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 32, 32, 3]);
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

test("study models have the study's layer sizes (trainable parameter counts)", async () => {
  await initEngine();
  const trainable = (n: string) => {
    const m = createModel(n, { inputSize: 128, seed: 1 });
    const count = m.countParams() - m.nonTrainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
    m.dispose();
    return count;
  };
  // Model 1: 5x5x3x16+16, 5x5x16x16+16, 1x1x16x3+3.
  assert.equal(trainable('study-model-1'), 1216 + 6416 + 51);
  // Models 2/3: 52,739, the figure the PyTorch re-implementation of the same network reports.
  assert.equal(trainable('study-model-2'), 52739);
  assert.equal(trainable('study-model-3'), 52739);
});

test('registry errors name the problem and the way out', () => {
  assert.throws(() => createModel('unet9', { inputSize: 128, seed: 1 }), /unknown model "unet9": must be one of study-model-1, study-model-2, study-model-3/);
  assert.throws(() => createModel('study-model-3', { inputSize: 130, seed: 1 }), /divisible by 4, got 130 \(try 132\)/);
});
