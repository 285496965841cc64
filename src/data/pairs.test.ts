// Tests for pairs.ts: which files pair up under each naming rule, and what is reported for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareCodePoints, findPairs } from './pairs.js';
import { makeTempDir } from './fixtures.js';

/** Creates empty files (findPairs only looks at names). */
async function touch(dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), '');
  }
}

test('segmentation_WBC layout: NNN.bmp + NNN.png, sorted by id, other files ignored', async () => {
  const dir = await makeTempDir();
  await touch(dir, ['010.bmp', '010.png', '002.bmp', '002.png', '001.BMP', '001.png', 'README.rst', 'labels.csv', '.DS_Store']);
  const { pairs, issues } = await findPairs(dir);
  assert.deepEqual(issues, []);
  assert.deepEqual(pairs.map((p) => p.id), ['001', '002', '010']);
  assert.deepEqual(pairs[0], { id: '001', imagePath: join(dir, '001.BMP'), maskPath: join(dir, '001.png') });
});

test('PNG images pair with NNN_mask.png, NNN.mask.png or masks/NNN.png', async () => {
  const dir = await makeTempDir();
  await touch(dir, ['a.png', 'a_mask.png', 'b.png', 'b.mask.png', 'c.png', 'masks/c.png', 'd.jpg', 'masks/d.png']);
  const { pairs, issues } = await findPairs(dir);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    pairs.map((p) => [p.id, p.maskPath.slice(dir.length + 1)]),
    [['a', 'a_mask.png'], ['b', 'b.mask.png'], ['c', join('masks', 'c.png')], ['d', join('masks', 'd.png')]],
  );
});

test('unpaired images and masks are reported, with what was expected', async () => {
  const dir = await makeTempDir();
  await touch(dir, ['001.bmp', '001.png', '002.bmp', '003_mask.png', '004.png', 'masks/005.png']);
  const { pairs, issues } = await findPairs(dir);
  assert.deepEqual(pairs.map((p) => p.id), ['001']);
  assert.deepEqual(issues, [
    { file: join(dir, '002.bmp'), problem: 'no mask found (expected 002.png, 002_mask.png, 002.mask.png or masks/002.png)' },
    { file: join(dir, '003_mask.png'), problem: 'mask without an image (expected 003.bmp, .jpg, .jpeg, .tif, .tiff or .png)' },
    {
      file: join(dir, '004.png'),
      problem: 'no mask found (expected 004_mask.png, 004.mask.png or masks/004.png; if this file is itself a mask, its image 004.bmp is missing)',
    },
    { file: join(dir, 'masks', '005.png'), problem: 'mask without an image (expected 005.bmp, .jpg, .jpeg, .tif, .tiff or .png)' },
  ]);
});

test('duplicates: the first mask rule wins, extra images and masks are reported', async () => {
  const dir = await makeTempDir();
  await touch(dir, ['001.bmp', '001.png', 'masks/001.png', '002.bmp', '002.jpg', '002.png']);
  const { pairs, issues } = await findPairs(dir);
  assert.deepEqual(pairs.map((p) => [p.id, p.imagePath.slice(dir.length + 1), p.maskPath.slice(dir.length + 1)]), [
    ['001', '001.bmp', join('masks', '001.png')],
    ['002', '002.bmp', '002.png'],
  ]);
  assert.deepEqual(issues.map((i) => [i.file.slice(dir.length + 1), i.problem]), [
    ['001.png', 'second mask for 001.bmp (using masks/001.png); remove or rename one'],
    ['002.jpg', 'second image for id 002 (using 002.bmp); remove or rename one'],
  ]);
});

test('ids sort like Python sorted(): by code point', () => {
  const ids = ['b', 'B', '10', '9', 'a\u{1F600}', 'a\uFFFF'];
  assert.deepEqual([...ids].sort(compareCodePoints), ['10', '9', 'B', 'a\uFFFF', 'a\u{1F600}', 'b']);
});
