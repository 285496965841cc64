// Mask clean-up on hand-drawn masks ('.' background, 'c' cytoplasm, 'n' nucleus): which cell is
// kept, stray nucleus removed, holes filled by class, each step switchable, input untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelMask } from '../data/types.js';
import { findMainCell, postprocessMask, type PostprocessOptions } from './postprocess.js';
import { maskFromRows as mask } from '../testing/masks.js';


function show(m: LabelMask): string[] {
  const rows: string[] = [];
  for (let y = 0; y < m.height; y++) rows.push([...m.data.subarray(y * m.width, (y + 1) * m.width)].map((v) => '.cn'[v]).join(''));
  return rows;
}

// Left: a big cytoplasm-only blob (12 px). Middle: the real cell (6 px, 2 nucleus). Right: a
// cytoplasm speck (1 px). Bottom right: a lone nucleus blob (2 px, its own component).
const THREE_BLOBS = [
  'ccc.......',
  'ccc..ccc..',
  'ccc..cnn.c',
  'ccc.......',
  '........nn',
];

test('keeps the component with the most nucleus, drops the rest', () => {
  const input = mask(THREE_BLOBS);
  const before = show(input);
  const { mask: out, cellComponents } = postprocessMask(input);
  assert.equal(cellComponents, 4);
  assert.deepEqual(show(out), ['..........', '.....ccc..', '.....cnn..', '..........', '..........']);
  assert.deepEqual(show(input), before, 'input unchanged');
  assert.notEqual(out.data, input.data);
});

test('main cell: most nucleus; without nucleus the largest; empty -> none', () => {
  // The lone 2-px nucleus blob ties with the real cell on nucleus (2 each); the real cell is larger.
  assert.equal(findMainCell(mask(THREE_BLOBS)).label, 2);
  assert.equal(findMainCell(mask(['c..cc', 'c..cc'])).label, 2);
  assert.equal(findMainCell(mask(['...', '...'])).label, 0);
});

test('constrainNucleus alone removes nucleus outside the main cell, keeps other cytoplasm', () => {
  const { mask: out } = postprocessMask(mask(THREE_BLOBS), { keepLargestCell: false, fillHoles: false });
  assert.deepEqual(show(out), [
    'ccc.......',
    'ccc..ccc..',
    'ccc..cnn.c',
    'ccc.......',
    '..........',
  ]);
});

test('fill holes: inside the nucleus -> nucleus, otherwise cytoplasm', () => {
  const input = mask([
    '..........',
    '.cccccccc.',
    '.c.cnnnnc.',
    '.ccc.n.nc.',
    '.ccnnnnnc.',
    '.cccccccc.',
    '..........',
  ]);
  // (2,2) is ringed by cytoplasm -> c. (6,3) is ringed by nucleus only -> n.
  // (4,3) has nucleus on three sides but cytoplasm at (3,3) -> c.
  assert.deepEqual(show(postprocessMask(input).mask), [
    '..........',
    '.cccccccc.',
    '.cccnnnnc.',
    '.ccccnnnc.',
    '.ccnnnnnc.',
    '.cccccccc.',
    '..........',
  ]);
});

test('each step can be switched off; all off returns an equal copy', () => {
  const input = mask(THREE_BLOBS);
  const off: PostprocessOptions = { keepLargestCell: false, fillHoles: false, constrainNucleus: false };
  const { mask: out, cellComponents } = postprocessMask(input, off);
  assert.deepEqual(show(out), THREE_BLOBS);
  assert.equal(cellComponents, 4);
  const ring = mask(['.....', '.ccc.', '.c.c.', '.ccc.', '.....']);
  assert.deepEqual(show(postprocessMask(ring, { fillHoles: false }).mask), show(ring));
  assert.deepEqual(show(postprocessMask(ring).mask)[2], '.ccc.');
});

test('empty masks and bad masks', () => {
  const { mask: out, cellComponents } = postprocessMask(mask(['...', '...']));
  assert.equal(cellComponents, 0);
  assert.deepEqual(show(out), ['...', '...']);
  assert.throws(() => postprocessMask({ width: 2, height: 2, data: new Uint8Array(3) }), /3 pixels, expected 2x2/);
  assert.throws(() => postprocessMask({ width: 1, height: 1, data: new Uint8Array([3]) }), /class 3/);
});

test('openCellRadius cuts debris joined to the cell by a thin neck; off by default', () => {
  const m = mask([
    '...............',
    '.ccccccc.......',
    '.ccccccc.......',
    '.ccnnncc.......',
    '.ccnnnccccccc..',
    '.ccnnncc..ccc..',
    '.ccccccc..ccc..',
    '.ccccccc.......',
    '...............',
  ]);
  // Without the opening the debris at the right is part of the same 8-connected component.
  assert.deepEqual(show(postprocessMask(m).mask), show(m));
  const opened = postprocessMask(m, { openCellRadius: 1 }).mask;
  const at = (x: number, y: number) => opened.data[y * m.width + x];
  // The debris block (x 10..12, y 4..6) and the neck's far end are gone (its first pixel, against the
  // cell's edge, survives the opening)...
  for (let y = 4; y <= 6; y++) for (let x = 10; x <= 12; x++) assert.equal(at(x, y), 0, `debris at ${x},${y}`);
  assert.equal(at(9, 4), 0);
  // ...while the cell keeps its nucleus and the body of its cytoplasm (the opening only rounds corners).
  for (let y = 3; y <= 5; y++) for (let x = 3; x <= 5; x++) assert.equal(at(x, y), 2);
  for (let y = 2; y <= 6; y++) for (const x of [2, 6]) assert.equal(at(x, y), 1, `cytoplasm at ${x},${y}`);
});
