// Cell measurements on hand-built masks with answers worked out in comments, warnings, the flat
// row, speed on a 1000x1000 mask, plausibility on the first real masks of Dataset 1, and lobe counts
// of drawn nuclei at four scales and of Dataset 1's labelled cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { LabelMask } from '../data/types.js';
import { sharedDataset1 } from '../testing/paths.js';
import { readCellTypes } from '../bench/cell-types.js';
import { DIAGONAL_STEP_WEIGHT, STRAIGHT_STEP_WEIGHT } from './morphology.js';
import {
  CELL_STATS_COLUMNS,
  cellStatsRow,
  describeWarnings,
  measureCell,
  type LobeMethod,
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

test('nucleus lobes: a thin bridge parts two lobes, crumbs are ignored; the opening count as before', () => {
  // The lobes' peak half-width is 4 - 1/2 = 3.5, the 1-px bridge's 1/2: far below 0.75 x 3.5.
  assert.equal(measureCell(twoLobes().build()).nucleusLobes, 2);
  assert.equal(measureCell(twoLobes().build(), { neckRatio: 0.1 }).nucleusLobes, 1);
  // The opening cuts the bridge too; without an opening the bridge joins the lobes.
  assert.equal(measureCell(twoLobes().build(), { lobeMethod: 'opening' }).nucleusLobes, 2);
  assert.equal(measureCell(twoLobes().build(), { lobeMethod: 'opening', openingRadius: 0 }).nucleusLobes, 1);
  // A separate 3x3 crumb: the nucleus is 49 + 49 + 3 + 9 = 110 px, 5% = 5.5. The opening shrinks the
  // crumb to a 5-px cross (ignored); the neck split keeps its 9 px (a lobe), but a 2x2 crumb's 4 px
  // (nucleus 105 px, 5% = 5.25) are ignored.
  assert.equal(measureCell(twoLobes().rect(3, 11, 5, 13, 2).build(), { lobeMethod: 'opening' }).nucleusLobes, 2);
  assert.equal(measureCell(twoLobes().rect(3, 11, 5, 13, 2).build()).nucleusLobes, 3);
  assert.equal(measureCell(twoLobes().rect(3, 11, 4, 12, 2).build()).nucleusLobes, 2);
  // A nucleus thinner than the opening still counts as one; no nucleus, none.
  const thin = new MaskBuilder(8, 8).rect(1, 1, 6, 6, 1).rect(2, 3, 5, 3, 2).build();
  assert.equal(measureCell(thin, { lobeMethod: 'opening' }).nucleusLobes, 1);
  assert.equal(measureCell(thin).nucleusLobes, 1);
  assert.equal(measureCell(new MaskBuilder(8, 8).rect(1, 1, 6, 6, 1).build()).nucleusLobes, 0);
  // Options that do not go together, and unknown methods, are refused.
  // openingRadius alone still means the opening, as before; with neckRatio or 'necks' it is refused.
  assert.equal(measureCell(twoLobes().build(), { openingRadius: 0 }).nucleusLobes, 1);
  assert.throws(() => measureCell(thin, { lobeMethod: 'necks', openingRadius: 2 }), /openingRadius applies to lobeMethod 'opening' only/);
  assert.throws(() => measureCell(thin, { neckRatio: 0.5, openingRadius: 2 }), /openingRadius applies to lobeMethod 'opening' only/);
  assert.throws(() => measureCell(thin, { lobeMethod: 'opening', neckRatio: 0.5 }), /neckRatio applies to lobeMethod 'necks' only/);
  assert.throws(() => measureCell(thin, { lobeMethod: 'watershed' as LobeMethod }), /lobeMethod must be one of necks or opening, but got 'watershed'/);
});

/** A point of a nucleus drawn in units of a 60 x 60 cell; `nucleusOf` draws it at any scale. */
type Shape = (u: number, v: number) => boolean;
const inDisk = (cx: number, cy: number, r: number): Shape => (u, v) => (u - cx) ** 2 + (v - cy) ** 2 <= r * r;
/** Points within r of the segment (x0, y0)-(x1, y1): a bar with round ends, r its half-width. */
const inBar = (x0: number, y0: number, x1: number, y1: number, r: number): Shape => (u, v) => {
  const t = Math.max(0, Math.min(1, ((u - x0) * (x1 - x0) + (v - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2)));
  return (u - x0 - t * (x1 - x0)) ** 2 + (v - y0 - t * (y1 - y0)) ** 2 <= r * r;
};
const union = (...shapes: Shape[]): Shape => (u, v) => shapes.some((s) => s(u, v));
const minus = (a: Shape, b: Shape): Shape => (u, v) => a(u, v) && !b(u, v);

/** A round cell (radius 28 units) with the nucleus `shape`, drawn at `scale` pixels per unit, tested at pixel centres. */
function nucleusOf(shape: Shape, scale: number): LabelMask {
  const size = 60 * scale;
  const data = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / scale;
      const v = (y + 0.5) / scale;
      data[y * size + x] = shape(u, v) ? 2 : inDisk(30, 30, 28)(u, v) ? 1 : 0;
    }
  }
  return { width: size, height: size, data };
}

test('nucleus lobes of drawn nuclei, the same at 1x, 2x, 3x and 10x', () => {
  const cases: { name: string; shape: Shape; lobes: number }[] = [
    // Peak half-width 8; a bridge of half-width 1 is 1/8 of it: two lobes.
    { name: 'two disks on a thin bridge', shape: union(inDisk(19, 30, 8), inDisk(41, 30, 8), inBar(19, 30, 41, 30, 1)), lobes: 2 },
    // The same disks joined at 7/8 of their half-width: a peanut, one nucleus.
    { name: 'two disks on a fat bridge', shape: union(inDisk(19, 30, 8), inDisk(41, 30, 8), inBar(19, 30, 41, 30, 7)), lobes: 1 },
    // Two overlapping disks pinched to a half-chord of √(10² - 9²) = 4.4, 0.44 of 10: bilobed (an eosinophil).
    { name: 'two disks pinched', shape: union(inDisk(21, 30, 10), inDisk(39, 30, 10)), lobes: 2 },
    { name: 'one ellipse', shape: (u, v) => ((u - 30) / 18) ** 2 + ((v - 30) / 9) ** 2 <= 1, lobes: 1 },
    { name: 'three lobes on a chain', shape: union(inDisk(14, 30, 6.5), inDisk(30, 30, 6.5), inDisk(46, 30, 6.5), inBar(14, 30, 46, 30, 1)), lobes: 3 },
    {
      // Four lobes in a ring, each tied to the next by a filament, as Dataset 1's 204.bmp.
      name: 'four lobes in a ring',
      shape: union(inDisk(30, 17, 6), inDisk(43, 30, 6), inDisk(30, 43, 6), inDisk(17, 30, 6), inBar(30, 17, 43, 30, 1), inBar(43, 30, 30, 43, 1), inBar(30, 43, 17, 30, 1)),
      lobes: 4,
    },
    // A monocyte's kidney: a disk of radius 14 with a bite of radius 10 from its side; the horns thin out without a neck.
    { name: 'kidney', shape: minus(inDisk(30, 30, 14), inDisk(46, 30, 10)), lobes: 1 },
    // A band neutrophil: a C of even width 8 (the ring between radii 8 and 16, left half), round ends.
    {
      name: 'band',
      shape: union((u, v) => u <= 30 && (u - 30) ** 2 + (v - 30) ** 2 >= 64 && (u - 30) ** 2 + (v - 30) ** 2 <= 256, inDisk(30, 18, 4), inDisk(30, 42, 4)),
      lobes: 1,
    },
    // A crumb of radius 1.5 (about 1% of the nucleus) on a filament is no lobe.
    { name: 'disk with a crumb', shape: union(inDisk(26, 30, 12), inDisk(44, 30, 1.5), inBar(26, 30, 44, 30, 0.6)), lobes: 1 },
  ];
  for (const c of cases) {
    // At 10x most nuclei pass MAX_WORKING_AREA (40,000 px) and are split on 2x2 blocks.
    for (const scale of [1, 2, 3, 10]) assert.equal(measureCell(nucleusOf(c.shape, scale)).nucleusLobes, c.lobes, `${c.name} at ${scale}x`);
  }
  // The radius-1 opening cuts the filaments but not the pinch, which is 9 px wide at 1x.
  assert.equal(measureCell(nucleusOf(cases[0].shape, 1), { lobeMethod: 'opening' }).nucleusLobes, 2);
  assert.equal(measureCell(nucleusOf(cases[2].shape, 1), { lobeMethod: 'opening' }).nucleusLobes, 1);
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
  // The two nucleus disks overlap (centres 240 apart, radii 150) in a neck of half-width
  // √(150² - 120²) = 90, 0.6 of their 150: two lobes (the radius-1 opening kept them as one).
  assert.equal(stats.nucleusLobes, 2);
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

test("Dataset 1's ground truth: 204.bmp has four lobes, neutrophils mostly two or more, lymphocytes one", async () => {
  const folder = sharedDataset1();
  assert.ok(existsSync(folder), `no data set at ${folder}: set LEUKOSEG_DATA or lay ../shared beside the checkout`);
  // 204.bmp shows four round lobes (upper left, top, right, bottom); its mask draws the bottom one
  // apart and joins the other three through necks (the opening count was 2). See the README's picture.
  assert.equal(measureCell(await readMask(join(folder, '204.png'))).nucleusLobes, 4);
  const types = await readCellTypes(join(folder, '..', 'Class Labels of Dataset 1.csv'));
  const tally = { neutrophils: 0, lobed: 0, lobedByOpening: 0, lymphocytes: 0, oneLobe: 0 };
  for (const [id, type] of types) {
    if (type !== 'neutrophil' && type !== 'lymphocyte') continue;
    const mask = await readMask(join(folder, `${id}.png`));
    const lobes = measureCell(mask).nucleusLobes;
    if (type === 'neutrophil') {
      tally.neutrophils++;
      if (lobes >= 2) tally.lobed++;
      if (measureCell(mask, { lobeMethod: 'opening' }).nucleusLobes >= 2) tally.lobedByOpening++;
    } else {
      tally.lymphocytes++;
      if (lobes === 1) tally.oneLobe++;
    }
  }
  assert.deepEqual([tally.neutrophils, tally.lymphocytes], [176, 53]);
  // Measured: 160 of 176 neutrophils (0.91) with >= 2 lobes, 61 (0.35) by the opening; 53 of 53 lymphocytes with 1.
  assert.ok(tally.lobed / tally.neutrophils >= 0.85, `neutrophils with >= 2 lobes: ${tally.lobed} of ${tally.neutrophils}`);
  assert.ok(tally.lobedByOpening / tally.neutrophils < 0.5, `by the opening: ${tally.lobedByOpening} of ${tally.neutrophils}`);
  assert.ok(tally.oneLobe / tally.lymphocytes >= 0.95, `lymphocytes with 1 lobe: ${tally.oneLobe} of ${tally.lymphocytes}`);
});
