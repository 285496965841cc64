// The window a field's cell is typed in: centred on the cell, sized so the cell fills it as the
// training crops' cells filled theirs, kept inside the image, never smaller than the cell's box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureCell } from '../infer/morphometrics.js';
import { fieldCellView, fieldCellWindow } from './field-view.js';
import type { SegmentedCell } from '../field/cells.js';

/** A disk of cytoplasm with a nucleus disk inside, as a field's cell, its box at (x0, y0). */
function diskCell(x0: number, y0: number, radius: number): SegmentedCell {
  const side = 2 * radius + 1;
  const data = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const d = Math.hypot(x - radius, y - radius);
      data[y * side + x] = d <= radius / 2 ? 2 : d <= radius ? 1 : 0;
    }
  }
  const mask = { width: side, height: side, data };
  return { index: 1, bbox: { x: x0, y: y0, width: side, height: side }, centroidX: x0 + radius, centroidY: y0 + radius, mask, stats: measureCell(mask) };
}

test('the window is centred on the cell with the side that gives the training framing', () => {
  const cell = diskCell(300, 200, 30);
  const w = fieldCellWindow({ width: 1000, height: 800 }, cell, 0.5);
  const side = Math.round(cell.stats.equivalentDiameterPx / 0.5);
  assert.deepEqual([w.width, w.height], [side, side]);
  assert.ok(Math.abs(w.x + side / 2 - cell.centroidX) <= 1 && Math.abs(w.y + side / 2 - cell.centroidY) <= 1, JSON.stringify(w));
  // The cell's diameter over the window's side is the framing asked for.
  assert.ok(Math.abs(cell.stats.equivalentDiameterPx / w.width - 0.5) < 0.01);
});

test('near the edge the window moves inside the image; a small image is the whole window', () => {
  const cell = diskCell(0, 5, 20);
  const w = fieldCellWindow({ width: 500, height: 400 }, cell, 0.4);
  assert.deepEqual([w.x, w.y], [0, 0]);
  const far = diskCell(458, 358, 20);
  const v = fieldCellWindow({ width: 500, height: 400 }, far, 0.4);
  assert.deepEqual([v.x + v.width, v.y + v.height], [500, 400]);
  const small = fieldCellWindow({ width: 90, height: 60 }, diskCell(10, 10, 20), 0.3);
  assert.deepEqual(small, { x: 0, y: 0, width: 90, height: 60 });
  // A framing tighter than the cell still holds its whole box.
  const tight = fieldCellWindow({ width: 500, height: 400 }, cell, 5);
  assert.deepEqual([tight.width, tight.height], [41, 41]);
  assert.throws(() => fieldCellWindow({ width: 500, height: 400 }, cell, 0), /cellToImage must be positive/);
});

test("the view holds the window's pixels and only this cell's mask", () => {
  const cell = diskCell(40, 30, 10);
  const width = 200;
  const height = 150;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data[p * 3] = p % 251;
  const view = fieldCellView({ width, height, data }, cell, 0.5);
  const { window } = view;
  assert.equal(view.image.data[0], ((window.y * width + window.x) % 251));
  let cellPixels = 0;
  for (let y = 0; y < window.height; y++) {
    for (let x = 0; x < window.width; x++) {
      const label = view.mask.data[y * window.width + x];
      const cx = window.x + x - cell.bbox.x;
      const cy = window.y + y - cell.bbox.y;
      const inBox = cx >= 0 && cy >= 0 && cx < cell.bbox.width && cy < cell.bbox.height;
      assert.equal(label, inBox ? cell.mask.data[cy * cell.bbox.width + cx] : 0);
      if (label > 0) cellPixels++;
    }
  }
  assert.equal(cellPixels, cell.stats.cellAreaPx);
});
