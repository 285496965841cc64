// Binary morphology on small hand-drawn masks whose answers are worked out in the comments,
// plus a large digital disk for the perimeter estimator's circularity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectedComponents, convexHullArea, dilate, DIAGONAL_STEP_WEIGHT, erode, fillHoles, open, perimeter, STRAIGHT_STEP_WEIGHT } from './morphology.js';

interface Binary {
  binary: Uint8Array;
  width: number;
  height: number;
}

/** '#' = 1, anything else = 0; all rows the same length. */
function grid(rows: string[]): Binary {
  const width = rows[0].length;
  const height = rows.length;
  const binary = new Uint8Array(width * height);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (binary[y * width + x] = ch === '#' ? 1 : 0)));
  return { binary, width, height };
}

function show(binary: Uint8Array, width: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < binary.length / width; y++) rows.push([...binary.subarray(y * width, (y + 1) * width)].map((v) => (v ? '#' : '.')).join(''));
  return rows;
}

function disk(radius: number, size: number, centre: number): Binary {
  const binary = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) binary[y * size + x] = (x - centre) ** 2 + (y - centre) ** 2 <= radius * radius ? 1 : 0;
  return { binary, width: size, height: size };
}

const area = (binary: Uint8Array): number => binary.reduce((sum, v) => sum + v, 0);

test('connected components: 4- vs 8-connectivity', () => {
  const cases: { name: string; rows: string[]; four: number[]; eight: number[] }[] = [
    // An X: five pixels touching only at corners -> five 4-components, one 8-component.
    { name: 'x', rows: ['#.#', '.#.', '#.#'], four: [1, 1, 1, 1, 1], eight: [5] },
    // Two bars apart: two components either way; areas in raster order of the first pixel.
    { name: 'bars', rows: ['##..', '....', '.###'], four: [2, 3], eight: [2, 3] },
    { name: 'empty', rows: ['...', '...'], four: [], eight: [] },
  ];
  for (const c of cases) {
    const { binary, width, height } = grid(c.rows);
    const four = connectedComponents(binary, width, height, 4);
    const eight = connectedComponents(binary, width, height);
    assert.deepEqual(four.areas, c.four, c.name);
    assert.equal(four.count, c.four.length, c.name);
    assert.deepEqual(eight.areas, c.eight, c.name);
  }
  const { binary, width, height } = grid(['##..', '....', '.###']);
  assert.deepEqual([...connectedComponents(binary, width, height).labels], [1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
});

test('fillHoles fills only background that cannot reach the border (4-connected)', () => {
  const cases: { name: string; rows: string[]; expected: string[] }[] = [
    { name: 'ring', rows: ['.....', '.###.', '.#.#.', '.###.', '.....'], expected: ['.....', '.###.', '.###.', '.###.', '.....'] },
    // Corners missing: the inside touches the outside only diagonally, which background may not cross.
    { name: 'diagonal gaps', rows: ['.##.', '#..#', '#..#', '.##.'], expected: ['.##.', '####', '####', '.##.'] },
    // Opening onto the image edge: not a hole.
    { name: 'open to the border', rows: ['###', '#..', '###'], expected: ['###', '#..', '###'] },
    // A gap in the wall joins the inside to the outside.
    { name: 'broken ring', rows: ['.....', '.#.#.', '.#.#.', '.###.', '.....'], expected: ['.....', '.#.#.', '.#.#.', '.###.', '.....'] },
  ];
  for (const c of cases) {
    const { binary, width, height } = grid(c.rows);
    assert.deepEqual(show(fillHoles(binary, width, height), width), c.expected, c.name);
  }
});

test('erode and dilate use a digital disk (radius 1 = cross), the image edge never erodes', () => {
  const dot = grid(['.....', '.....', '..#..', '.....', '.....']);
  assert.deepEqual(show(dilate(dot.binary, 5, 5, 1), 5), ['.....', '..#..', '.###.', '..#..', '.....']);
  // Radius 2: rows of half-width 0, 1, 2, 1, 0 -> 1 + 3 + 5 + 3 + 1 = 13 pixels.
  assert.deepEqual(show(dilate(dot.binary, 5, 5, 2), 5), ['..#..', '.###.', '#####', '.###.', '..#..']);
  const square = grid(['.....', '.###.', '.###.', '.###.', '.....']);
  assert.deepEqual(show(erode(square.binary, 5, 5, 1), 5), ['.....', '.....', '..#..', '.....', '.....']);
  // Outside counts as foreground for erosion: a full image stays full, a bar on the edge keeps its edge row.
  assert.equal(area(erode(new Uint8Array(16).fill(1), 4, 4, 1)), 16);
  assert.deepEqual(show(erode(grid(['####', '####', '....']).binary, 4, 3, 1), 4), ['####', '....', '....']);
  assert.deepEqual(show(erode(dot.binary, 5, 5, 0), 5), show(dot.binary, 5));
  assert.throws(() => erode(dot.binary, 5, 5, 1.5), /radius/);
  assert.throws(() => dilate(dot.binary, 4, 5, 1), /25 pixels, expected 4x5/);
});

test('opening cuts a 1-px bridge: two lobes, and keeps blocks otherwise', () => {
  const { binary, width, height } = grid([
    '...........',
    '.###...###.',
    '.###...###.',
    '.#########.',
    '.###...###.',
    '.###...###.',
    '...........',
  ]);
  assert.equal(connectedComponents(binary, width, height).count, 1);
  const opened = open(binary, width, height, 1);
  // Each 3x5 block erodes by the cross to its middle column (3) plus the pixel where the bridge joins
  // (its 4 neighbours are set); growing back gives the block minus its 4 corners (11) plus the
  // bridge's first pixel = 12. The bridge's middle pixel has no vertical neighbours and is gone.
  assert.deepEqual(connectedComponents(opened, width, height).areas, [12, 12]);
  assert.equal(area(open(binary, width, height, 0)), area(binary));
});

test('perimeter: bit-quad contour with Kulpa weights', () => {
  const half = DIAGONAL_STEP_WEIGHT / 2;
  const cases: { name: string; rows: string[]; straight: number; halfDiagonals: number }[] = [
    // A lone pixel: four 2x2 windows with one pixel set -> a diamond of 4 half-diagonals.
    { name: 'pixel', rows: ['...', '.#.', '...'], straight: 0, halfDiagonals: 4 },
    // An n x n square: 4(n - 1) straight steps along the sides, 4 half-diagonals at the corners.
    { name: '3x3 square', rows: ['.....', '.###.', '.###.', '.###.', '.....'], straight: 8, halfDiagonals: 4 },
    // Diagonal pair: each pixel's 3 own windows hold one set pixel (3 + 3); the shared window holds
    // the diagonal pair and is cut twice (2) -> 8.
    { name: 'diagonal pair', rows: ['#.', '.#'], straight: 0, halfDiagonals: 8 },
    // A ring adds its hole: outer 3x3 as above, inner hole a diamond of 4 half-diagonals.
    { name: 'ring', rows: ['###', '#.#', '###'], straight: 8, halfDiagonals: 8 },
    { name: 'empty', rows: ['..', '..'], straight: 0, halfDiagonals: 0 },
  ];
  for (const c of cases) {
    const { binary, width, height } = grid(c.rows);
    const expected = c.straight * STRAIGHT_STEP_WEIGHT + c.halfDiagonals * half;
    assert.ok(Math.abs(perimeter(binary, width, height) - expected) < 1e-9, `${c.name}: ${perimeter(binary, width, height)} vs ${expected}`);
  }
});

test('a radius-40 digital disk has circularity 4πA/P² close to 1', () => {
  for (const centre of [50, 50.5, 50.3]) {
    const { binary, width, height } = disk(40, 101, centre);
    const a = area(binary);
    const p = perimeter(binary, width, height);
    const circularity = (4 * Math.PI * a) / (p * p);
    assert.ok(circularity > 0.9 && circularity < 1.1, `centre ${centre}: circularity ${circularity}`);
    // Measured 0.987..1.000 for these centres; the plain 1/√2 weights would give ~0.89.
    assert.ok(Math.abs(circularity - 1) < 0.03, `centre ${centre}: circularity ${circularity}`);
  }
});

test('convex hull of pixel corners: rectangles exactly, L shape and diagonal by hand', () => {
  const cases: { name: string; rows: string[]; hull: number; area: number }[] = [
    { name: 'square', rows: ['......', '.####.', '.####.', '.####.', '.####.', '......'], hull: 16, area: 16 },
    { name: 'rectangle', rows: ['#####', '#####', '#####'], hull: 15, area: 15 },
    { name: 'pixel', rows: ['.#'], hull: 1, area: 1 },
    // Corners of the L: hull (0,0) (1,0) (3,2) (3,3) (0,3); shoelace: (0 + 2 + 3 + 9 + 0) / 2 = 7.
    { name: 'L', rows: ['#..', '#..', '###'], hull: 7, area: 5 },
    // Two diagonal pixels: the 2x2 box minus two corner triangles of 1/2 = 3.
    { name: 'diagonal', rows: ['#.', '.#'], hull: 3, area: 2 },
    { name: 'empty', rows: ['..'], hull: 0, area: 0 },
  ];
  for (const c of cases) {
    const { binary, width, height } = grid(c.rows);
    assert.equal(convexHullArea(binary, width, height), c.hull, c.name);
    assert.equal(area(binary), c.area, c.name);
  }
  // Solidity of the L: 5 / 7.
  const l = grid(['#..', '#..', '###']);
  assert.equal(area(l.binary) / convexHullArea(l.binary, 3, 3), 5 / 7);
});
