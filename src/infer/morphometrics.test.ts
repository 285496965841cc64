// Cell measurements on hand-built masks with answers worked out in comments, warnings, the flat
// row, speed on a 1000x1000 mask, and plausibility on the first real masks of Dataset 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { LabelMask } from '../data/types.js';
import { sharedDataset1 } from '../testing/paths.js';
import { DIAGONAL_STEP_WEIGHT, STRAIGHT_STEP_WEIGHT } from './morphology.js';
import {
  CELL_STATS_COLUMNS,
  cellStatsRow,
  describeWarnings,
  measureCell,
  WARNING_MULTIPLE_CELLS,
  WARNING_NO_CELL,
  WARNING_NO_NUCLEUS,
  WARNING_TOUCHES_BORDER,
} from './morphometrics.js';

/** A width x height background mask on which rectangles of a class are painted. */
class MaskBuilder {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height);
  }
  /** Fills x0..x1, y0..y1 (inclusive) with the class. */
  rect(x0: number, y0: number, x1: number, y1: number, cls: number): this {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) this.data[y * this.width + x] = cls;
    return this;
  }
  disk(cx: number, cy: number, radius: number, cls: number): this {
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) this.data[y * this.width + x] = cls;
    }
    return this;
  }
  build(): LabelMask {
    return { width: this.width, height: this.height, data: this.data };
  }
}

const close = (actual: number | null, expected: number, what: string): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-6, `${what}: ${actual} vs ${expected}`);
};

test('areas, µm², N:C and shape of a square cell with a square nucleus', () => {
  // Cell 6x6 = 36 px, nucleus 3x3 = 9 px, cytoplasm 27 px. At 0.5 µm/px a pixel is 0.25 µm².
  const mask = new MaskBuilder(10, 10).rect(2, 2, 7, 7, 1).rect(3, 3, 5, 5, 2).build();
  const stats = measureCell(mask, { umPerPx: 0.5 });
  assert.equal(stats.cellAreaPx, 36);
  assert.equal(stats.nucleusAreaPx, 9);
  assert.equal(stats.cytoplasmAreaPx, 27);
  close(stats.cellAreaUm2, 9, 'cell µm²');
  close(stats.nucleusAreaUm2, 2.25, 'nucleus µm²');
  close(stats.cytoplasmAreaUm2, 6.75, 'cytoplasm µm²');
  close(stats.ncRatio, 1 / 3, 'N:C = 9 / 27');
  close(stats.nucleusCellRatio, 0.25, 'N / cell = 9 / 36');
  // Perimeter of a 6x6 square: 4 x 5 straight steps + 4 corner half-diagonals.
  const perimeter = 20 * STRAIGHT_STEP_WEIGHT + 2 * DIAGONAL_STEP_WEIGHT;
  close(stats.cellPerimeterPx, perimeter, 'perimeter');
  close(stats.cellPerimeterUm, perimeter / 2, 'perimeter µm');
  close(stats.circularity, (4 * Math.PI * 36) / perimeter ** 2, 'circularity');
  assert.equal(stats.solidity, 1);
  close(stats.equivalentDiameterPx, Math.sqrt(144 / Math.PI), 'equivalent diameter');
  close(stats.equivalentDiameterUm, Math.sqrt(144 / Math.PI) / 2, 'equivalent diameter µm');
  assert.equal(stats.nucleusLobes, 1);
  assert.equal(stats.cellComponents, 1);
  assert.equal(stats.meanConfidence, null);
  assert.deepEqual(stats.warnings, []);
  // Without a scale every µm field is null.
  const unscaled = measureCell(mask);
  for (const value of [unscaled.cellAreaUm2, unscaled.nucleusAreaUm2, unscaled.cytoplasmAreaUm2, unscaled.cellPerimeterUm, unscaled.equivalentDiameterUm]) assert.equal(value, null);
  assert.throws(() => measureCell(mask, { umPerPx: 0 }), /umPerPx/);
});

test('N:C and ratios by hand; no cytoplasm -> N:C null', () => {
  // Cell 4x5 = 20 px with an 2x4 = 8 px nucleus: N:C = 8 / 12, N / cell = 0.4.
  const stats = measureCell(new MaskBuilder(8, 8).rect(1, 1, 4, 5, 1).rect(2, 2, 3, 5, 2).build());
  close(stats.ncRatio, 8 / 12, 'N:C');
  close(stats.nucleusCellRatio, 0.4, 'N / cell');
  const allNucleus = measureCell(new MaskBuilder(6, 6).rect(1, 1, 3, 3, 2).build());
  assert.equal(allNucleus.ncRatio, null);
  assert.equal(allNucleus.nucleusCellRatio, 1);
});

// Cytoplasm 22x14 with two 7x7 nucleus lobes joined by a 3-px bridge on row 5.
function twoLobes(): MaskBuilder {
  return new MaskBuilder(24, 16).rect(1, 1, 22, 14, 1).rect(3, 2, 9, 8, 2).rect(13, 2, 19, 8, 2).rect(10, 5, 12, 5, 2);
}

test('nucleus lobes: a thin bridge is cut by the opening, crumbs are ignored', () => {
  assert.equal(measureCell(twoLobes().build()).nucleusLobes, 2);
  // Without an opening the bridge joins the lobes.
  assert.equal(measureCell(twoLobes().build(), { openingRadius: 0 }).nucleusLobes, 1);
  // A 3x3 crumb opens to a 5-px cross; the nucleus is 49 + 49 + 3 + 9 = 110 px, 5% = 5.5 > 5: ignored.
  assert.equal(measureCell(twoLobes().rect(3, 11, 5, 13, 2).build()).nucleusLobes, 2);
  // A nucleus thinner than the opening still counts as one; no nucleus, none.
  assert.equal(measureCell(new MaskBuilder(8, 8).rect(1, 1, 6, 6, 1).rect(2, 3, 5, 3, 2).build()).nucleusLobes, 1);
  assert.equal(measureCell(new MaskBuilder(8, 8).rect(1, 1, 6, 6, 1).build()).nucleusLobes, 0);
});

test('warnings: no cell, no nucleus, touching the border, more than one cell (specks ignored)', () => {
  const cases: { name: string; mask: LabelMask; warnings: string[]; components: number }[] = [
    { name: 'empty', mask: new MaskBuilder(5, 5).build(), warnings: [WARNING_NO_CELL], components: 0 },
    { name: 'no nucleus', mask: new MaskBuilder(8, 8).rect(2, 2, 5, 5, 1).build(), warnings: [WARNING_NO_NUCLEUS], components: 1 },
    { name: 'on the left edge', mask: new MaskBuilder(8, 8).rect(0, 2, 4, 5, 1).rect(1, 3, 2, 4, 2).build(), warnings: [WARNING_TOUCHES_BORDER], components: 1 },
    {
      // 20x20 = 400 px: a component counts as a cell from max(16, 1% of 400) = 16 px; both are 25.
      name: 'two cells',
      mask: new MaskBuilder(20, 20).rect(2, 2, 6, 6, 1).rect(3, 3, 4, 4, 2).rect(12, 12, 16, 16, 1).build(),
      warnings: [WARNING_MULTIPLE_CELLS],
      components: 2,
    },
    {
      // The 2x2 speck (4 px < 16) is counted as a component but is not a second cell.
      name: 'cell and speck',
      mask: new MaskBuilder(20, 20).rect(2, 2, 6, 6, 1).rect(3, 3, 4, 4, 2).rect(12, 12, 13, 13, 1).build(),
      warnings: [],
      components: 2,
    },
  ];
  for (const c of cases) {
    const stats = measureCell(c.mask);
    assert.deepEqual(stats.warnings, c.warnings, c.name);
    assert.equal(stats.cellComponents, c.components, c.name);
  }
  const empty = measureCell(new MaskBuilder(5, 5).build());
  assert.equal(empty.cellAreaPx, 0);
  assert.equal(empty.nucleusLobes, 0);
  for (const value of [empty.ncRatio, empty.nucleusCellRatio, empty.circularity, empty.solidity]) assert.equal(value, null);
  assert.deepEqual(describeWarnings(empty), ['no cell found']);
  const two = measureCell(cases[3].mask);
  assert.deepEqual(describeWarnings(two), ['more than one cell (2 components)']);
});

test('measures the cell with the nucleus, not a bigger cytoplasm blob', () => {
  // Blob: 6x6 = 36 px cytoplasm. Cell: 4x4 = 16 px with a 2x2 nucleus.
  const stats = measureCell(new MaskBuilder(16, 10).rect(1, 1, 6, 6, 1).rect(10, 2, 13, 5, 1).rect(11, 3, 12, 4, 2).build());
  assert.equal(stats.cellAreaPx, 16);
  assert.equal(stats.nucleusAreaPx, 4);
  assert.equal(stats.cellComponents, 2);
  assert.deepEqual(stats.warnings, [WARNING_MULTIPLE_CELLS]);
});

test('mean confidence: mean max-probability per labelled class', () => {
  // Labels 0, 1, 2, 2; max probs 0.9, 0.7, 0.6, 0.8 -> background 0.9, cytoplasm 0.7, nucleus 0.7.
  const mask: LabelMask = { width: 2, height: 2, data: new Uint8Array([0, 1, 2, 2]) };
  const probs = new Float32Array([0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.1, 0.3, 0.6, 0.0, 0.2, 0.8]);
  const confidence = measureCell(mask, { probs }).meanConfidence;
  assert.ok(confidence);
  close(confidence.background, 0.9, 'background');
  close(confidence.cytoplasm, 0.7, 'cytoplasm');
  close(confidence.nucleus, 0.7, 'nucleus');
  const noNucleus = measureCell({ width: 2, height: 1, data: new Uint8Array([0, 1]) }, { probs: new Float32Array([1, 0, 0, 0, 1, 0]) });
  assert.equal(noNucleus.meanConfidence?.nucleus, null);
  assert.throws(() => measureCell(mask, { probs: new Float32Array(4) }), /probs has 4 values, expected 2x2x3/);
});

test('cellStatsRow follows CELL_STATS_COLUMNS and joins warnings', () => {
  const stats = measureCell(new MaskBuilder(8, 8).rect(0, 2, 4, 5, 1).build(), { umPerPx: 0.5 });
  const row = cellStatsRow(stats);
  assert.deepEqual(Object.keys(row), [...CELL_STATS_COLUMNS]);
  assert.equal(row.warnings, 'no-nucleus;touches-border');
  assert.equal(row.cellAreaPx, 20);
  assert.equal(row.cellAreaUm2, 5);
  assert.equal(row.confidenceNucleus, null);
  assert.equal(row.ncRatio, 0);
});

test('a 1000x1000 mask is measured well under a second', () => {
  const mask = new MaskBuilder(1000, 1000).disk(500, 500, 450, 1).disk(380, 500, 150, 2).disk(620, 500, 150, 2).build();
  const start = performance.now();
  const stats = measureCell(mask, { umPerPx: 0.1, probs: new Float32Array(1000 * 1000 * 3).fill(1 / 3) });
  const ms = performance.now() - start;
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.ok(stats.circularity !== null && Math.abs(stats.circularity - 1) < 0.02, `circularity ${stats.circularity}`);
  // The two nucleus disks overlap (centres 240 apart, radii 150) and the radius-1 opening keeps them joined.
  assert.equal(stats.nucleusLobes, 1);
});

/** Dataset mask files are gray 0/128/255 (sharp may hand back 3 equal channels): nearest class. */
async function readMask(path: string): Promise<LabelMask> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const labels = new Uint8Array(info.width * info.height);
  for (let p = 0; p < labels.length; p++) {
    const gray = data[p * info.channels];
    labels[p] = gray < 64 ? 0 : gray < 192 ? 1 : 2;
  }
  return { width: info.width, height: info.height, data: labels };
}

test('the first five ground-truth masks of Dataset 1 give plausible cells', async () => {
  const folder = sharedDataset1();
  assert.ok(existsSync(folder), `no data set at ${folder}: set LEUKOSEG_DATA or lay ../shared beside the checkout`);
  for (const id of ['001', '002', '003', '004', '005']) {
    const stats = measureCell(await readMask(join(folder, `${id}.png`)));
    assert.ok(stats.nucleusAreaPx > 0 && stats.cytoplasmAreaPx > 0, `${id}: areas`);
    assert.ok(stats.ncRatio !== null && stats.ncRatio > 0.05 && stats.ncRatio < 20, `${id}: N:C ${stats.ncRatio}`);
    assert.ok(stats.circularity !== null && stats.circularity > 0.3 && stats.circularity <= 1.2, `${id}: circularity ${stats.circularity}`);
    assert.ok(stats.solidity !== null && stats.solidity > 0.5 && stats.solidity <= 1, `${id}: solidity ${stats.solidity}`);
  }
});
