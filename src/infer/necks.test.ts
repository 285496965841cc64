// The distance transform on grids worked out by hand and against brute force; the neck split on small
// shapes: what it cuts, that every pixel lands in one connected part, and its argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectedComponents } from './morphology.js';
import { distanceTransform, splitAtNecks } from './necks.js';

/** '#' = 1, anything else = 0; all rows the same length. */
function grid(rows: string[]): { binary: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  const binary = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (binary[y * width + x] = ch === '#' ? 1 : 0)));
  return { binary, width, height: rows.length };
}

const round = (values: Float64Array): number[] => [...values].map((v) => Math.round(v * 1000) / 1000);

test('distance transform: by hand, with the image edge counting as foreground', () => {
  const r2 = Math.round(Math.SQRT2 * 1000) / 1000;
  const cases: { name: string; rows: string[]; expected: number[] }[] = [
    // A 3x3 block in a ring of background: the centre is 2 steps from the ring, the rest 1.
    { name: 'block', rows: ['.....', '.###.', '.###.', '.###.', '.....'], expected: [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0] },
    // One background pixel in the middle: edge pixels 1 away, corners √2 (the outside is not background).
    { name: 'hole', rows: ['###', '#.#', '###'], expected: [r2, 1, r2, 1, 0, 1, r2, 1, r2] },
    // A row between two background pixels.
    { name: 'row', rows: ['.####.'], expected: [0, 1, 2, 2, 1, 0] },
    // Up against the edge: only the background inside the image counts.
    { name: 'edge', rows: ['##.'], expected: [2, 1, 0] },
  ];
  for (const c of cases) {
    const { binary, width, height } = grid(c.rows);
    assert.deepEqual(round(distanceTransform(binary, width, height)), c.expected, c.name);
  }
  assert.deepEqual([...distanceTransform(new Uint8Array(4).fill(1), 2, 2)], [Infinity, Infinity, Infinity, Infinity]);
  assert.throws(() => distanceTransform(new Uint8Array(5), 2, 2), /5 pixels, expected 2x2/);
});

test('distance transform equals brute force on a random 23x17 mask', () => {
  const width = 23;
  const height = 17;
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const binary = Uint8Array.from({ length: width * height }, () => (random() < 0.85 ? 1 : 0));
  const fast = distanceTransform(binary, width, height);
  for (let p = 0; p < binary.length; p++) {
    let best = Infinity;
    for (let q = 0; q < binary.length; q++) {
      if (binary[q] === 0) best = Math.min(best, Math.hypot((p % width) - (q % width), Math.floor(p / width) - Math.floor(q / width)));
    }
    assert.ok(Math.abs(fast[p] - (binary[p] === 0 ? 0 : best)) < 1e-9, `pixel ${p}: ${fast[p]} vs ${best}`);
  }
});

test('splitAtNecks cuts a filament between two blocks, not a wide join, and labels every pixel once', () => {
  // Two 5x5 blocks (peak half-width 3 - 1/2 = 2.5) joined by a 1-px filament (half-width 1/2).
  const filament = grid([
    '.............',
    '.#####.#####.',
    '.#####.#####.',
    '.###########.',
    '.#####.#####.',
    '.#####.#####.',
    '.............',
  ]);
  const parts = splitAtNecks(filament.binary, filament.width, filament.height, 0.75);
  assert.equal(parts.count, 2);
  // The filament's pixel drains into one of the blocks: 25 + 26 pixels.
  assert.deepEqual([...parts.areas].sort((a, b) => a - b), [25, 26]);
  for (let p = 0; p < filament.binary.length; p++) assert.equal(parts.labels[p] > 0, filament.binary[p] === 1, `pixel ${p}`);
  for (let k = 1; k <= parts.count; k++) {
    const part = Uint8Array.from(parts.labels, (label) => (label === k ? 1 : 0));
    assert.equal(connectedComponents(part, filament.width, filament.height).count, 1, `part ${k} is connected`);
  }
  // Half-width 1/2 is 0.2 of the blocks' 2.5: ratio 0.2 keeps them together, 0.21 splits.
  assert.equal(splitAtNecks(filament.binary, filament.width, filament.height, 0.2).count, 1);
  assert.equal(splitAtNecks(filament.binary, filament.width, filament.height, 0.21).count, 2);
  // A 3-px join (rows 2-4 full) has half-width 1.5 = 0.6 of 2.5: split at 0.75, kept at 0.5.
  const wide = grid(['.............', '.#####.#####.', '.###########.', '.###########.', '.###########.', '.#####.#####.', '.............']);
  assert.equal(splitAtNecks(wide.binary, wide.width, wide.height, 0.75).count, 2);
  assert.equal(splitAtNecks(wide.binary, wide.width, wide.height, 0.5).count, 1);
});

test('splitAtNecks gives the same parts in a large image as in a tight one, and at the image edge', () => {
  // The wide join from above; in the 13x7 grid its box plus a ring of background is the whole image,
  // in the 40x30 one only a part, which is all that is flooded. The same parts must come out.
  const cases: { name: string; rows: string[]; left: number }[] = [
    { name: 'ring of background', rows: ['.............', '.#####.#####.', '.###########.', '.###########.', '.###########.', '.#####.#####.', '.............'], left: 17 },
    // Cut by the left edge: no ring there, the outside counting as foreground in both images.
    { name: 'on the left edge', rows: ['............', '#####.#####.', '###########.', '###########.', '###########.', '#####.#####.', '............'], left: 0 },
  ];
  for (const c of cases) {
    const tight = grid(c.rows);
    const expected = splitAtNecks(tight.binary, tight.width, tight.height, 0.75);
    const width = 40;
    const large = new Uint8Array(width * 30);
    for (let y = 0; y < tight.height; y++) large.set(tight.binary.subarray(y * tight.width, (y + 1) * tight.width), (y + 11) * width + c.left);
    const placed = splitAtNecks(large, width, 30, 0.75);
    assert.equal(placed.count, 2, c.name);
    assert.deepEqual(placed.areas, expected.areas, c.name);
    for (let y = 0; y < tight.height; y++) {
      for (let x = 0; x < tight.width; x++) assert.equal(placed.labels[(y + 11) * width + c.left + x], expected.labels[y * tight.width + x], `${c.name}: (${x}, ${y})`);
    }
  }
});

test('splitAtNecks on blocks past maxWorkingArea: the same parts, every pixel labelled, raster order', () => {
  // The filament shape of the first test at 8x: two 40x40 blocks joined by an 8x8 filament (3,264 px).
  const small = grid(['.............', '.#####.#####.', '.#####.#####.', '.###########.', '.#####.#####.', '.#####.#####.', '.............']);
  const width = small.width * 8;
  const height = small.height * 8;
  const big = new Uint8Array(width * height);
  for (let p = 0; p < big.length; p++) big[p] = small.binary[Math.floor(p / width / 8) * small.width + Math.floor((p % width) / 8)];
  for (const maxWorkingArea of [100_000, 400, 60]) {
    // 3,264 px: on the pixels; on 3x3 blocks (ceil √(3264 / 400)); on 8x8 blocks, the first test's own grid.
    const parts = splitAtNecks(big, width, height, 0.75, maxWorkingArea);
    assert.equal(parts.count, 2, `maxWorkingArea ${maxWorkingArea}`);
    assert.equal(parts.areas[0] + parts.areas[1], 3264);
    assert.ok(Math.min(...parts.areas) >= 1600, `maxWorkingArea ${maxWorkingArea}: areas ${parts.areas}`);
    let seen = 0;
    for (let p = 0; p < big.length; p++) {
      assert.equal(parts.labels[p] > 0, big[p] === 1);
      if (parts.labels[p] > seen) assert.equal(parts.labels[p], ++seen, 'parts numbered in raster order of their first pixel');
    }
  }
  assert.throws(() => splitAtNecks(big, width, height, 0.75, 0), /maxWorkingArea must be at least 1 pixel/);
});

test('splitAtNecks: empty, full and separate objects; ratio checked', () => {
  assert.equal(splitAtNecks(new Uint8Array(9), 3, 3, 0.75).count, 0);
  // No background at all: every distance is Infinity and the image is one part.
  assert.deepEqual(splitAtNecks(new Uint8Array(9).fill(1), 3, 3, 0.75).areas, [9]);
  // Parts that do not touch stay apart whatever the ratio; ratio 0 never cuts a connected object.
  const apart = grid(['##..##', '##..##']);
  assert.equal(splitAtNecks(apart.binary, 6, 2, 0).count, 2);
  const bar = grid(['######']);
  assert.equal(splitAtNecks(bar.binary, 6, 1, 0).count, 1);
  for (const bad of [-0.1, 1.5, Number.NaN]) assert.throws(() => splitAtNecks(bar.binary, 6, 1, bad), /neckRatio must be between 0 and 1/);
});
