// `leukoseg export`: the bioimage.io package of the bundled model has every field the 0.5 spec requires,
// files whose sha256 match, a zip of the same bytes, and test tensors that ONNX Runtime reproduces from
// the exported weights; `--format onnx` writes a graph ONNX Runtime runs; bad flags and RDFs are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { unzipSync } from 'fflate';
import { initEngine } from '../engine/index.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { OnnxPredictor } from '../onnx/runtime.js';
import { sharedDataset1 } from '../testing/paths.js';
import { exportBioimageio } from './bioimageio.js';
import { exportCommand } from './command.js';
import { DATASET_CITATION } from './bioimageio-rdf.js';
import { decodeNpy } from './npy.js';
import { checkModelRdf, type ModelRdf } from './rdf-schema.js';

let dir: string;
let pkg: string;
let rdf: ModelRdf;
const image = () => join(sharedDataset1(), '204.bmp');

before(async () => {
  await initEngine();
  dir = await mkdtemp(join(tmpdir(), 'leukoseg-export-'));
  pkg = join(dir, 'pkg');
  await exportBioimageio({ modelDir: DEFAULT_MODEL_DIR, outDir: pkg, image: image(), zip: true, timestamp: '2026-12-01T00:00:00Z' });
  rdf = checkModelRdf(parse(await readFile(join(pkg, 'rdf.yaml'), 'utf8')));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('rdf.yaml has the fields bioimage.io 0.5 requires, with the paper and the project cited', () => {
  assert.equal(rdf.type, 'model');
  assert.match(rdf.format_version, /^0\.5\.\d+$/);
  assert.ok(rdf.cite.some((c) => c.doi === DATASET_CITATION.doi), 'the segmentation_WBC paper is cited');
  assert.ok(rdf.cite.some((c) => c.url?.includes('leukoseg')), 'leukoseg is cited');
  assert.equal(rdf.license, 'MIT');
  assert.deepEqual(rdf.inputs[0].axes.map((a) => a.type), ['batch', 'space', 'space', 'channel']);
  assert.deepEqual(rdf.outputs[0].axes.at(-1), { type: 'channel', channel_names: ['background', 'cytoplasm', 'nucleus'] });
  assert.deepEqual(rdf.inputs[0].preprocessing?.map((p) => p.id), ['ensure_dtype', 'scale_linear']);
  assert.equal(rdf.weights.onnx?.opset_version, 13);
  assert.ok(rdf.training_data && 'name' in rdf.training_data && rdf.training_data.name.includes('segmentation_WBC'));
});

test('every file rdf.yaml names is in the package with its sha256, and the zip holds the same bytes', async () => {
  const named = [rdf.documentation, ...rdf.covers, rdf.weights.onnx!.source, rdf.inputs[0].test_tensor.source, rdf.outputs[0].test_tensor.source];
  const files = await readdir(pkg);
  for (const f of named) assert.ok(files.includes(f), `${f} is in the package`);
  for (const d of [rdf.weights.onnx!, rdf.inputs[0].test_tensor, rdf.outputs[0].test_tensor]) {
    assert.equal(createHash('sha256').update(await readFile(join(pkg, d.source))).digest('hex'), d.sha256, `sha256 of ${d.source}`);
  }
  const zipped = unzipSync(new Uint8Array(await readFile(`${pkg}.zip`)));
  assert.deepEqual(Object.keys(zipped).sort(), [...files].sort());
  for (const f of files) assert.ok(Buffer.from(zipped[f]).equals(await readFile(join(pkg, f))), `${f} zipped unchanged`);
});

test('ONNX Runtime on the exported weights reproduces the test output from the test input (preprocessing as rdf.yaml says)', async (t) => {
  const input = decodeNpy(await readFile(join(pkg, rdf.inputs[0].test_tensor.source)), 'test input');
  const expected = decodeNpy(await readFile(join(pkg, rdf.outputs[0].test_tensor.source)), 'test output');
  assert.deepEqual(input.shape, [1, 128, 128, 3]);
  assert.deepEqual(expected.shape, [1, 128, 128, 3]);
  let x = Float32Array.from(input.data);
  for (const step of rdf.inputs[0].preprocessing ?? []) {
    if (step.id === 'ensure_dtype') continue; // already float32
    assert.equal(step.id, 'scale_linear', `preprocessing step ${step.id}`);
    const { gain, offset } = step.kwargs as { gain: number; offset: number };
    x = x.map((v) => v * gain + offset);
  }
  const predictor = await OnnxPredictor.fromBytes(new Uint8Array(await readFile(join(pkg, rdf.weights.onnx!.source))));
  try {
    const got = await predictor.predictRaw(x, input.shape);
    assert.deepEqual(got.dims, expected.shape);
    let max = 0;
    for (let i = 0; i < got.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - expected.data[i]));
    t.diagnostic(`max |onnx - test output| = ${max.toExponential(2)}`);
    assert.ok(max < 1e-4, `max |onnx - test output| = ${max}`); // bioimageio.core's default absolute tolerance
  } finally {
    await predictor.dispose();
  }
  // The test output is a real cell: some nucleus and some cytoplasm win the argmax.
  const wins = [0, 0, 0];
  for (let p = 0; p < expected.data.length; p += 3) wins[[0, 1, 2].reduce((a, b) => (expected.data[p + b] > expected.data[p + a] ? b : a), 0)]++;
  assert.ok(wins[1] > 500 && wins[2] > 500, `class pixels ${wins.join('/')}`);
});

test('a description missing what the spec requires is refused, naming the field', () => {
  const bad = structuredClone(rdf) as Record<string, unknown>;
  bad.format_version = '0.4.10';
  bad.cite = [{ text: 'no link' }];
  delete bad.documentation;
  assert.throws(() => checkModelRdf(bad, 'x/rdf.yaml'), (err: Error) =>
    /^x\/rdf\.yaml: not a bioimage.io model description/.test(err.message) &&
    /format_version: format_version 0\.5\.x/.test(err.message) && /cite\.0: a citation needs a doi or a url/.test(err.message) && /documentation/.test(err.message));
});

test('export refuses a folder holding other files, and export --format onnx writes a model ONNX Runtime runs', async () => {
  const busy = join(dir, 'busy');
  await mkdir(busy);
  await writeFile(join(busy, 'notes.txt'), 'mine');
  await assert.rejects(exportBioimageio({ modelDir: DEFAULT_MODEL_DIR, outDir: busy, image: image() }), /already holds other files \(notes\.txt\)/);

  const onnx = join(dir, 'model.onnx');
  await exportCommand().parseAsync(['--format', 'onnx', '--out', onnx], { from: 'user' });
  const predictor = await OnnxPredictor.fromBytes(new Uint8Array(await readFile(onnx)));
  const probs = await predictor.predict(new Float32Array(128 * 128 * 3).fill(0.5), 1, 128);
  await predictor.dispose();
  assert.equal(probs.length, 128 * 128 * 3);
  assert.ok(Math.abs(probs[0] + probs[1] + probs[2] - 1) < 1e-5, 'softmax output');

  const cmd = () => exportCommand().exitOverride().configureOutput({ writeErr: () => {} });
  await assert.rejects(cmd().parseAsync(['--format', 'tiff', '--out', onnx], { from: 'user' }), /--format must be one of onnx, bioimageio, got "tiff"/);
  await assert.rejects(cmd().parseAsync(['--format', 'onnx', '--zip', '--out', onnx], { from: 'user' }), /--zip: only for --format bioimageio/);
  await assert.rejects(cmd().parseAsync(['--format', 'onnx', '--out', onnx, '--bogus'], { from: 'user' }), /unknown option '--bogus'/);
});
