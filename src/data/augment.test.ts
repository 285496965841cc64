// Tests for augment.ts and its geometry/colour steps: exact identities, a hand-checked quarter turn,
// reflected borders, masks kept to class indices and aligned with their images, and seeded repeatability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyAugmentation,
  AugmentConfigSchema,
  augmentPair,
  NEUTRAL_PARAMS,
  sampleAugmentParams,
  type AugmentConfigInput,
  type AugmentParams,
} from './augment.js';
import { affine, flipHorizontal, flipVertical, rotate90 } from './augment-geometry.js';
import { colorJitter } from './augment-color.js';
import { createRng } from './random.js';
import type { LabelMask, RgbImage } from './types.js';

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = createRng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng() * 256)) };
}

function randomMask(width: number, height: number, seed: number): LabelMask {
  const rng = createRng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height }, () => Math.floor(rng() * 3)) };
}

const config = (input: AugmentConfigInput) => AugmentConfigSchema.parse({ enabled: true, ...input });

/** Every strength at zero: nothing may change. */
const IDENTITY = config({
  flip: false, rotate90: false, rotateDegrees: 0, scale: [1, 1], shift: 0,
  brightness: 0, contrast: 0, saturation: 0, hue: 0, blur: 0, noise: 0,
});

const params = (p: Partial<AugmentParams>): AugmentParams => ({ ...NEUTRAL_PARAMS, ...p });

test('the config schema fills every default, with augmentation off', () => {
  const c = AugmentConfigSchema.parse({});
  assert.equal(c.enabled, false);
  assert.deepEqual(c.scale, [0.9, 1.1]);
  assert.equal(c.rotateDegrees, 15);
  assert.equal(c.noise, 0);
  assert.throws(() => AugmentConfigSchema.parse({ scale: [1.2, 0.8] }), /min <= max/);
  assert.throws(() => AugmentConfigSchema.parse({ blur: 2 }));
});

test('a flip applied twice is the identity', () => {
  const img = randomImage(7, 5, 1);
  const mask = randomMask(7, 5, 2);
  assert.deepEqual(flipHorizontal(flipHorizontal(img, 3), 3), img);
  assert.deepEqual(flipVertical(flipVertical(img, 3), 3), img);
  assert.deepEqual(flipHorizontal(flipHorizontal(mask, 1), 1), mask);
  assert.notDeepEqual(flipHorizontal(img, 3).data, img.data);
});

test('four quarter turns are the identity, and -1 turn is 3 turns', () => {
  const img = randomImage(6, 4, 3);
  let turned = img;
  for (let i = 0; i < 4; i++) turned = rotate90(turned, 1, 3);
  assert.deepEqual(turned, img);
  assert.deepEqual(rotate90(img, -1, 3), rotate90(img, 3, 3));
  assert.deepEqual(rotate90(rotate90(img, 1, 3), 3, 3), img);
});

test('a quarter turn of a 2x3 grid, counter-clockwise like numpy.rot90', () => {
  // [[1 2 3], [4 5 6]] -> np.rot90 -> [[3 6], [2 5], [1 4]]
  const grid = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual(rotate90(grid, 1, 1), { width: 2, height: 3, data: Uint8Array.from([3, 6, 2, 5, 1, 4]) });
  assert.deepEqual(rotate90(grid, 3, 1), { width: 2, height: 3, data: Uint8Array.from([4, 1, 5, 2, 6, 3]) });
  assert.deepEqual(rotate90(grid, 2, 1), { width: 3, height: 2, data: Uint8Array.from([6, 5, 4, 3, 2, 1]) });
});

test('pixels shifted in from outside are reflected about the edge pixel, not filled with black', () => {
  const ramp = { width: 5, height: 1, data: Uint8Array.from([10, 20, 30, 40, 50]) };
  const shift = (shiftX: number) => affine(ramp, { angleDegrees: 0, scale: 1, shiftX, shiftY: 0 }, 1, 'nearest').data;
  assert.deepEqual(shift(2), Uint8Array.from([30, 20, 10, 20, 30]));
  assert.deepEqual(shift(-2), Uint8Array.from([30, 40, 50, 40, 30]));
  const bilinear = affine(ramp, { angleDegrees: 0, scale: 1, shiftX: 0.5, shiftY: 0 }, 1, 'bilinear').data;
  assert.deepEqual(bilinear, Uint8Array.from([15, 15, 25, 35, 45]));
});

test('flips and quarter turns folded into the warp pick the same pixels as the separate passes', () => {
  const img = randomImage(9, 9, 12);
  const shift = { angleDegrees: 0, scale: 1, shiftX: 2, shiftY: -1 };
  for (const flipH of [false, true]) {
    for (const flipV of [false, true]) {
      for (let quarterTurns = 0; quarterTurns < 4; quarterTurns++) {
        let steps = img;
        if (flipH) steps = flipHorizontal(steps, 3);
        if (flipV) steps = flipVertical(steps, 3);
        steps = affine(rotate90(steps, quarterTurns, 3), shift, 3, 'bilinear');
        const folded = affine(img, shift, 3, 'bilinear', { flipHorizontal: flipH, flipVertical: flipV, quarterTurns });
        assert.deepEqual(folded, steps, `flipH ${flipH} flipV ${flipV} turns ${quarterTurns}`);
      }
    }
  }
});

test('an all-zero config returns identical (copied) arrays', () => {
  const image = randomImage(16, 16, 4);
  const mask = randomMask(16, 16, 5);
  const out = augmentPair(image, mask, IDENTITY, createRng(9));
  assert.deepEqual(out.image, image);
  assert.deepEqual(out.mask, mask);
  assert.notEqual(out.image.data, image.data);
  const off = augmentPair(image, mask, AugmentConfigSchema.parse({}), createRng(9));
  assert.deepEqual(off.image, image);
});

test('masks keep class indices 0..2 through any affine warp (nearest, never blended)', () => {
  const rng = createRng(11);
  const strong = config({ rotateDegrees: 45, scale: [0.7, 1.4], shift: 0.3 });
  for (let i = 0; i < 20; i++) {
    const out = augmentPair(randomImage(24, 24, i), randomMask(24, 24, 100 + i), strong, rng);
    const seen = new Set(out.mask.data);
    for (const v of seen) assert.ok(v <= 2, `class ${v}`);
  }
});

test('colour jitter changes the image and leaves the mask untouched', () => {
  const image = randomImage(16, 16, 6);
  const mask = randomMask(16, 16, 7);
  const colourOnly = config({ flip: false, rotate90: false, rotateDegrees: 0, scale: [1, 1], shift: 0, blur: 1, noise: 0.05 });
  const out = augmentPair(image, mask, colourOnly, createRng(3));
  assert.deepEqual(out.mask, mask);
  assert.notDeepEqual(out.image.data, image.data);
});

test('colour jitter: brightness scales, saturation and hue keep grays gray', () => {
  const gray: RgbImage = { width: 2, height: 1, data: Uint8Array.from([100, 100, 100, 200, 200, 200]) };
  const neutral = { brightness: 1, contrast: 1, saturation: 1, hue: 0 };
  assert.deepEqual(colorJitter(gray, { ...neutral, brightness: 1.1 }).data, Uint8Array.from([110, 110, 110, 220, 220, 220]));
  assert.deepEqual(colorJitter(gray, { ...neutral, saturation: 0.5, hue: 0.1 }).data, gray.data);
  // Contrast 0.5 pulls both halfway to the mean gray 150.
  assert.deepEqual(colorJitter(gray, { ...neutral, contrast: 0.5 }).data, Uint8Array.from([125, 125, 125, 175, 175, 175]));
});

test('the same seed gives the same pair, different seeds differ', () => {
  const image = randomImage(32, 32, 8);
  const mask = randomMask(32, 32, 9);
  const all = config({ blur: 0.8, noise: 0.03 });
  const a = augmentPair(image, mask, all, createRng(42));
  const b = augmentPair(image, mask, all, createRng(42));
  const c = augmentPair(image, mask, all, createRng(43));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.image.data, c.image.data);
});

test('one strength does not shift the draws of the others', () => {
  const p1 = sampleAugmentParams(config({ hue: 0 }), createRng(5), 32, 32);
  const p2 = sampleAugmentParams(config({ hue: 0.1 }), createRng(5), 32, 32);
  assert.deepEqual({ ...p1, hue: 0 }, { ...p2, hue: 0 });
});

/** A 1-pixel marker: bright in the image exactly where the mask says nucleus. */
function marker(size: number, x: number, y: number): { image: RgbImage; mask: LabelMask } {
  const image: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  const mask: LabelMask = { width: size, height: size, data: new Uint8Array(size * size) };
  image.data.fill(255, (y * size + x) * 3, (y * size + x) * 3 + 3);
  mask.data[y * size + x] = 2;
  return { image, mask };
}

test('geometry moves image and mask together (flips, quarter turns, whole-pixel shifts)', () => {
  const { image, mask } = marker(12, 3, 8);
  for (const flipH of [false, true]) {
    for (const flipV of [false, true]) {
      for (let quarterTurns = 0; quarterTurns < 4; quarterTurns++) {
        const p = params({ flipHorizontal: flipH, flipVertical: flipV, quarterTurns, shiftX: 2, shiftY: -3 });
        const out = applyAugmentation(image, mask, p);
        // Reflected borders may bring in a mirror copy of the marker; it must be mirrored in both alike.
        assert.ok(out.mask.data.includes(2), JSON.stringify(p));
        for (let i = 0; i < out.mask.data.length; i++) {
          const bright = out.image.data[i * 3] === 255 && out.image.data[i * 3 + 1] === 255 && out.image.data[i * 3 + 2] === 255;
          const dark = out.image.data[i * 3] === 0 && out.image.data[i * 3 + 1] === 0 && out.image.data[i * 3 + 2] === 0;
          assert.ok(out.mask.data[i] === 2 ? bright : dark, `pixel ${i} of ${JSON.stringify(p)}`);
        }
      }
    }
  }
});

test('geometry moves image and mask together (rotation, scaling, sub-pixel shifts)', () => {
  // A 5x5 marker, so bilinear smearing and nearest rounding still leave a blob with a clear centre.
  const size = 32;
  const image: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  const mask: LabelMask = { width: size, height: size, data: new Uint8Array(size * size) };
  for (let y = 10; y < 15; y++) {
    for (let x = 6; x < 11; x++) {
      image.data.fill(255, (y * size + x) * 3, (y * size + x) * 3 + 3);
      mask.data[y * size + x] = 2;
    }
  }
  const centre = (weights: (i: number) => number) => {
    let total = 0, cx = 0, cy = 0;
    for (let i = 0; i < size * size; i++) {
      const w = weights(i);
      total += w;
      cx += w * (i % size);
      cy += w * Math.floor(i / size);
    }
    return [cx / total, cy / total];
  };
  const rng = createRng(21);
  const strong = config({ rotateDegrees: 30, scale: [0.8, 1.2], shift: 0.1, brightness: 0, contrast: 0, saturation: 0, hue: 0 });
  for (let i = 0; i < 10; i++) {
    const out = augmentPair(image, mask, strong, rng);
    const [ix, iy] = centre((j) => out.image.data[j * 3]);
    const [mx, my] = centre((j) => (out.mask.data[j] === 2 ? 1 : 0));
    assert.ok(Math.hypot(ix - mx, iy - my) < 0.75, `draw ${i}: image centre (${ix}, ${iy}), mask centre (${mx}, ${my})`);
  }
});

test('nearest resampling of the image picks source pixels where the mask does, and is drawn only when asked for', () => {
  const image = randomImage(24, 24, 3);
  const mask = randomMask(24, 24, 4);
  const warp = { angleDegrees: 7, scale: 0.94, shiftX: 1.5, shiftY: -0.5 };
  const out = applyAugmentation(image, mask, params({ ...warp, nearestImage: true }));
  assert.deepEqual(out.image, affine(image, warp, 3, 'nearest'));
  // Bilinear, the default, blends neighbours: values no source pixel at that place has.
  assert.notDeepEqual(applyAugmentation(image, mask, params(warp)).image, out.image);
  // The mask is sampled by the same rule, so each pixel's label is its image pixel's.
  assert.deepEqual(out.mask, affine(mask, warp, 1, 'nearest'));
  const off = sampleAugmentParams(config({}), createRng(9), 24, 24);
  const on = sampleAugmentParams(config({ nearest: 1 }), createRng(9), 24, 24);
  assert.equal(off.nearestImage, false);
  assert.equal(on.nearestImage, true);
  assert.deepEqual({ ...on, nearestImage: false }, off);
});

test('reflectedCells background: a zoomed-out warp keeps the cell and drops its mirror images; kept by default', () => {
  const size = 32;
  const mask: LabelMask = { width: size, height: size, data: new Uint8Array(size * size) };
  for (let y = 12; y < 20; y++) for (let x = 12; x < 20; x++) mask.data[y * size + x] = y < 16 ? 1 : 2;
  const image = randomImage(size, size, 4);
  const zoomOut = params({ scale: 0.4 });
  const reflected = applyAugmentation(image, mask, zoomOut).mask;
  const dropped = applyAugmentation(image, mask, { ...zoomOut, dropReflections: true }).mask;
  const cellPixels = (m: LabelMask) => m.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
  // The 8x8 cell at 0.4 is about 3x3; its reflections repeat it around the square.
  assert.ok(cellPixels(reflected) > 4 * cellPixels(dropped), `${cellPixels(reflected)} against ${cellPixels(dropped)}`);
  assert.ok(cellPixels(dropped) >= 9 && cellPixels(dropped) <= 25, `${cellPixels(dropped)} cell pixels kept`);
  // What is kept is the middle copy, unchanged, and the image is the same either way.
  for (let i = 0; i < dropped.data.length; i++) if (dropped.data[i] !== 0) assert.equal(dropped.data[i], reflected.data[i]);
  const centre = (size / 2) * size + size / 2;
  assert.notEqual(dropped.data[centre - size - 1] + dropped.data[centre], 0);
  assert.deepEqual(applyAugmentation(image, mask, { ...zoomOut, dropReflections: true }).image, applyAugmentation(image, mask, zoomOut).image);
  // A cell that reaches the edge keeps the reflection it touches (column 7 samples source column -5.75,
  // reflected to 6) and loses the far copy (column 31 samples 54.25, reflected to 8).
  const edge: LabelMask = { width: size, height: size, data: new Uint8Array(size * size) };
  for (let y = 0; y < size; y++) for (let x = 0; x < 10; x++) edge.data[y * size + x] = 1;
  const edgeKept = applyAugmentation(image, edge, zoomOut).mask;
  const edgeDropped = applyAugmentation(image, edge, { ...zoomOut, dropReflections: true }).mask;
  assert.deepEqual([edgeKept.data[16 * size + 7], edgeKept.data[16 * size + 31]], [1, 1]);
  assert.deepEqual([edgeDropped.data[16 * size + 7], edgeDropped.data[16 * size + 31]], [1, 0]);
  // The option: off by default, and drawn without touching the random stream.
  assert.equal(sampleAugmentParams(config({}), createRng(1), size, size).dropReflections, false);
  const on = sampleAugmentParams(config({ reflectedCells: 'background' }), createRng(1), size, size);
  assert.deepEqual({ ...on, dropReflections: false }, sampleAugmentParams(config({}), createRng(1), size, size));
});
