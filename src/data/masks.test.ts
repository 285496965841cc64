// Tests for masks.ts on hand-computed gray levels: exact, stray (near a level) and far (unknown) pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLevels, grayFromLabels, labelsFromGray, nearestClassTable, oneHot } from './masks.js';

const gray = (values: number[]) => ({ width: values.length, height: 1, data: Uint8Array.from(values) });

test('exact levels map to classes 0/1/2 with nothing counted', () => {
  const r = labelsFromGray(gray([0, 128, 255, 255]));
  assert.deepEqual([...r.mask.data], [0, 1, 2, 2]);
  assert.deepEqual({ stray: r.strayPixels, far: r.farPixels, levels: r.farLevels }, { stray: 0, far: 0, levels: [] });
});

test('levels within maxDistance are moved and counted as stray; farther ones are far', () => {
  //                         exact   stray: 10->0, 140->1, 250->2, 96->1 (32 away)   far: 37, 64 (twice), 200
  const r = labelsFromGray(gray([0, 128, 10, 140, 250, 96, 37, 64, 64, 200]));
  assert.deepEqual([...r.mask.data], [0, 1, 0, 1, 2, 1, 0, 0, 0, 2]);
  assert.equal(r.strayPixels, 4);
  assert.equal(r.farPixels, 4);
  assert.deepEqual(r.farLevels, [37, 64, 200]);
});

test('maxDistance 0 makes every inexact level far; 127 makes every level stray', () => {
  const values = [0, 1, 127, 129, 191, 192, 254];
  const strict = labelsFromGray(gray(values), { maxDistance: 0 });
  assert.deepEqual(strict.farLevels, [1, 127, 129, 191, 192, 254]);
  const loose = labelsFromGray(gray(values), { maxDistance: 127 });
  assert.deepEqual({ stray: loose.strayPixels, far: loose.farPixels }, { stray: 6, far: 0 });
  assert.deepEqual([...loose.mask.data], [0, 0, 1, 1, 1, 2, 2]);
  assert.throws(() => labelsFromGray(gray([0]), { maxDistance: 200 }), /maxDistance must be between 0 and 127 gray levels, got 200/);
});

test('the midpoint 64 goes to the lower class; 191 and 192 split between cytoplasm and nucleus', () => {
  const table = nearestClassTable();
  assert.deepEqual([table[63], table[64], table[65], table[191], table[192]], [0, 0, 1, 1, 2]);
});

test('labelsFromGray rejects data of the wrong length', () => {
  assert.throws(() => labelsFromGray({ width: 2, height: 2, data: new Uint8Array(3) }), /2x2 mask needs 4 bytes, got 3/);
});

test('grayFromLabels inverts the mapping and rejects unknown classes', () => {
  assert.deepEqual([...grayFromLabels({ width: 3, height: 1, data: Uint8Array.from([2, 0, 1]) })], [255, 0, 128]);
  assert.throws(() => grayFromLabels({ width: 1, height: 1, data: Uint8Array.from([3]) }), /pixel 0 has class 3, expected 0\.\.2/);
});

test('oneHot writes one 1 per pixel, pixel-major', () => {
  assert.deepEqual([...oneHot(Uint8Array.from([2, 0, 1]), 3)], [0, 0, 1, 1, 0, 0, 0, 1, 0]);
  assert.deepEqual([...oneHot(new Uint8Array(0), 3)], []);
  assert.throws(() => oneHot(Uint8Array.from([0, 3]), 3), /label 3 at index 1 is not below numClasses 3/);
});

test('formatLevels shortens long lists', () => {
  assert.equal(formatLevels([37, 64]), '37, 64');
  assert.equal(formatLevels([1, 2, 3, 4], 2), '1, 2 and 2 more');
});
