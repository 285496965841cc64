// Tests for resize.ts: index tables taken from PIL itself, plus small hand-checked resizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestIndexTable, resizeNearest } from './resize.js';

// Source index per output index, printed by PIL 9.4.0 (Debian python3-pil 9.4.0-1.1+deb12u1):
// Image.new('I', (src, 1)) holding 0..src-1, .resize((dst, 1), Image.NEAREST).getdata().
// 128->120, 128->7 and 2->7 differ from floor((i + 0.5) * src / dst) at exact centres (see resize.ts).
const PIL_TABLES: Record<string, number[]> = {
  '120->128': [
    0, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 22, 23, 24, 25, 26, 27, 28, 29,
    30, 31, 32, 33, 34, 35, 36, 37, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 52, 53, 54, 55, 56, 57, 58, 59,
    60, 61, 62, 63, 64, 65, 66, 67, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 82, 83, 84, 85, 86, 87, 88, 89,
    90, 91, 92, 93, 94, 95, 96, 97, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 112, 113, 114, 115, 116, 117, 118, 119,
  ],
  '104->128': [
    0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15, 15, 16, 17, 18, 19, 19, 20, 21, 22, 23, 23, 24, 25,
    26, 27, 28, 28, 29, 30, 31, 32, 32, 33, 34, 35, 36, 36, 37, 38, 39, 40, 41, 41, 42, 43, 44, 45, 45, 46, 47, 48, 49, 49, 50, 51,
    52, 53, 54, 54, 55, 56, 57, 58, 58, 59, 60, 61, 62, 62, 63, 64, 65, 66, 67, 67, 68, 69, 70, 71, 71, 72, 73, 74, 75, 75, 76, 77,
    78, 79, 80, 80, 81, 82, 83, 84, 84, 85, 86, 87, 88, 88, 89, 90, 91, 92, 93, 93, 94, 95, 96, 97, 97, 98, 99, 100, 101, 101, 102, 103,
  ],
  '128->120': [
    0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,
    68, 69, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101,
    102, 103, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 121, 122, 123, 124, 125, 126, 127,
  ],
  '7->128': [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  ],
  '128->7': [9, 27, 45, 63, 82, 100, 118],
  '2->7': [0, 0, 0, 0, 1, 1, 1],
  '3->5': [0, 0, 1, 2, 2],
  '5->3': [0, 2, 4],
};

test('nearestIndexTable matches PIL NEAREST for every reference size', () => {
  for (const [key, expected] of Object.entries(PIL_TABLES)) {
    const [src, dst] = key.split('->').map(Number);
    assert.deepEqual([...nearestIndexTable(src, dst)], expected, key);
  }
});

test('at an exact pixel centre PIL keeps the lower index (accumulated double sum)', () => {
  // 2 -> 7: output 3 samples (3 + 0.5) * 2/7 = 1 exactly, but PIL's running sum is 0.999...
  assert.equal(nearestIndexTable(2, 7)[3], 0);
  assert.equal(Math.floor(3.5 * (2 / 7)), 1);
});

test('same size is the identity; integer upscaling repeats pixels', () => {
  assert.deepEqual([...nearestIndexTable(5, 5)], [0, 1, 2, 3, 4]);
  assert.deepEqual([...nearestIndexTable(2, 4)], [0, 0, 1, 1]);
  assert.deepEqual([...nearestIndexTable(4, 2)], [1, 3]);
});

test('resizeNearest moves whole pixels of every channel and keeps other fields', () => {
  // 2x2 RGB: red green / blue white
  const img = { width: 2, height: 2, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]), tag: 'x' };
  const big = resizeNearest(img, 4, 2, 3);
  assert.equal(big.tag, 'x');
  assert.deepEqual({ w: big.width, h: big.height }, { w: 4, h: 2 });
  assert.deepEqual(
    [...big.data],
    [255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 9, 9, 9, 9, 9, 9],
  );
  const gray = resizeNearest({ width: 3, height: 1, data: Uint8Array.from([1, 2, 3]) }, 1, 2, 1);
  assert.deepEqual([...gray.data], [2, 2]);
  assert.deepEqual([...img.data], [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9], 'input untouched');
});

test('resizeNearest rejects data that does not match the size', () => {
  assert.throws(
    () => resizeNearest({ width: 2, height: 2, data: new Uint8Array(5) }, 4, 4, 1),
    /a 2x2 image with 1 channel\(s\) needs 4 bytes, got 5/,
  );
  assert.throws(() => nearestIndexTable(0, 4), /source must be a positive integer, got 0/);
});
