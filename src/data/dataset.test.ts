// Tests for dataset.ts: bad pairs are skipped with a reason, batches are laid out NHWC, and the real
// Dataset 1 loads exactly as PIL loads it (reference hashes) and splits exactly like the PyTorch peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imagesToFloat32, labelsOf, loadDataset } from './dataset.js';
import { encodePng, makeTempDir, writePair } from './fixtures.js';
import { grayFromLabels } from './masks.js';
import { trainTestSplit } from './split.js';
import { NUMPY_PERM300_SEED42_FIRST90 } from './numpy-reference.js';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REAL_DATASET_1 = resolve(PROJECT_ROOT, '..', 'shared', 'datasets', 'segmentation_WBC', 'Dataset 1');

test('good pairs load, resized with NEAREST, masks mapped to classes', async () => {
  const dir = await makeTempDir();
  await writePair(dir, '001', { width: 6, height: 5 });
  const { samples, issues, strayPixels } = await loadDataset({ dir, size: 12 });
  assert.deepEqual(issues, []);
  assert.equal(strayPixels, 0);
  const [s] = samples;
  assert.deepEqual([s.id, s.originalWidth, s.originalHeight, s.image.width, s.mask.height], ['001', 6, 5, 12, 12]);
  // Mask columns are 0/128/255 repeating; x2 upscaling doubles each column: classes 0,0,1,1,2,2,...
  assert.deepEqual([...s.mask.data.slice(0, 12)], [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
  // Image pixel (0,0) is (0, 0, 200); output pixel (2,0) comes from source column 1: (40, 0, 200).
  assert.deepEqual([...s.image.data.slice(0, 9)], [0, 0, 200, 0, 0, 200, 40, 0, 200]);
});

test("fit 'pad' centres image and mask unstretched in the square, with reflected margins", async () => {
  const dir = await makeTempDir();
  await writePair(dir, '001', { width: 6, height: 5 }); // pixel (x, y) = (40x, 50y, 200); mask class x % 3
  const { samples } = await loadDataset({ dir, size: 8, fit: 'pad' });
  const [s] = samples;
  assert.deepEqual([s.originalWidth, s.originalHeight, s.image.width, s.image.height, s.mask.width, s.mask.height], [6, 5, 8, 8, 8, 8]);
  // Content at x 1..6, y 1..5; columns read 1,0,1,..,5,4 and rows 1,0,1,2,3,4,3,2 of the file.
  assert.deepEqual([...s.mask.data.slice(0, 8)], [1, 0, 1, 2, 0, 1, 2, 1]);
  const red = (row: number) => Array.from({ length: 8 }, (_, x) => s.image.data[(row * 8 + x) * 3]);
  const green = (row: number) => s.image.data[row * 8 * 3 + 1];
  assert.deepEqual(red(0), [40, 0, 40, 80, 120, 160, 200, 160]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(green), [50, 0, 50, 100, 150, 200, 150, 100]);
  assert.deepEqual(s.originalMask.data.length, 30, 'the file-size mask is kept for native scoring');
});

test('each bad pair is skipped with the file and the problem; stray levels are counted', async () => {
  const dir = await makeTempDir();
  await writePair(dir, '001');
  await writePair(dir, '002', { maskWidth: 4 });
  await writePair(dir, '003', { maskLevel: (x) => [0, 37, 64][x % 3] });
  await writePair(dir, '004', { maskLevel: (x) => (x === 0 ? 120 : 250) });
  await writePair(dir, '005');
  await writeFile(join(dir, '005.bmp'), 'not a bitmap');
  await writePair(dir, '006');
  await writeFile(join(dir, '006.png'), '');
  await writeFile(join(dir, '007.bmp'), '');
  const { samples, issues, strayPixels } = await loadDataset({ dir, size: 8 });

  assert.deepEqual(samples.map((s) => s.id), ['001', '004']);
  assert.equal(samples[1].strayPixels, 30, '5 rows x (1 pixel at 120 + 5 pixels at 250)');
  assert.equal(strayPixels, 30);
  const byFile = Object.fromEntries(issues.map((i) => [i.file.slice(dir.length + 1), i.problem]));
  assert.deepEqual(Object.keys(byFile).sort(), ['002.png', '003.png', '005.bmp', '006.png', '007.bmp']);
  assert.equal(byFile['002.png'], `size 4x5 does not match image 6x5 (${join(dir, '002.bmp')})`);
  assert.match(byFile['003.png'], /^mask has unknown gray levels 37, 64 \(expected 0\/128\/255\); 20 pixel\(s\)/);
  assert.match(byFile['005.bmp'], /^not an image \(/);
  assert.equal(byFile['006.png'], 'empty file (0 bytes)');
  assert.match(byFile['007.bmp'], /^no mask found \(expected 007\.png/);
});

test('maxMaskDistance decides between stray and unknown levels', async () => {
  const dir = await makeTempDir();
  await writePair(dir, '001', { maskLevel: () => 100 });
  await assert.rejects(loadDataset({ dir, maxMaskDistance: 27 }), /mask has unknown gray levels 100/);
  const { samples } = await loadDataset({ dir, maxMaskDistance: 28 });
  assert.equal(samples[0].strayPixels, 30);
  assert.ok(samples[0].mask.data.every((c) => c === 1));
});

test('a folder with nothing valid throws, listing problems and the expected layout', async () => {
  const dir = await makeTempDir();
  await writeFile(join(dir, '001.bmp'), '');
  await writeFile(join(dir, '001.png'), await encodePng(1, 1, Uint8Array.from([0]), 1));
  await assert.rejects(loadDataset({ dir }), (err: Error) => {
    assert.match(err.message, /^No usable samples in .*: 1 pair\(s\), none valid\./);
    assert.match(err.message, /001\.bmp: empty file \(0 bytes\)/);
    assert.match(err.message, /should contain image\/mask pairs such as 001\.bmp \+ 001\.png/);
    return true;
  });
  const empty = await makeTempDir();
  await assert.rejects(loadDataset({ dir: empty }), /No usable samples in .*: no image\/mask pairs\./);
  await assert.rejects(loadDataset({ dir: join(empty, 'nope') }), /Cannot read data folder .*nope \(ENOENT/);
});

test('imagesToFloat32 and labelsOf stack the chosen samples in index order', async () => {
  const dir = await makeTempDir();
  await writePair(dir, 'a', { width: 2, height: 1, maskLevel: () => 0 });
  await writePair(dir, 'b', { width: 2, height: 1, maskLevel: () => 255 });
  const { samples } = await loadDataset({ dir, size: 2 });
  const x = imagesToFloat32(samples, [1, 0]);
  assert.equal(x.length, 2 * 2 * 2 * 3);
  assert.deepEqual([...x.slice(0, 3)], [0, 0, 200 / 255].map(Math.fround));
  assert.deepEqual([...labelsOf(samples, [1, 0])], [2, 2, 2, 2, 0, 0, 0, 0]);
  assert.deepEqual(imagesToFloat32(samples, []).length, 0);
  assert.throws(() => labelsOf(samples, [5]), /index 5 is outside 0\.\.1/);
});

test('real Dataset 1: 300 samples of 128x128, no issues, pixels identical to PIL, split as the peer', async () => {
  assert.ok(
    existsSync(REAL_DATASET_1),
    `The real data set is missing: expected ${REAL_DATASET_1} (../shared/datasets/segmentation_WBC beside the project).`,
  );
  const started = performance.now();
  const { samples, issues, strayPixels } = await loadDataset({ dir: REAL_DATASET_1 });
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(issues, []);
  assert.equal(samples.length, 300);
  assert.equal(strayPixels, 0);
  assert.ok(samples.every((s) => s.image.width === 128 && s.image.height === 128 && s.mask.width === 128));
  assert.ok(seconds < 10, `loading took ${seconds.toFixed(1)} s`);

  // sha256 of PIL 9.4.0's Image.open(...).convert("RGB").resize((128, 128), Image.NEAREST).tobytes()
  // (and of the mask's resize), for images of several original sizes.
  const PIL_SHA256: Record<string, [string, string, number, number]> = {
    '001': ['40102f1e09c5757d41d742237c27037361acb826541027c5f93b4e82a5541b1c', 'adfe1020332ea2747aa29556b9a0c59ea8ba819e2a4429dc1614f9cd83c5644c', 120, 120],
    '083': ['b5dbbbf1605a421d5f600ad344c5b52fc49ead835aac16dbd336623c4f1878c1', 'fd1b08ed6f546d1f6a05729b5046fb99845878ae2b8a6c17ce0a14055d4f0dd6', 104, 100],
    '106': ['880060bef07b34366ee706fef05e46a80773004e3ce272c9a136fac18c27cba4', '45a4257c67b9a521747cfdd0101367ad3878cc057aece8f511328bb21b6599fe', 88, 88],
    '258': ['69e4f616d33f6a68c99b8758d2f822bcc636ba389c70eb0a209f56fcc59dd4e5', '47c77dae808b9f306593578cbbf677cedd28393be336f7268bad347287da27d7', 120, 96],
  };
  const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
  for (const [id, [imageHash, maskHash, width, height]] of Object.entries(PIL_SHA256)) {
    const sample = samples.find((s) => s.id === id);
    assert.ok(sample, `sample ${id}`);
    assert.deepEqual([sample.originalWidth, sample.originalHeight], [width, height], id);
    assert.equal(sha256(sample.image.data), imageHash, `image ${id}`);
    assert.equal(sha256(grayFromLabels(sample.mask)), maskHash, `mask ${id}`);
  }

  const ids = samples.map((s) => s.id);
  assert.deepEqual(ids.slice(0, 3), ['001', '002', '003']);
  const { train, test: testIds } = trainTestSplit(ids, { testFraction: 0.3, seed: 42 });
  assert.equal(train.length, 210);
  assert.equal(testIds.length, 90);
  // The peer: ids sorted by name, test = [ids[i] for i in RandomState(42).permutation(300)[:90]].
  assert.deepEqual(testIds, NUMPY_PERM300_SEED42_FIRST90.map((i) => ids[i]));
  assert.deepEqual(testIds.slice(0, 5), ['204', '267', '153', '010', '234']);
});

test('a few far gray levels are moved to the nearest class and counted; a meaningful share still skips the pair', async () => {
  const dir = await makeTempDir();
  // 6x5 masks (30 pixels): one pixel at 64 is 3.3 %; allow up to 5 % and it is used, at 2 % it is not.
  await writePair(dir, '001', { maskLevel: (x, y) => (x === 0 && y === 0 ? 64 : 128) });
  const { samples, strayMasks } = await loadDataset({ dir, maxFarFraction: 0.05 });
  assert.equal(samples[0].strayPixels, 1);
  assert.equal(samples[0].mask.data[0], 0, '64 is nearer 0 than 128');
  assert.deepEqual(strayMasks.map((m) => [m.pixels, m.levels]), [[1, [64]]]);
  await assert.rejects(loadDataset({ dir, maxFarFraction: 0.02 }), /unknown gray levels 64 .*1 pixel\(s\) \(3\.33 %, more than 2\.00 %\)/);
});

test('real Dataset 2: every one of the 100 pairs loads, 034 and 076 with their stray border pixels moved', async () => {
  const { samples, issues, strayMasks } = await loadDataset({ dir: join(REAL_DATASET_1, '..', 'Dataset 2') });
  assert.deepEqual(issues, []);
  assert.equal(samples.length, 100);
  const stray: Record<string, (typeof strayMasks)[number]> = Object.fromEntries(strayMasks.map((m) => [m.file.split('/').pop()!, m]));
  for (const name of ['034.png', '076.png']) {
    assert.ok(stray[name], `${name} has stray pixels`);
    assert.ok(stray[name].levels.some((l) => l >= 37 && l <= 50), `${name}: ${stray[name].levels}`);
    assert.ok(stray[name].pixels < 0.001 * 300 * 300 * 2, `${name}: ${stray[name].pixels}`);
  }
});
