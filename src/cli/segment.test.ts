// Batch segmentation: every bad-input case costs one named failure and the good images still get
// their mask, overlay and row; inputs expand from folders and globs; the segmenter frees what it uses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { defaultMetadata, saveModel } from '../models/io.js';
import { loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { expandInputs, outputNames, segmentFiles } from './segment.js';

let dir: string;
let modelDir: string;
let segmenter: Segmenter;

async function pngOf(width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

before(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), 'leukoseg-segment-'));
  // An untrained model is enough to exercise the pipeline: these tests are about files, not accuracy.
  const model = createModel('study-model-1', { inputSize: 32, seed: 3 });
  modelDir = join(dir, 'model');
  await saveModel(model, modelDir, defaultMetadata('study-model-1', 32));
  model.dispose();
  segmenter = await loadSegmenter({ model: modelDir, maxPixels: 10_000 });
});

after(async () => {
  segmenter.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('good images are segmented at their own size; each bad file fails alone with its name', async () => {
  const inDir = join(dir, 'in');
  await mkdir(inDir, { recursive: true });
  const good = join(inDir, 'good.png');
  await writeFile(good, await pngOf(45, 37));
  const rgba = join(inDir, 'rgba.png');
  await writeFile(rgba, await pngOf(30, 30, 4));
  const empty = join(inDir, 'empty.bmp');
  await writeFile(empty, Buffer.alloc(0));
  const truncated = join(inDir, 'truncated.png');
  await writeFile(truncated, (await pngOf(40, 40)).subarray(0, 60));
  const text = join(inDir, 'notes.jpg');
  await writeFile(text, 'this is not an image\n');
  const huge = join(inDir, 'huge.png');
  await writeFile(huge, await pngOf(200, 200)); // 40,000 px > the 10,000 limit given above

  const outDir = join(dir, 'out');
  const files = [good, rgba, empty, truncated, text, huge];
  const result = await segmentFiles(segmenter, files, outDir, { umPerPx: 0.5, maxPixels: 10_000 });
  assert.deepEqual(result.rows.map((r) => r.name), ['good', 'rgba']);
  assert.deepEqual(result.failed.map((f) => f.file), [empty, truncated, text, huge]);
  assert.match(result.failed[0].error, /empty\.bmp: empty file \(0 bytes\)/);
  assert.match(result.failed[1].error, /truncated\.png: truncated or corrupt/);
  assert.match(result.failed[2].error, /notes\.jpg: not an image/);
  assert.match(result.failed[3].error, /huge\.png: image is 200x200 = 40000 pixels, more than the limit/);

  const maskMeta = await sharp(join(outDir, 'good.mask.png')).metadata();
  assert.deepEqual([maskMeta.width, maskMeta.height, maskMeta.channels], [45, 37, 1]);
  const mask = await sharp(join(outDir, 'good.mask.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  for (const v of mask.data) assert.ok(v === 0 || v === 128 || v === 255, `mask level ${v}`);
  const overlay = await sharp(join(outDir, 'good.overlay.png')).metadata();
  assert.deepEqual([overlay.width, overlay.height], [45, 37]);

  const json = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8'));
  assert.equal(json.images.length, 2);
  assert.equal(json.failed.length, 4);
  assert.equal(json.status, 'complete');
  assert.deepEqual(json.notProcessed, []);
  const jsonl = (await readFile(join(outDir, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(jsonl, json.images);
  assert.equal(json.images[0].cellAreaPx, json.images[0].nucleusAreaPx + json.images[0].cytoplasmAreaPx);
  if (json.images[0].cellAreaPx > 0) assert.equal(json.images[0].cellAreaUm2, json.images[0].cellAreaPx * 0.25);
  const csv = (await readFile(join(outDir, 'results.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^file,name,width,height,cellIndex,bboxX,bboxY,bboxWidth,bboxHeight,centroidX,centroidY,cellAreaPx,/);
});

test('inputs expand from folders (recursively, skipping our own outputs and data-set masks), globs and paths; missing ones are reported', async () => {
  const root = join(dir, 'tree');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'a.png'), await pngOf(8, 8));
  await writeFile(join(root, 'sub', 'b.bmp'), Buffer.from('BM'));
  await writeFile(join(root, 'sub', 'a.mask.png'), await pngOf(8, 8));
  await writeFile(join(root, 'sub', 'b.png'), await pngOf(8, 8)); // b.bmp's mask, as in Dataset 1
  await writeFile(join(root, 'readme.txt'), 'x');
  const { files, missing, skippedMasks } = await expandInputs([root, join(root, '*.png'), join(dir, 'nothing-here-*.png')]);
  assert.deepEqual(files, [join(root, 'a.png'), join(root, 'sub', 'b.bmp')]);
  assert.deepEqual(missing, [join(dir, 'nothing-here-*.png')]);
  assert.equal(skippedMasks, 1);
  assert.deepEqual(outputNames(['/x/001.bmp', '/y/001.bmp', '/y/002.png']), ['001', '001-2', '002']);
});

test('a segmenter takes paths, bytes and pixels, and leaks no tensor over 1,000 calls', async () => {
  const bytes = await pngOf(40, 40);
  const fromBytes = await segmenter.segment(bytes);
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const fromPixels = await segmenter.segment({ width: info.width, height: info.height, data, channels: 3 });
  assert.deepEqual(fromPixels.mask.data, fromBytes.mask.data);
  await assert.rejects(segmenter.segment({ width: 4, height: 4, data: new Uint8Array(5), channels: 3 }), /4x4 with 3 channel\(s\) needs 48 bytes, got 5/);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 1000; i++) await segmenter.segment({ width: info.width, height: info.height, data, channels: 3 });
  assert.equal(tf.memory().numTensors, before);
});
