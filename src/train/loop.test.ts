// Tests for the training loop's augmentation of one square (augmentedSquare): `neighbours` brings in
// images of the square's own source only, the square's own pixels stay where the shift puts them, and
// with the option off the square and the random stream are what they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AugmentConfigSchema, type AugmentConfigInput } from '../data/augment.js';
import { createRng } from '../data/random.js';
import { augmentedSquare, membersBySource, type ArraySet } from './loop.js';

const SIZE = 8;
/** Six squares, each filled with its own value (10, 20, ...); 0-2 from one source, 3-5 from another. */
function set(): ArraySet {
  const pixels = SIZE * SIZE;
  const images = new Uint8Array(6 * pixels * 3);
  const labels = new Uint8Array(6 * pixels);
  for (let i = 0; i < 6; i++) {
    images.fill((i + 1) * 10, i * pixels * 3, (i + 1) * pixels * 3);
    labels.fill(i % 3, i * pixels, (i + 1) * pixels);
  }
  return { images, labels, count: 6, sourceIndex: Uint8Array.from([0, 0, 0, 1, 1, 1]) };
}

// Every other augmentation at its neutral value, so only `neighbours` acts.
const config = (input: AugmentConfigInput) =>
  AugmentConfigSchema.parse({
    enabled: true, flip: false, rotate90: false, rotateDegrees: 0, scale: [1, 1], shift: 0,
    brightness: 0, contrast: 0, saturation: 0, hue: 0, ...input,
  });

test('neighbours shows a square among images of its own source, shifted off its centre', () => {
  const s = set();
  const augment = { config: config({ neighbours: 1, neighbourShift: 0.5 }), rng: createRng(3), sourceMembers: membersBySource(s.sourceIndex, s.count) };
  const seen = new Set<number>();
  for (let draw = 0; draw < 20; draw++) {
    const out = augmentedSquare(s, 4, SIZE, augment);
    const values = new Set(out.image.data);
    for (const v of values) seen.add(v);
    // The square's own pixels are always there (the shift is at most half a side) and keep its label
    // (4 % 3); the neighbours' are background (a neighbour may be the square itself, drawn again).
    let own = 0;
    for (let p = 0; p < SIZE * SIZE; p++) {
      if (out.image.data[p * 3] !== 50) assert.equal(out.mask.data[p], 0);
      else if (out.mask.data[p] === 1) own++;
    }
    assert.ok(own >= (SIZE * SIZE) / 4, `${own} pixels labelled as the square's own`);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [40, 50, 60]);
});

test('with neighbours off the square is itself and the stream is what it was', () => {
  const s = set();
  const members = membersBySource(s.sourceIndex, s.count);
  const off = { config: config({}), rng: createRng(5), sourceMembers: members };
  const out = augmentedSquare(s, 1, SIZE, off);
  assert.deepEqual(out.image.data, s.images.subarray(SIZE * SIZE * 3, 2 * SIZE * SIZE * 3));
  const fresh = createRng(5);
  // augment.ts draws its 14 parameters per pair; nothing else was drawn.
  for (let k = 0; k < 14; k++) fresh();
  assert.equal(off.rng(), fresh());
  assert.deepEqual(members, [[0, 1, 2], [3, 4, 5]]);
});
