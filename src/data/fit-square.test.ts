// Tests for fit-square.ts: where the content lands, exact pixels of padded tiny grids (reflection as
// numpy.pad(..., 'reflect') gives it, the edge fallback, odd margins), shrinking of grids larger than
// the square, masks with one channel, and 'stretch' being the study's resize unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitMaskToSquare, fitToSquare, paddingIndexTable, placement } from './fit-square.js';
import { resizeNearest } from './resize.js';
import { resizeLabelsSmooth, resizeSmooth } from './resample.js';

/** A one-channel grid from rows of values. */
function grid(rows: number[][]) {
  return { width: rows[0].length, height: rows.length, data: Uint8Array.from(rows.flat()) };
}

/** The grid's rows as arrays, `channels` values per pixel flattened. */
function rowsOf(g: { width: number; height: number; data: Uint8Array }, channels = 1): number[][] {
  const stride = g.width * channels;
  return Array.from({ length: g.height }, (_, y) => [...g.data.slice(y * stride, (y + 1) * stride)]);
}

test('placement: stretch fills the square; pad centres the image at its own size, odd margins extra on the right/bottom', () => {
  assert.deepEqual(placement(120, 104, 128, 'stretch'), { x: 0, y: 0, width: 128, height: 128 });
  assert.deepEqual(placement(120, 120, 128, 'pad'), { x: 4, y: 4, width: 120, height: 120 });
  assert.deepEqual(placement(104, 120, 128, 'pad'), { x: 12, y: 4, width: 104, height: 120 });
  assert.deepEqual(placement(117, 128, 128, 'pad'), { x: 5, y: 0, width: 117, height: 128 }); // 11 = 5 left + 6 right
  assert.deepEqual(placement(3, 2, 5, 'pad'), { x: 1, y: 1, width: 3, height: 2 });
});

test('placement: a side longer than the square is shrunk to it, keeping the aspect ratio', () => {
  // 100 * 128 / 140 = 91.43 -> 91; the 37 px of margin split 18 left, 19 right.
  assert.deepEqual(placement(100, 140, 128, 'pad'), { x: 18, y: 0, width: 91, height: 128 });
  assert.deepEqual(placement(256, 128, 128, 'pad'), { x: 0, y: 32, width: 128, height: 64 });
  assert.deepEqual(placement(8, 4, 4, 'pad'), { x: 0, y: 1, width: 4, height: 2 });
  assert.deepEqual(placement(1000, 3, 16, 'pad'), { x: 0, y: 7, width: 16, height: 1 }, 'a side never shrinks to 0');
});

test('placement refuses sizes that are not positive integers and unknown fits', () => {
  assert.throws(() => placement(0, 5, 8, 'pad'), /placement: width must be a positive integer, got 0/);
  assert.throws(() => placement(5, 5, 7.5, 'pad'), /size must be a positive integer/);
  assert.throws(() => placement(5, 5, 8, 'crop' as 'pad'), /fit must be one of stretch, pad, pad-smooth, got 'crop'/);
});

test("paddingIndexTable reflects like numpy.pad(..., 'reflect'), without repeating the edge pixel", () => {
  // np.pad(np.arange(5), (3, 4), 'reflect') -> [3 2 1 0 1 2 3 4 3 2 1 0]: margins up to n - 1 reflect.
  assert.deepEqual([...paddingIndexTable(5, 3, 12)], [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0]);
  // np.pad(np.arange(5), (1, 2), 'reflect') -> [1 0 1 2 3 4 3 2]
  assert.deepEqual([...paddingIndexTable(5, 1, 8)], [1, 0, 1, 2, 3, 4, 3, 2]);
  assert.deepEqual([...paddingIndexTable(4, 0, 4)], [0, 1, 2, 3], 'no margin: the content itself');
});

test('paddingIndexTable repeats the edge pixels when a margin is wider than reflection allows', () => {
  // 3 px of content, 3 px margin after it: reflection reaches only 2, so the whole axis uses the edge.
  assert.deepEqual([...paddingIndexTable(3, 1, 7)], [0, 0, 1, 2, 2, 2, 2]);
  assert.deepEqual([...paddingIndexTable(1, 2, 5)], [0, 0, 0, 0, 0], 'a single pixel cannot be reflected');
  assert.throws(() => paddingIndexTable(5, 2, 6), /content of 5 at 2 does not fit in 6/);
});

test('fitToSquare pad: exact pixels of a 3x2 grid in a 5x5 square (columns reflected, rows edge-replicated)', () => {
  const padded = fitToSquare(grid([[1, 2, 3], [4, 5, 6]]), 5, 1, 'pad');
  // Columns: margin 1 | 1, reflected. Rows: margin 1 | 2 > 2 - 1, so edge rows repeat.
  assert.deepEqual(rowsOf(padded), [
    [2, 1, 2, 3, 2],
    [2, 1, 2, 3, 2],
    [5, 4, 5, 6, 5],
    [5, 4, 5, 6, 5],
    [5, 4, 5, 6, 5],
  ]);
  assert.deepEqual([padded.width, padded.height], [5, 5]);
});

test('fitToSquare pad moves whole RGB pixels, and the image and its mask land in the same place', () => {
  const rgb = { width: 2, height: 2, data: Uint8Array.from([10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42]) };
  const padded = fitToSquare(rgb, 4, 3, 'pad'); // margins 1 | 1 on both axes: reflected
  assert.deepEqual(rowsOf(padded, 3), [
    [40, 41, 42, 30, 31, 32, 40, 41, 42, 30, 31, 32],
    [20, 21, 22, 10, 11, 12, 20, 21, 22, 10, 11, 12],
    [40, 41, 42, 30, 31, 32, 40, 41, 42, 30, 31, 32],
    [20, 21, 22, 10, 11, 12, 20, 21, 22, 10, 11, 12],
  ]);
  const mask = fitToSquare(grid([[0, 1], [2, 0]]), 4, 1, 'pad');
  assert.deepEqual(rowsOf(mask), [[0, 2, 0, 2], [1, 0, 1, 0], [0, 2, 0, 2], [1, 0, 1, 0]]);
});

test('fitToSquare pad keeps the content pixel for pixel: the placement cut out of the square is the input', () => {
  const width = 7;
  const height = 5;
  const input = { width, height, data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 251) };
  const size = 11;
  const padded = fitToSquare(input, size, 3, 'pad');
  const where = placement(width, height, size, 'pad');
  assert.deepEqual(where, { x: 2, y: 3, width, height });
  for (let y = 0; y < height; y++) {
    const start = ((where.y + y) * size + where.x) * 3;
    assert.deepEqual([...padded.data.slice(start, start + width * 3)], [...input.data.slice(y * width * 3, (y + 1) * width * 3)], `row ${y}`);
  }
});

test('fitToSquare pad shrinks a grid larger than the square with the nearest rule, then pads it', () => {
  const big = grid([
    [1, 2, 3, 4, 5, 6, 7, 8],
    [9, 10, 11, 12, 13, 14, 15, 16],
    [17, 18, 19, 20, 21, 22, 23, 24],
    [25, 26, 27, 28, 29, 30, 31, 32],
  ]);
  const small = resizeNearest(big, 4, 2, 1); // what the content becomes: rows 1 and 3, columns 1, 3, 5, 7
  assert.deepEqual(rowsOf(small), [[10, 12, 14, 16], [26, 28, 30, 32]]);
  // 4x2 content at y = 1 in a 4x4 square, rows reflected (margins 1 | 1).
  assert.deepEqual(rowsOf(fitToSquare(big, 4, 1, 'pad')), [
    [26, 28, 30, 32],
    [10, 12, 14, 16],
    [26, 28, 30, 32],
    [10, 12, 14, 16],
  ]);
});

test("fitToSquare pad-smooth: a grid that fits is padded exactly as 'pad' pads it; a larger one is shrunk by resizeSmooth", () => {
  const small = { width: 11, height: 7, data: Uint8Array.from({ length: 11 * 7 * 3 }, (_, i) => (i * 37) % 256) };
  assert.deepEqual(fitToSquare(small, 16, 3, 'pad-smooth'), fitToSquare(small, 16, 3, 'pad'));
  assert.deepEqual(fitMaskToSquare(grid([[0, 1, 2], [2, 1, 0]]), 5, 'pad-smooth', 3), fitToSquare(grid([[0, 1, 2], [2, 1, 0]]), 5, 1, 'pad'));
  // Columns alternating 0 and 240 (8x4, to a 4x4 square: content 4x2): averaging gives grey, not one of the two.
  const stripes = grid(Array.from({ length: 4 }, () => [0, 240, 0, 240, 0, 240, 0, 240]));
  const shrunk = resizeSmooth(stripes, 4, 2, 1);
  assert.ok([...shrunk.data].every((v) => v > 60 && v < 180), `averaged: ${[...shrunk.data]}`);
  assert.deepEqual(rowsOf(fitToSquare(stripes, 4, 1, 'pad-smooth')), [rowsOf(shrunk)[1], ...rowsOf(shrunk), rowsOf(shrunk)[0]]);
  assert.deepEqual(rowsOf(fitToSquare(stripes, 4, 1, 'pad')), Array.from({ length: 4 }, () => [240, 240, 240, 240]), 'nearest picks one of the two');
});

test("fitMaskToSquare pad-smooth gives each model pixel the class most of its pixels have (the filter's weights), ties to the lower", () => {
  // 6 -> 3 columns: output 0 weighs source 0, 1, 2 by 0.75, 0.75, 0.25 (triangle of radius 2 at 1.0).
  const mask = grid(Array.from({ length: 6 }, () => [0, 0, 1, 1, 2, 2]));
  assert.deepEqual(rowsOf(resizeLabelsSmooth(mask, 3, 3, 3)), [[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
  // A one-pixel line of nucleus is a minority in every model pixel it crosses: it goes, where nearest may keep it.
  const line = grid(Array.from({ length: 6 }, () => [1, 1, 1, 2, 1, 1]));
  assert.deepEqual(rowsOf(resizeLabelsSmooth(line, 3, 3, 3)), [[1, 1, 1], [1, 1, 1], [1, 1, 1]]);
  // Two classes of equal share: the lower one.
  assert.deepEqual([...resizeLabelsSmooth(grid([[2, 1]]), 1, 1, 3).data], [1]);
  assert.deepEqual(fitMaskToSquare(mask, 4, 'pad-smooth', 3), resizeLabelsSmooth(mask, 4, 4, 3), 'a 6x6 mask fills the 4x4 square once shrunk');
  assert.throws(() => resizeLabelsSmooth(grid([[0, 3]]), 1, 1, 3), /pixel 1 has class 3, expected 0\.\.2/);
});

test("fitToSquare stretch is the study's nearest-neighbour resize; bad buffers are refused", () => {
  const g = grid([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(fitToSquare(g, 5, 1, 'stretch'), resizeNearest(g, 5, 5, 1));
  const tagged = { ...g, id: 'keep' };
  assert.equal(fitToSquare(tagged, 4, 1, 'pad').id, 'keep', 'other fields are kept, as resizeNearest does');
  assert.throws(() => fitToSquare({ width: 2, height: 2, data: new Uint8Array(5) }, 4, 1, 'pad'), /a 2x2 grid with 1 channel\(s\) needs 4 bytes, got 5/);
  assert.throws(() => fitToSquare(g, 4, 0, 'pad'), /channel count must be a positive integer/);
});
