// Tests for augment-neighbours.ts: the window's pixels come from the right square at the right place,
// neighbours labelled background unless kept, the centre square unchanged at no offset; bad input refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amongNeighbours } from './augment-neighbours.js';
import type { ImageMaskPair } from './types.js';

/** A 4x4 square whose every pixel says which square (k) and where (x, y) it is; its label is k % 3. */
function tagged(k: number, size = 4): ImageMaskPair {
  const image = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  const mask = { width: size, height: size, data: new Uint8Array(size * size).fill(k % 3) };
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) image.data.set([k, x, y], (y * size + x) * 3);
  return { image, mask };
}

const centre = tagged(9);
const around = [0, 1, 2, 3, 5, 6, 7, 8].map((k) => tagged(k));
const pixel = (p: ImageMaskPair, x: number, y: number) => Array.from(p.image.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));

test('at no offset the window is the centre square, pixels and labels', () => {
  const out = amongNeighbours(centre, around, 0, 0);
  assert.deepEqual(out.image.data, centre.image.data);
  assert.deepEqual(out.mask.data, centre.mask.data);
  assert.notEqual(out.image.data, centre.image.data);
});

test('an offset brings in the neighbours on that side, each pixel from its place, labelled background or kept', () => {
  // 1 right and 2 down: columns 0-2 from the centre's columns 1-3, column 3 from the right neighbour's
  // column 0; rows 2-3 from the squares below (bottom: tag 7, bottom-right: tag 8).
  const out = amongNeighbours(centre, around, 1, 2);
  assert.deepEqual(pixel(out, 0, 0), [9, 1, 2]);
  assert.deepEqual(pixel(out, 3, 0), [5, 0, 2]);
  assert.deepEqual(pixel(out, 0, 2), [7, 1, 0]);
  assert.deepEqual(pixel(out, 3, 3), [8, 0, 1]);
  // By default only the centre square's pixels keep their labels, as in a crop.
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.equal(out.mask.data[y * 4 + x], x < 3 && y < 2 ? 9 % 3 : 0);
  const kept = amongNeighbours(centre, around, 1, 2, 'kept');
  assert.deepEqual(kept.image.data, out.image.data);
  assert.equal(kept.mask.data[3 * 4 + 3], 8 % 3);
  assert.equal(kept.mask.data[2 * 4 + 0], 7 % 3);
  assert.equal(kept.mask.data[0], 9 % 3);
  // Up and left: the top-left square.
  assert.deepEqual(pixel(amongNeighbours(centre, around, -1, -1), 0, 0), [0, 3, 3]);
});

test('offsets are limited to half a side, and a wrong number or size of squares is refused', () => {
  assert.deepEqual(amongNeighbours(centre, around, 99, 0).image.data, amongNeighbours(centre, around, 2, 0).image.data);
  assert.throws(() => amongNeighbours(centre, around.slice(1), 0, 0), /needs 8 neighbours, got 7/);
  assert.throws(() => amongNeighbours(centre, [...around.slice(1), tagged(4, 5)], 0, 0), /must be 4x4, got 5x5/);
});
