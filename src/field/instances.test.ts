// White cells as objects on drawn working-scale masks: separate and touching cells come apart, a
// cell whose lobes seed it several times stays one, red cells (cytoplasm without nucleus) and
// specks are no cells, and cells are numbered in reading order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelMask } from '../data/types.js';
import { findInstances, instanceLimits, readingOrder, type InstanceLimits } from './instances.js';

const LIMITS: InstanceLimits = { lobeJoinRadius: 1, minNucleusArea: 4, minCellArea: 30, mergeContact: 0.5 };

/** A width x height mask painted with disks: [cx, cy, r, class]. Later disks paint over earlier ones. */
function disks(width: number, height: number, shapes: Array<[number, number, number, 1 | 2]>): LabelMask {
  const data = new Uint8Array(width * height);
  for (const [cx, cy, r, c] of shapes) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) data[y * width + x] = c;
  }
  return { width, height, data };
}

function labelsOf(mask: LabelMask, limits = LIMITS) {
  const found = findInstances(mask, limits);
  const at = (x: number, y: number) => found.labels[y * mask.width + x];
  return { found, at };
}

test('two cells apart are two, numbered left to right in their row; each nucleus seeds its own', () => {
  const mask = disks(60, 30, [[15, 15, 10, 1], [15, 15, 4, 2], [45, 14, 10, 1], [45, 14, 4, 2]]);
  const { found, at } = labelsOf(mask);
  assert.equal(found.cells.length, 2);
  assert.deepEqual([at(15, 15), at(45, 14), at(15, 24), at(0, 0)], [1, 2, 1, 0]);
  assert.deepEqual(found.cells.map((c) => [Math.round(c.centroidX), Math.round(c.centroidY)]), [[15, 15], [45, 14]]);
  assert.deepEqual([found.cells[0].x0, found.cells[0].y0, found.cells[0].x1, found.cells[0].y1], [5, 5, 26, 26]);
});

test('touching cells come apart along the line between their nuclei; a neck is no reason to merge', () => {
  // Two cells of radius 11 whose centres are 20 apart overlap in a narrow lens.
  const mask = disks(60, 30, [[18, 15, 11, 1], [38, 15, 11, 1], [16, 15, 4, 2], [40, 15, 4, 2]]);
  const { found, at } = labelsOf(mask);
  assert.equal(found.cells.length, 2);
  assert.deepEqual([at(10, 15), at(25, 15), at(31, 15), at(47, 15)], [1, 1, 2, 2]);
  const areas = found.cells.map((c) => c.area);
  assert.ok(Math.abs(areas[0] - areas[1]) <= 0.05 * areas[0], `areas ${areas}: split in the middle`);
});

test('a cell whose three lobes each seed it (gaps wider than the join radius) stays one cell', () => {
  const shapes: Array<[number, number, number, 1 | 2]> = [[25, 25, 13, 1]];
  for (let k = 0; k < 3; k++) shapes.push([25 + 7 * Math.cos((2 * Math.PI * k) / 3), 25 + 7 * Math.sin((2 * Math.PI * k) / 3), 2.6, 2]);
  const { found } = labelsOf(disks(50, 50, shapes));
  assert.equal(found.cells.length, 1);
  assert.equal(found.cells[0].nucleusArea, disks(50, 50, shapes).data.filter((v) => v === 2).length);
  // Without merging, the same mask gives three parts: the merge is what keeps it one.
  assert.equal(findInstances(disks(50, 50, shapes), { ...LIMITS, mergeContact: 10 }).cells.length, 3);
});

test('cytoplasm without a nucleus, a nucleus speck and a tiny cell are no cells', () => {
  const mask = disks(80, 30, [
    [12, 15, 10, 1], // a red cell taken for cytoplasm
    [40, 15, 10, 1], [40, 15, 1, 2], // a cell with a dark speck of 5 px for a nucleus: under minNucleusArea
    [68, 15, 2, 2], // a lone nucleus of 13 px: a cell of 13 px, under minCellArea
  ]);
  const { found } = labelsOf(mask, { ...LIMITS, minNucleusArea: 6 });
  assert.equal(found.cells.length, 0);
  assert.ok(found.labels.every((v) => v === 0));
});

test('reading order goes row by row (half a cell diameter of slack), each row left to right', () => {
  const cell = (x: number, y: number) => ({ centroidX: x, centroidY: y, area: 400 });
  // diameter ~22.6: rows start at y 10 and y 40; the cell at y 19 is still in the first row.
  const order = readingOrder([cell(50, 10), cell(10, 19), cell(30, 40), cell(5, 44), cell(90, 12)]);
  assert.deepEqual(order.map((c) => c.centroidX), [10, 50, 90, 5, 30]);
});

test('limits follow the working diameter', () => {
  assert.deepEqual(instanceLimits(66), { lobeJoinRadius: 2, minNucleusArea: 77, minCellArea: 308, mergeContact: 0.5 });
});
