// What field mode writes per image: 16-bit cell labels that round-trip through sharp (and back
// through the page's decoder), overlays that keep touching cells apart and number them, each
// cell's crop, and one result row per cell (or a no-cell row).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeGray16Png, encodeGray16Png } from './png-gray16.js';
import { drawLabel, labelSize, renderCellsOverlay } from './cell-overlay.js';
import { OVERLAY_COLORS } from './overlay.js';
import { cellCrop } from './cell-crops.js';
import { RESULT_COLUMNS, rowsToCsv, segmentRows } from './results.js';
import { cellsFromInstances, describeCell } from '../field/cells.js';
import { measureCell } from '../infer/morphometrics.js';
import type { LabelMask, RgbImage } from '../data/types.js';

test('NAME.cells.png is a 16-bit gray PNG that sharp reads back exactly, and so does the page decoder from a sharp-written one', async () => {
  const width = 37;
  const height = 23;
  const labels = Uint16Array.from({ length: width * height }, (_, i) => (i * 977) % 65536);
  const png = encodeGray16Png(width, height, labels);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [width, height, 1, 'ushort']);
  const { data } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint16Array(data.buffer, data.byteOffset, data.length / 2), labels);
  const bySharp = await sharp(labels, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  assert.deepEqual(decodeGray16Png(new Uint8Array(bySharp)).data, labels);
  assert.throws(() => decodeGray16Png(new Uint8Array(bySharp.subarray(0, 40))), /PNG/);
  const eightBit = await sharp(Buffer.alloc(16), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
  assert.throws(() => decodeGray16Png(new Uint8Array(eightBit)), /expected a 16-bit gray, non-interlaced PNG; this one has bit depth 8/);
});

/** Two touching rectangular cells (cytoplasm, a 5 x 5 nucleus in the lower half) side by side on a 30 x 24 image. */
function touchingCells(): { image: RgbImage; mask: LabelMask; instances: Uint16Array } {
  const width = 30;
  const height = 24;
  const mask: LabelMask = { width, height, data: new Uint8Array(width * height) };
  const instances = new Uint16Array(width * height);
  for (let y = 2; y < 22; y++) {
    for (let x = 3; x < 27; x++) {
      const k = x < 15 ? 1 : 2;
      const cx = k === 1 ? 9 : 21;
      mask.data[y * width + x] = Math.abs(x - cx) <= 2 && Math.abs(y - 13) <= 2 ? 2 : 1;
      instances[y * width + x] = k;
    }
  }
  return { image: { width, height, data: new Uint8Array(width * height * 3).fill(200) }, mask, instances };
}

test("a field's overlay outlines each cell on its own, so the border between touching cells is drawn, and numbers them", () => {
  const { image, mask, instances } = touchingCells();
  const cells = cellsFromInstances(mask, instances);
  assert.deepEqual(cells.map((c) => [c.index, c.bbox]), [[1, { x: 3, y: 2, width: 12, height: 20 }], [2, { x: 15, y: 2, width: 12, height: 20 }]]);
  const out = renderCellsOverlay(image, cells, { outlineWidth: 1, digitScale: 1 });
  const colour = (x: number, y: number) => [...out.data.subarray((y * 30 + x) * 3, (y * 30 + x) * 3 + 3)];
  // The two cells meet between columns 14 and 15: both columns are outline (each cell's own edge).
  for (const y of [10, 15, 20]) {
    assert.deepEqual(colour(14, y), [...OVERLAY_COLORS.cell], `column 14, row ${y}`);
    assert.deepEqual(colour(15, y), [...OVERLAY_COLORS.cell], `column 15, row ${y}`);
  }
  assert.deepEqual(colour(9, 11), [...OVERLAY_COLORS.nucleus], 'nucleus edge');
  assert.deepEqual(colour(9, 13), [200, 200, 200], 'nucleus inside untouched');
  assert.deepEqual(colour(9, 18), [200, 200, 200], 'cytoplasm inside untouched');
  // No room above the boxes (they start at row 2; a label is 7 rows), so each label sits at the top inside its box, centred.
  assert.deepEqual(labelSize('1', 1), { width: 5, height: 7 });
  assert.deepEqual([colour(7, 2), colour(11, 8), colour(12, 2)], [[20, 20, 20], [20, 20, 20], [...OVERLAY_COLORS.cell]], 'label box of cell 1 over columns 7-11, rows 2-8');
  assert.deepEqual([colour(9, 3), colour(8, 3)], [[255, 255, 255], [20, 20, 20]], "the digit '1' lit in its box");
});

test('labels are digits in a dark box; anything else is refused', () => {
  const image: RgbImage = { width: 12, height: 8, data: new Uint8Array(12 * 8 * 3) };
  drawLabel(image, '10', 0, 0, 1);
  const lit = (x: number, y: number) => image.data[(y * 12 + x) * 3] === 255;
  // '1' is 010/110/010/010/111 from column 1, '0' is 111/101/101/101/111 from column 5.
  assert.deepEqual([lit(2, 1), lit(1, 1), lit(1, 2), lit(5, 1), lit(6, 2), lit(7, 3)], [true, false, true, true, false, true]);
  assert.throws(() => drawLabel(image, 'x', 0, 0, 1), /only digits/);
});

test('each cell is measured alone; touches-border only at the image border; crops hold that cell only', () => {
  const { image, mask, instances } = touchingCells();
  const own = (k: number): LabelMask => ({ width: 30, height: 24, data: Uint8Array.from(mask.data, (v, i) => (instances[i] === k ? v : 0)) });
  const region = { x: 0, y: 0, width: 30, height: 24 };
  const first = describeCell(own(1), region, image, 1)!;
  assert.deepEqual([first.bbox, first.stats.cellAreaPx, first.stats.nucleusAreaPx, first.stats.warnings], [{ x: 3, y: 2, width: 12, height: 20 }, 240, 25, []]);
  assert.ok(Math.abs(first.centroidX - 8.5) < 1e-9 && Math.abs(first.centroidY - 11.5) < 1e-9);
  // The same cell in a window that cuts it (the window's edge is not the image's): no touches-border.
  const left = { width: 10, height: 24, data: own(1).data.filter((_, i) => i % 30 < 10) };
  assert.deepEqual(describeCell(left, { x: 0, y: 0, width: 10, height: 24 }, image, 1)!.stats.warnings, []);
  assert.deepEqual(describeCell(left, { x: 0, y: 0, width: 10, height: 24 }, { width: 10, height: 24 }, 1)!.stats.warnings, ['touches-border']);
  const crop = cellCrop(image, describeCell(own(2), region, image, 2)!);
  assert.deepEqual(crop.rect, { x: 5, y: 0, width: 25, height: 24 });
  assert.ok(crop.mask.some((v) => v === 255) && crop.mask.every((v, i) => v === 0 || (i % 25) + 5 >= 15), 'cell 2 in its crop, no pixel of cell 1');
});

test('one row per cell with its place, or one no-cell row; CSV columns in order', () => {
  const { image, mask, instances } = touchingCells();
  const region = { x: 0, y: 0, width: 30, height: 24 };
  const cells = [1, 2].map((k) => describeCell({ width: 30, height: 24, data: Uint8Array.from(mask.data, (v, i) => (instances[i] === k ? v : 0)) }, region, image, k)!);
  const stats = measureCell(mask);
  const rows = segmentRows('/in/f.png', 'f', { width: 30, height: 24, mode: 'field', cells, stats, cellDiameter: 120, inferenceMs: 5 });
  assert.deepEqual(rows.map((r) => [r.cellIndex, r.bboxX, r.bboxWidth, r.centroidX, r.cellAreaPx, r.mode, r.fieldCellDiameterPx]), [[1, 3, 12, 8.5, 240, 'field', 120], [2, 15, 12, 20.5, 240, 'field', 120]]);
  const none = segmentRows('/in/g.png', 'g', { width: 30, height: 24, mode: 'field', cells: [], stats: measureCell({ width: 30, height: 24, data: new Uint8Array(720) }), cellDiameter: null, inferenceMs: 5 });
  assert.deepEqual(none.map((r) => [r.cellIndex, r.bboxX, r.warnings, r.cellAreaPx]), [[null, null, 'no-cell', 0]]);
  const csv = rowsToCsv([...rows, ...none]).trim().split('\n');
  assert.equal(csv[0], RESULT_COLUMNS.join(','));
  assert.equal(csv.length, 4);
  assert.match(csv[3], /^\/in\/g\.png,g,30,24,,,,,,,,0,/);
});
