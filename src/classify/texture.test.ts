// Texture features on small hand-made crops whose values can be worked out: a flat region has none,
// a checkerboard's Laplacian and spread are known, a missing region is NaN, and a prepared cell
// carries them after its morphometric features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabelMask, RgbImage } from '../data/types.js';
import { cropTexture, TEXTURE_FEATURE_NAMES } from './texture.js';
import { ALL_FEATURE_NAMES, FEATURE_NAMES } from './features.js';
import { prepareCell } from './prepare.js';
import { selectedFeatures } from '../config/classifier.js';
import { resolvePreset } from '../config/presets.js';

/** An 8x8 crop: a 6x6 cytoplasm square with a 4x4 nucleus inside, grey levels from `grey(x, y, label)`. */
function crop(grey: (x: number, y: number, label: number) => number, withCytoplasm = true): { image: RgbImage; mask: LabelMask } {
  const mask = new Uint8Array(64);
  const data = new Uint8Array(192);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const p = y * 8 + x;
      const inCell = x >= 1 && x <= 6 && y >= 1 && y <= 6;
      const inNucleus = x >= 2 && x <= 5 && y >= 2 && y <= 5;
      mask[p] = inNucleus ? 2 : inCell && withCytoplasm ? 1 : 0;
      data.fill(grey(x, y, mask[p]), p * 3, p * 3 + 3);
    }
  }
  return { image: { width: 8, height: 8, data }, mask: { width: 8, height: 8, data: mask } };
}
const at = (f: Float32Array, name: (typeof TEXTURE_FEATURE_NAMES)[number]) => f[TEXTURE_FEATURE_NAMES.indexOf(name)];

test('a flat nucleus has no texture; a checkerboard one has Laplacian 4 and spread 0.5 (grey 0 or 1)', () => {
  const plain = crop((_x, _y, l) => (l === 2 ? 60 : 200));
  const flat = cropTexture(plain.image, plain.mask);
  assert.equal(at(flat, 'nucleusTexture'), 0);
  assert.equal(at(flat, 'nucleusSpread'), 0);
  const board = crop((x, y, l) => (l === 2 ? ((x + y) % 2 === 0 ? 255 : 0) : 200));
  const f = cropTexture(board.image, board.mask);
  // Interior of the 4x4 nucleus: its 2x2 centre; each pixel differs from its 4 neighbours by 1.
  assert.ok(Math.abs(at(f, 'nucleusTexture') - 4) < 1e-6, `${at(f, 'nucleusTexture')}`);
  assert.ok(Math.abs(at(f, 'nucleusSpread') - 0.5) < 1e-6);
  // The flat cytoplasm ring is one pixel wide around the nucleus: no interior pixel, no spread.
  assert.ok(Number.isNaN(at(f, 'cytoplasmTexture')));
  assert.equal(at(f, 'cytoplasmSpread'), 0);
});

test('a cell without cytoplasm has NaN cytoplasm texture; a prepared cell carries the texture after its morphometric features', () => {
  const bare = crop((_x, _y, l) => (l === 2 ? 60 : 230), false);
  const f = cropTexture(bare.image, bare.mask);
  assert.ok(Number.isNaN(at(f, 'cytoplasmSpread')) && Number.isNaN(at(f, 'cytoplasmTexture')));
  const cell = crop((x, y, l) => (l === 2 ? 40 + 20 * ((x * 3 + y) % 3) : l === 1 ? 180 : 240));
  const prepared = prepareCell(cell.image, cell.mask, { size: 8, margin: 0 })!;
  assert.equal(prepared.features.length, ALL_FEATURE_NAMES.length);
  const texture = prepared.features.subarray(FEATURE_NAMES.length);
  assert.deepEqual(Array.from(texture), Array.from(cropTexture(prepared.crop.image, prepared.crop.mask)));
  assert.ok(texture[0] > 0, 'the striped nucleus has texture');
});

test('classifier.texture adds the four texture features to those of classifier.features; bad values are refused', () => {
  assert.deepEqual(selectedFeatures({ features: true }), [...FEATURE_NAMES]);
  assert.deepEqual(selectedFeatures({ features: true, texture: true }), [...FEATURE_NAMES, ...TEXTURE_FEATURE_NAMES]);
  assert.deepEqual(selectedFeatures({ features: false, texture: true }), [...TEXTURE_FEATURE_NAMES]);
  assert.deepEqual(selectedFeatures({ features: ['cytoplasmSpread', 'nucleusLobes'] }), ['nucleusLobes', 'cytoplasmSpread']);
  assert.equal(resolvePreset('wbc-type').classifier!.texture, true);
  assert.throws(() => resolvePreset('wbc-type', { classifier: { texture: 'yes' } }), /classifier\.texture/);
  assert.throws(() => resolvePreset('wbc-type', { classifier: { textures: true } }), /Unrecognized key: "textures"/);
});
