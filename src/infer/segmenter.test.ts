// A model saved with padded preprocessing: its metadata round-trips, and the segmenter (tfjs and ONNX
// Runtime) pads the image in, crops the prediction out and returns masks at the image's own size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { defaultMetadata, loadModel, MODEL_JSON, saveModel } from '../models/io.js';
import { argmaxLabels } from '../models/predict.js';
import { fitToSquare } from '../data/fit-square.js';
import { loadSegmenter, type PixelData } from './segmenter.js';

const SIZE = 128;

/** An RGB test image with a dark disc (a "cell") on a light background, so the model's output varies. */
function discImage(width: number, height: number): PixelData {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 3) ** 2;
      data.set(inside ? [90, 40, 120] : [230, 210, 200 + ((x * y) % 40)], (y * width + x) * 3);
    }
  }
  return { width, height, data, channels: 3 };
}

async function withPadModel(run: (dir: string) => Promise<void>): Promise<void> {
  await initEngine();
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-pad-model-'));
  const model = createModel('study-model-1', { inputSize: SIZE, seed: 4 });
  try {
    await saveModel(model, dir, defaultMetadata('study-model-1', SIZE, 'pad'));
    await run(dir);
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

test('pad preprocessing is written to model.json and read back; old and unknown values load as they should', () =>
  withPadModel(async (dir) => {
    const loaded = await loadModel(dir);
    loaded.model.dispose();
    assert.deepEqual(loaded.metadata.preprocessing, { inputSize: SIZE, resize: 'pad', scale: 1 / 255, channels: 'rgb' });
    assert.deepEqual(loaded.metadata, defaultMetadata('study-model-1', SIZE, 'pad'));
    assert.equal(defaultMetadata('study-model-1', SIZE).preprocessing.resize, 'nearest', "stretching keeps the name old files carry");

    const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8'));
    json.userDefinedMetadata.leukoseg.preprocessing.resize = 'bicubic';
    await writeFile(join(dir, MODEL_JSON), JSON.stringify(json));
    await assert.rejects(loadModel(dir), /model\.json: model preprocessing: unknown resize 'bicubic' \(this leukoseg knows 'nearest', 'pad' and 'pad-smooth'\)/);
  }));

test('the segmenter in pad mode returns masks at the image size: 120x120 cropped exactly, 100x140 shrunk and back', () =>
  withPadModel(async (dir) => {
    const model = (await loadModel(dir)).model;
    const tfjs = await loadSegmenter({ model: dir, runtime: 'tfjs', postprocess: false, tta: false });
    const onnx = await loadSegmenter({ model: dir, runtime: 'onnx', postprocess: false, tta: false });
    try {
      for (const [width, height] of [[120, 120], [100, 140]]) {
        const image = discImage(width, height);
        for (const seg of [tfjs, onnx]) {
          const r = await seg.segment(image);
          assert.deepEqual([r.width, r.height, r.mask.width, r.mask.height, r.rawMask.width, r.rawMask.height], [width, height, width, height, width, height], `${seg.runtime} ${width}x${height}`);
          assert.equal(r.rawMask.data.length, width * height);
        }
      }
      // 120x120 sits unshrunk at (4, 4) of the 128 square: the mask is the model's own argmax there.
      const image = discImage(120, 120);
      // Built here from fitToSquare, not with the segmenter's prepareInput, so a wrong mode there shows.
      const padded = fitToSquare({ width: 120, height: 120, data: image.data as Uint8Array }, SIZE, 3, 'pad');
      const input = Float32Array.from(padded.data, (v) => v * Math.fround(1 / 255));
      const probs = tf.tidy(() => tf.slice(model.predict(tf.tensor4d(input, [1, SIZE, SIZE, 3])) as tf.Tensor4D, [0, 4, 4, 0], [1, 120, 120, -1]));
      const expected = argmaxLabels((await probs.data()) as Float32Array);
      probs.dispose();
      assert.deepEqual([...(await tfjs.segment(image)).rawMask.data], [...expected]);
      assert.ok(new Set(expected).size > 1, 'the test image gives the untrained model more than one class to show');
    } finally {
      tfjs.dispose();
      onnx.dispose();
      model.dispose();
    }
  }));
