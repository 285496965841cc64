// leukoseg's ONNX export run by ONNX Runtime against tfjs `model.predict`: every preset architecture (with
// BatchNorm statistics made non-trivial), the bundled model on real images, padding corner cases, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { loadModel } from '../models/io.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { findPairs, imagesToFloat32, loadSample } from '../data/dataset.js';
import { sharedDataset1 } from '../testing/paths.js';
import { exportOnnx, toOnnxModel } from './export.js';
import { OnnxPredictor } from './runtime.js';

const TOLERANCE = 1e-4;

/** Largest |tfjs - ONNX Runtime| over the model's output for NHWC input `x`. */
async function maxDifference(model: tfl.LayersModel, x: Float32Array, count: number, size: number): Promise<number> {
  const predictor = await OnnxPredictor.fromLayersModel(model);
  try {
    const expected = tf.tidy(() => model.predict(tf.tensor4d(x, [count, size, size, 3])) as tf.Tensor);
    const want = await expected.data();
    expected.dispose();
    const got = await predictor.predict(x, count, size);
    assert.equal(got.length, want.length);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - got[i]));
    return max;
  } finally {
    await predictor.dispose();
  }
}

/**
 * Random moving statistics and shifts, and scales of both signs (or, with `positive`, all > 0: then the
 * study models' BN moves after its max-pool), so that folding and BN order are really tested.
 */
function randomizeBatchNorms(model: tfl.LayersModel, seed: number, positive = false): void {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const c = layer.getWeights()[0].shape[0];
    const make = (f: () => number) => tf.tensor1d(Array.from({ length: c }, f));
    const values = [make(() => (positive ? 0.1 + rand() * 2 : rand() * 2 - 0.7)), make(() => rand() - 0.5), make(() => rand() - 0.5), make(() => 0.2 + rand() * 2)];
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function randomImages(count: number, size: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([count, size, size, 3], 0, 1, 'float32', seed).dataSync() as Float32Array);
}

for (const name of ['study-model-3', 'unet', 'unet-small'] as const) {
  test(`${name}: ONNX Runtime output matches tfjs within ${TOLERANCE} (random input, batch 1 and 3)`, async (t) => {
    await initEngine();
    const model = createModel(name, { inputSize: 128, seed: 11 });
    try {
      for (const positive of name === 'study-model-3' ? [false, true] : [false]) {
        randomizeBatchNorms(model, 5, positive);
        for (const count of [1, 3]) {
          const diff = await maxDifference(model, randomImages(count, 128, count), count, 128);
          assert.ok(diff < TOLERANCE, `${name} batch ${count}: max |tfjs - onnx| = ${diff}`);
          t.diagnostic(`${positive ? 'BN scales > 0, ' : ''}batch ${count}: max |tfjs - onnx| = ${diff.toExponential(2)}`);
        }
      }
    } finally {
      model.dispose();
    }
  });
}

test('the bundled model on real Dataset 1 images: ONNX matches tfjs within 1e-4 at batch 1 and 3', async (t) => {
  await initEngine();
  const { model, metadata } = await loadModel(DEFAULT_MODEL_DIR);
  const { pairs } = await findPairs(sharedDataset1());
  const size = metadata.preprocessing.inputSize;
  const samples = await Promise.all(pairs.slice(0, 3).map((p) => loadSample(p, { size })));
  try {
    for (const ids of [[0], [0, 1, 2]]) {
      const diff = await maxDifference(model, imagesToFloat32(samples, ids), ids.length, size);
      assert.ok(diff < TOLERANCE, `batch ${ids.length}: max |tfjs - onnx| = ${diff}`);
      t.diagnostic(`batch ${ids.length}: max |tfjs - onnx| = ${diff.toExponential(2)}`);
    }
  } finally {
    model.dispose();
  }
});

test('graph shape: NHWC in and out, BN folded only where it follows a linear conv', async () => {
  await initEngine();
  const study = createModel('study-model-3', { inputSize: 32, seed: 1 });
  const unet = createModel('unet-small', { inputSize: 32, seed: 1 });
  const studyOps = toOnnxModel(study).graph.nodes.map((n) => n.opType);
  const unetOps = toOnnxModel(unet).graph.nodes.map((n) => n.opType);
  // Study models: BN comes after the ReLU, so it stays a BatchNormalization node (4 of them); with scales
  // >= 0 (here: fresh, all 1) the two before a max-pool run after it.
  assert.equal(studyOps.filter((op) => op === 'BatchNormalization').length, 4);
  assert.deepEqual(studyOps.slice(1, 5), ['Conv', 'Relu', 'MaxPool', 'BatchNormalization']);
  randomizeBatchNorms(study, 5); // some scales < 0: BN stays before the pool
  assert.deepEqual(toOnnxModel(study).graph.nodes.slice(1, 5).map((n) => n.opType), ['Conv', 'Relu', 'BatchNormalization', 'MaxPool']);
  // U-Net: conv -> BN -> ReLU, every BN folds into its conv.
  assert.equal(unetOps.filter((op) => op === 'BatchNormalization').length, 0);
  assert.deepEqual([studyOps[0], ...studyOps.slice(-2)], ['Transpose', 'Transpose', 'Softmax']);
  const g = toOnnxModel(unet).graph;
  assert.deepEqual(g.inputs[0].shape, ['N', 32, 32, 3]);
  assert.deepEqual(g.outputs[0].shape, ['N', 32, 32, 3]);
  study.dispose();
  unet.dispose();
});

test('padding corner cases: odd sizes, strided same convs and pools, transposed convs of kernel 3, bias-free BN fold', async () => {
  await initEngine();
  const input = tfl.input({ shape: [15, 15, 3] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(a) as tfl.SymbolicTensor;
  const c = tfl.layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' }).apply(b) as tfl.SymbolicTensor;
  const d = tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }).apply(c) as tfl.SymbolicTensor;
  const e = tfl.layers.conv2d({ filters: 6, kernelSize: 4, padding: 'same', useBias: false }).apply(d) as tfl.SymbolicTensor;
  const f = tfl.layers.batchNormalization({ epsilon: 0.01 }).apply(e) as tfl.SymbolicTensor;
  const g = tfl.layers.dropout({ rate: 0.5 }).apply(f) as tfl.SymbolicTensor;
  const h = tfl.layers.upSampling2d({ size: [2, 3] }).apply(g) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 5, padding: 'valid', activation: 'softmax' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  randomizeBatchNorms(model, 9);
  // 15 -> 8 -> 4 -> 8 -> 17 -> 17 -> (34, 51) -> (30, 47): not square, so compare through tfjs directly.
  const ort = await OnnxPredictor.fromLayersModel(model);
  try {
    const x = randomImages(2, 15, 4);
    const want = tf.tidy(() => (model.predict(tf.tensor4d(x, [2, 15, 15, 3])) as tf.Tensor).dataSync());
    const got = await ort.predictRaw(x, [2, 15, 15, 3]);
    assert.deepEqual(got.dims, [2, 30, 47, 3]);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - got.data[i]));
    assert.ok(max < TOLERANCE, `max |tfjs - onnx| = ${max}`);
  } finally {
    await ort.dispose();
    model.dispose();
  }
});

test('a layer the exporter does not know is refused with its name and type', async () => {
  await initEngine();
  const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [4, 4, 3], name: 'flat' }), tfl.layers.dense({ units: 2 })] });
  assert.throws(() => exportOnnx(model), /layer 'flat' \(Flatten\): this layer type is not supported/);
  const bilinear = tfl.sequential({ layers: [tfl.layers.upSampling2d({ inputShape: [4, 4, 3], interpolation: 'bilinear', name: 'up' })] });
  assert.throws(() => exportOnnx(bilinear), /layer 'up' \(UpSampling2D\): interpolation 'bilinear'/);
  model.dispose();
  bilinear.dispose();
});
