// The crop around the cell: where the square lies, mirrored pixels beyond the image's edge, the main
// cell alone in the crop's mask, and the smooth resize that keeps a crop's colour; then the features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelMask, RgbImage } from '../data/types.js';
import { resizeSmooth } from '../data/resample.js';
import { measureCell } from '../infer/morphometrics.js';
import { cellBox, cellCrop, cutBox } from './crop.js';
import { cellFeatures, FEATURE_NAMES } from './features.js';
import { prepareCell } from './prepare.js';

/** A w x h mask with a filled rectangle of cytoplasm and a nucleus rectangle inside it. */
function rectangles(w: number, h: number, cell: [number, number, number, number], nucleus: [number, number, number, number]): LabelMask {
  const data = new Uint8Array(w * h);
  const fill = ([x0, y0, x1, y1]: number[], v: number) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = v;
  };
  fill(cell, 1);
  fill(nucleus, 2);
  return { width: w, height: h, data };
}

function uniform(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let p = 0; p < w * h; p++) data.set(rgb, p * 3);
  return { width: w, height: h, data };
}

test('the square is centred on the main cell with the margin, and null without a cell', () => {
  // Cell 20x10 at (10, 30); side = 20 * (1 + 2 * 0.25) = 30, centre (20, 35).
  const mask = rectangles(100, 80, [10, 30, 30, 40], [15, 32, 20, 37]);
  assert.deepEqual(cellBox(mask, 0.25)!.box, { x: 5, y: 20, side: 30 });
  assert.equal(cellBox({ width: 4, height: 4, data: new Uint8Array(16) }, 0.1), null);
  // A second, nucleus-free blob is not the main cell and stays out of the crop's mask.
  const two = rectangles(40, 40, [2, 2, 12, 12], [4, 4, 8, 8]);
  for (let y = 30; y < 38; y++) for (let x = 30; x < 38; x++) two.data[y * 40 + x] = 1;
  const crop = cellCrop(uniform(40, 40, [200, 100, 50]), two, { size: 16, margin: 0 })!;
  assert.deepEqual(crop.box, { x: 2, y: 2, side: 10 });
  assert.equal(crop.mask.data.length, 256);
  assert.ok(crop.mask.data.includes(2) && crop.mask.data.includes(1));
});

test('beyond the image the crop mirrors it (numpy reflect), repeating the edge when too far', () => {
  const row = { width: 4, height: 1, data: Uint8Array.from([10, 20, 30, 40]) };
  assert.deepEqual([...cutBox(row, { x: -2, y: 0, side: 8 }, 1).data.slice(0, 8)], [30, 20, 10, 20, 30, 40, 30, 20]);
  assert.deepEqual([...cutBox(row, { x: 2, y: 0, side: 1 }, 1).data], [30]);
  assert.deepEqual([...cutBox(row, { x: -9, y: 0, side: 3 }, 1).data.slice(0, 3)], [40, 40, 40]);
});

test('smooth resizing keeps a flat colour and a mean colour, and every output pixel is set', () => {
  const flat = resizeSmooth(uniform(300, 300, [180, 90, 200]), 64, 64, 3);
  assert.ok(flat.data.every((v, i) => v === [180, 90, 200][i % 3]));
  // Vertical stripes 0/255, one pixel each: shrunk 4x they average to mid-gray, not to one of them
  // (away from the edges, where the filter is cut short).
  const stripes = { width: 64, height: 8, data: Uint8Array.from({ length: 64 * 8 }, (_, i) => (i % 2 ? 255 : 0)) };
  const small = resizeSmooth(stripes, 16, 2, 1);
  const inner = [...small.data].filter((_, i) => i % 16 !== 0 && i % 16 !== 15);
  assert.ok(inner.every((v) => Math.abs(v - 127.5) <= 1), `${[...small.data]}`);
  const up = resizeSmooth({ width: 2, height: 1, data: Uint8Array.from([0, 200]) }, 4, 1, 1);
  assert.deepEqual([...up.data], [0, 50, 150, 200]);
  assert.throws(() => resizeSmooth(flat, 0, 4, 3), /width must be a positive integer/);
});

test('features: N:C, lobes, shape, nucleus solidity and optical densities against the white background', () => {
  const mask = rectangles(40, 40, [10, 10, 30, 30], [15, 15, 25, 25]);
  const image = uniform(40, 40, [240, 240, 240]);
  for (let p = 0; p < 1600; p++) {
    if (mask.data[p] === 2) image.data.set([24, 24, 240], p * 3); // nucleus: absorbs red and green
    if (mask.data[p] === 1) image.data.set([240, 120, 240], p * 3);
  }
  const stats = measureCell(mask);
  const cell = Uint8Array.from(mask.data, (v) => (v > 0 ? 1 : 0));
  const f = cellFeatures(image, mask, stats, cell)!;
  const at = (name: (typeof FEATURE_NAMES)[number]) => f[FEATURE_NAMES.indexOf(name)];
  assert.equal(f.length, FEATURE_NAMES.length);
  assert.ok(Math.abs(at('nucleusCellRatio') - 100 / 400) < 1e-6);
  assert.equal(at('nucleusLobes'), 1);
  assert.equal(at('nucleusSolidity'), 1);
  assert.ok(Math.abs(at('nucleusOdRed') - -Math.log10(25 / 241)) < 1e-5);
  assert.ok(Math.abs(at('nucleusOdBlue')) < 1e-6);
  assert.ok(Math.abs(at('cytoplasmOdGreen') - -Math.log10(121 / 241)) < 1e-5);
  // No nucleus: nothing to type.
  const noNucleus = rectangles(40, 40, [10, 10, 30, 30], [0, 0, 0, 0]);
  assert.equal(prepareCell(image, noNucleus, { size: 16, margin: 0.1 }), null);
  // No cytoplasm: the cytoplasm's stain is unmeasured (NaN), the rest is there.
  const bare = rectangles(40, 40, [15, 15, 25, 25], [15, 15, 25, 25]);
  const g = prepareCell(image, bare, { size: 16, margin: 0.1 })!;
  assert.ok(Number.isNaN(g.features[FEATURE_NAMES.indexOf('cytoplasmOdRed')]));
  assert.ok(Number.isFinite(g.features[FEATURE_NAMES.indexOf('nucleusOdRed')]));
});
