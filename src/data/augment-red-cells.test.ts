// Synthetic red cells: painted on the background only, around the cell, redder than the ground, and
// recipes without them keep every draw they had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRedCells, paintRedCells, sampleRedCells, type RedCellDisc } from './augment-red-cells.js';
import { applyAugmentation, AugmentConfigSchema, sampleAugmentParams } from './augment.js';
import { createRng } from './random.js';
import type { LabelMask, RgbImage } from './types.js';

const SIZE = 64;

/** A pale yellow ground with a round white cell of radius 12 (nucleus radius 6) in the middle. */
function cellPair(): { image: RgbImage; mask: LabelMask } {
  const image = new Uint8Array(SIZE * SIZE * 3);
  const mask = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const p = y * SIZE + x;
      const r = Math.hypot(x - 32, y - 32);
      mask[p] = r < 6 ? 2 : r < 12 ? 1 : 0;
      const rgb = mask[p] === 2 ? [90, 40, 140] : mask[p] === 1 ? [200, 180, 220] : [240, 230, 190];
      image.set(rgb, p * 3);
    }
  }
  return { image: { width: SIZE, height: SIZE, data: image }, mask: { width: SIZE, height: SIZE, data: mask } };
}

test('a disc darkens background under it, green most, and leaves the cell and the mask alone', () => {
  const { image, mask } = cellPair();
  const maskBefore = mask.data.slice();
  // Centred on the cell's right edge: half of it lies under the cell.
  const disc: RedCellDisc = { cx: 44, cy: 32, rx: 8, ry: 8, angle: 0, density: [0.2, 0.55, 0.43], pallor: 0, pallorRadius: 0.5 };
  const out = paintRedCells(image, mask, [disc]).data;
  assert.deepEqual(mask.data, maskBefore);
  for (let p = 0; p < SIZE * SIZE; p++) {
    const changed = [0, 1, 2].some((c) => out[p * 3 + c] !== image.data[p * 3 + c]);
    if (mask.data[p] !== 0) assert.ok(!changed, `cell pixel ${p} was painted`);
  }
  const at = (x: number, y: number, c: number) => out[(y * SIZE + x) * 3 + c];
  // Inside the disc beyond the cell: Beer-Lambert of the ground, green attenuated most.
  assert.deepEqual([at(48, 32, 0), at(48, 32, 1), at(48, 32, 2)], [196, 133, 124]);
  assert.deepEqual([at(60, 32, 0), at(60, 32, 1), at(60, 32, 2)], [240, 230, 190], 'outside the disc: as it was');
});

test('central pallor makes the middle of a disc paler than its body', () => {
  const { image, mask } = cellPair();
  const disc: RedCellDisc = { cx: 10, cy: 10, rx: 8, ry: 8, angle: 0, density: [0.2, 0.55, 0.43], pallor: 0.8, pallorRadius: 0.5 };
  const out = paintRedCells(image, mask, [disc]).data;
  const green = (x: number, y: number) => out[(y * SIZE + x) * 3 + 1];
  assert.ok(green(10, 10) > green(15, 10) + 40, `centre ${green(10, 10)}, body ${green(15, 10)}`);
});

test('discs are drawn around the cell, from pressed against it to a little apart', () => {
  const { mask } = cellPair();
  const discs = sampleRedCells(mask, 200, createRng(3));
  assert.equal(discs.length, 200);
  const cellRadius = Math.sqrt(mask.data.filter((v) => v !== 0).length / Math.PI);
  for (const d of discs) {
    const reach = Math.hypot(d.cx - 32, d.cy - 32);
    assert.ok(d.rx >= 0.4 * cellRadius - 1e-9 && d.rx <= 0.9 * cellRadius + 1e-9, `radius ${d.rx}`);
    assert.ok(reach >= cellRadius - 0.3 * d.rx - 1e-6 && reach <= cellRadius + 1.2 * d.rx + 1e-6, `reach ${reach}`);
  }
  assert.ok(discs.some((d) => Math.hypot(d.cx - 32, d.cy - 32) < cellRadius + d.rx), 'some overlap the cell');
  assert.deepEqual(sampleRedCells(mask, 5, createRng(3)), discs.slice(0, 5), 'the same seed gives the same discs');
});

test('augmentation paints red cells only when asked, and keeps every other draw', () => {
  const { image, mask } = cellPair();
  const base = { enabled: true, brightness: 0, contrast: 0, saturation: 0, hue: 0, rotateDegrees: 0, scale: [1, 1], shift: 0 };
  const plain = sampleAugmentParams(AugmentConfigSchema.parse(base), createRng(9), SIZE, SIZE);
  const withCells = sampleAugmentParams(AugmentConfigSchema.parse({ ...base, redCells: 1, redCellCount: [4, 4] }), createRng(9), SIZE, SIZE);
  assert.equal(plain.redCells, 0);
  assert.equal(withCells.redCells, 4);
  assert.deepEqual({ ...withCells, redCells: 0, redCellSeed: 0 }, { ...plain, redCells: 0, redCellSeed: 0 });
  const a = applyAugmentation(image, mask, plain);
  const b = applyAugmentation(image, mask, withCells);
  assert.deepEqual(b.mask.data, a.mask.data);
  assert.deepEqual(b.image.data, addRedCells(a.image, a.mask, 4, withCells.redCellSeed).data);
  assert.notDeepEqual(b.image.data, a.image.data);
});

test('a red-cell count range the wrong way round is refused', () => {
  assert.throws(() => AugmentConfigSchema.parse({ redCellCount: [6, 2] }), /redCellCount/);
  assert.throws(() => AugmentConfigSchema.parse({ redCells: 1.5 }), /redCells/);
});
