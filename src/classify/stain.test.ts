// Stain standardisation of a crop: the white reference and nucleus density it reads, the tables it
// builds, and that two crops of one cell stained differently come out alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelMask, RgbImage } from '../data/types.js';
import { REFERENCE_NUCLEUS_OD, stainReference, stainTables, standardizeStain, STAIN_SCALE_LIMITS } from './stain.js';

const od = (v: number, white: number) => -Math.log10((v + 1) / (white + 1));
/** The byte of density `d` against a white of 255 (the inverse of od). */
const byteOf = (d: number) => Math.round(256 * 10 ** -d - 1);

/** A 10x10 crop: background (label 0) on the left half, cytoplasm (1) in columns 5-6, nucleus (2) in 7-9. */
function crop(background: number[], cytoplasm: number[], nucleus: number[]): { image: RgbImage; mask: LabelMask } {
  const data = new Uint8Array(300);
  const labels = new Uint8Array(100);
  for (let p = 0; p < 100; p++) {
    const x = p % 10;
    const label = x < 5 ? 0 : x < 7 ? 1 : 2;
    labels[p] = label;
    data.set(label === 0 ? background : label === 1 ? cytoplasm : nucleus, p * 3);
  }
  return { image: { width: 10, height: 10, data }, mask: { width: 10, height: 10, data: labels } };
}

test('the reference is the background white and the nucleus density against it; null without a nucleus', () => {
  const { image, mask } = crop([240, 230, 200], [200, 150, 180], [120, 60, 150]);
  const r = stainReference(image, mask)!;
  assert.deepEqual(r.white, [240, 230, 200]);
  [120, 60, 150].forEach((v, c) => assert.ok(Math.abs(r.nucleusOd[c] - od(v, r.white[c])) < 1e-12));
  assert.equal(stainReference(image, { ...mask, data: mask.data.map((l) => (l === 2 ? 1 : l)) }), null);
  assert.throws(() => stainReference(image, { width: 5, height: 5, data: new Uint8Array(25) }), /10x10 crop with a mask of 25 pixels/);
});

test('the tables send white to 255 and the nucleus to the reference density, within the scale limits', () => {
  const white = [230, 220, 200];
  const nucleus = [od(110, 230), od(60, 220), od(140, 200)];
  const tables = stainTables(white, nucleus);
  white.forEach((w, c) => assert.equal(tables[c][w], 255));
  [110, 60, 140].forEach((v, c) => assert.ok(Math.abs(tables[c][v] - byteOf(REFERENCE_NUCLEUS_OD[c])) <= 1, `channel ${c}: ${tables[c][v]}`));
  // Brighter than white stays white; darker stays darker (monotone).
  assert.equal(tables[0][250], 255);
  for (let v = 1; v < 256; v++) assert.ok(tables[1][v] >= tables[1][v - 1]);
  // A nearly clear nucleus would need a huge scale: it is held at the upper limit.
  const pale = stainTables([200, 200, 200], [0.001, 0.001, 0.001]);
  assert.equal(pale[0][100], byteOf(od(100, 200) * STAIN_SCALE_LIMITS[1]));
});

test('one cell under two stains comes out alike, and "none" leaves the crop as it is', () => {
  // The second crop: a yellower background, every density 1.5 x in green and 0.7 x in blue.
  const stained = (white: number[], scale: number[]) => {
    const byte = (v: number, c: number) => Math.round((white[c] + 1) * 10 ** (-od(v, 255) * scale[c]) - 1);
    return crop(white, [200, 150, 180].map(byte), [120, 60, 150].map(byte));
  };
  const a = stained([255, 255, 255], [1, 1, 1]);
  const b = stained([250, 240, 190], [1, 1.5, 0.7]);
  const sa = standardizeStain(a.image, a.mask, 'nucleus');
  const sb = standardizeStain(b.image, b.mask, 'nucleus');
  for (let i = 0; i < sa.data.length; i++) assert.ok(Math.abs(sa.data[i] - sb.data[i]) <= 3, `value ${i}: ${sa.data[i]} vs ${sb.data[i]}`);
  // Before standardisation the two differ by far more.
  assert.ok(Math.abs(a.image.data[5 * 3 + 2] - b.image.data[5 * 3 + 2]) > 20);
  assert.equal(standardizeStain(b.image, b.mask, 'none'), b.image);
  assert.notEqual(sb.data, b.image.data);
});
