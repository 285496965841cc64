// The crop-scale decisions on their own (which crops are segmented again, at what scale, in which
// window) and the second pass mapped back onto the crop, with a stand-in model that labels dark input
// pixels nucleus: whatever the window's scale, the mask must land on the image's own disc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from '../data/types.js';
import { preprocessingFor } from '../models/preprocessing.js';
import type { WindowPredictor } from '../field/predictor.js';
import { WORKING_CELL_DIAMETER } from '../field/scale.js';
import { finishSegmentation } from './pipeline.js';
import { CROP_SCALE_TOLERANCE, cropFitScale, cropProbsInWindow, cropRescale, cropWindow, rescaleCrop } from './crop-scale.js';

const PAD = preprocessingFor(128, 'pad');

test('a crop fitted by pad keeps its scale up to 128 px and is shrunk beyond; a stretch takes both axes', () => {
  assert.equal(cropFitScale(120, 104, PAD), 1);
  assert.equal(cropFitScale(60, 60, PAD), 1);
  assert.ok(Math.abs(cropFitScale(300, 300, PAD) - 128 / 300) < 1e-12);
  assert.ok(Math.abs(cropFitScale(120, 100, preprocessingFor(128, 'stretch')) - Math.sqrt((128 / 120) * (128 / 100))) < 1e-12);
});

test('only a cell further than the tolerance from the working diameter at the model input is rescaled, to the working diameter', () => {
  assert.equal(CROP_SCALE_TOLERANCE > 1, true);
  assert.equal(cropRescale(75, 1), null, 'a Dataset 1 cell at 1x');
  assert.equal(cropRescale(156, 128 / 300), null, 'a Dataset 2 cell in its 300 px crop');
  assert.equal(cropRescale(37, 1), WORKING_CELL_DIAMETER / 37, 'a Dataset 1 cell at 0.5x');
  assert.equal(cropRescale(156, 128 / 180), WORKING_CELL_DIAMETER / 156, 'a Dataset 2 cell cut tight: 111 model px');
  assert.equal(cropRescale(66 * 1.49, 1, 1.5), null);
  assert.equal(cropRescale(66 * 1.45, 1), 66 / (66 * 1.45), 'just past the default tolerance');
  assert.equal(cropRescale(66 * 1.51, 1, 1.5), 66 / (66 * 1.51));
  assert.equal(cropRescale(66.5, 1, 1), 66 / 66.5, 'tolerance 1 rescales any cell not at the working diameter');
  assert.throws(() => cropRescale(0, 1), /cell diameter must be a number of pixels above 0, got 0/);
  assert.throws(() => cropRescale(40, 1, 0.9), /tolerance must be a factor of at least 1, got 0.9/);
});

test('the window is centred on the crop when it holds it all, else on the cell', () => {
  // 56 px crop, 37 px cell: 72 px window, 8 px reflected margin each side.
  assert.deepEqual(cropWindow(56, 56, 66 / 37, 128, { x: 10, y: 10 }), { x: -8, y: -8, side: 72 });
  // A 200 px crop whose 30 px cell sits at (50, 60): 58 px around the cell.
  assert.deepEqual(cropWindow(200, 150, 66 / 30, 128, { x: 50, y: 60 }), { x: 21, y: 31, side: 58 });
  assert.deepEqual(cropWindow(200, 150, 66 / 30, 128, null), { x: 71, y: 46, side: 58 });
});

/** A disc of `r` px (dark purple, a "nucleus") centred at (cx, cy) on a light, slightly textured ground. */
function disc(width: number, height: number, cx: number, cy: number, r: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 < r * r;
      data.set(inside ? [80, 30, 110] : [225, 205, 200 + ((x * 7 + y * 13) % 30)], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** Nucleus where the input is dark, cytoplasm in a thin band of mid values, background elsewhere; counts calls. */
function darkIsNucleus(size = 128): WindowPredictor & { calls: number } {
  const p = {
    inputSize: size,
    calls: 0,
    predict: async (inputs: Float32Array, count: number) => {
      p.calls++;
      const out = new Float32Array(count * size * size * 3);
      for (let i = 0; i < count * size * size; i++) out[i * 3 + (inputs[i * 3] < 0.5 ? 2 : 0)] = 1;
      return out;
    },
  };
  return p;
}

function nucleusPixels(mask: { data: Uint8Array }): number {
  return mask.data.reduce((n, v) => n + (v === 2 ? 1 : 0), 0);
}

test('the second pass comes back onto the crop: background beyond a window smaller than the crop, the disc where it is', async () => {
  const image = disc(200, 150, 50, 60, 15);
  const window = cropWindow(200, 150, 66 / 30, 128, { x: 50, y: 60 });
  const probs = await cropProbsInWindow(image, window, darkIsNucleus(), PAD, false);
  assert.equal(probs.length, 200 * 150 * 3);
  assert.deepEqual([...probs.subarray((149 * 200 + 199) * 3, (149 * 200 + 200) * 3)], [1, 0, 0], 'outside the window: background');
  assert.deepEqual([...probs.subarray((60 * 200 + 50) * 3, (60 * 200 + 51) * 3)], [0, 0, 1], 'the disc centre: nucleus');
});

test('a crop in range is left exactly as its first pass; a small cell is segmented again, mapped back onto the crop', async () => {
  const small = disc(56, 56, 28, 28, 18);
  const predictor = darkIsNucleus();
  const background = new Float32Array(56 * 56 * 3).map((_, i) => (i % 3 === 0 ? 1 : 0));
  const firstSmall = finishSegmentation(background, 56, 56, { image: small });
  // A first pass that found nothing is followed by one at twice the size, which finds the disc and measures it.
  const probed = await rescaleCrop(small, firstSmall, predictor, { preprocessing: PAD, tta: false });
  assert.deepEqual([probed.rescaled, probed.passes, probed.modelScale, predictor.calls], [true, 1, 2, 1]);
  assert.ok(Math.abs(probed.cellDiameter! - 36) < 1.5, `probe's diameter ${probed.cellDiameter}`);
  // ... unless the image itself fails the checks (a flat gray crop): then no pass follows.
  const gray: RgbImage = { width: 56, height: 56, data: new Uint8Array(56 * 56 * 3).fill(128) };
  const blank = await rescaleCrop(gray, finishSegmentation(background, 56, 56, { image: gray }), predictor, { preprocessing: PAD, tta: false });
  assert.deepEqual([blank.cellDiameter, blank.rescaled, blank.passes, predictor.calls], [null, false, 0, 1]);

  const firstProbs = await cropProbsInWindow(small, cropWindow(56, 56, 1, 128, null), predictor, PAD, false);
  const first = finishSegmentation(firstProbs, 56, 56, { image: small });
  const again = await rescaleCrop(small, first, predictor, { preprocessing: PAD, tta: false });
  assert.deepEqual([again.rescaled, again.passes, again.cellDiameterSource], [true, 1, 'estimated'], 'the second pass sees the disc at the working size: no third');
  assert.ok(Math.abs(again.cellDiameter! - 36) < 1.5, `measured diameter ${again.cellDiameter}`);
  assert.ok(Math.abs(again.modelScale - 66 / 36) < 0.05, `scale ${again.modelScale}`);
  assert.deepEqual([again.finished.mask.width, again.finished.mask.height], [56, 56]);
  assert.ok(Math.abs(nucleusPixels(again.finished.mask) - nucleusPixels(first.mask)) <= 8, 'the disc lands where it is');

  const inRange = await rescaleCrop(small, first, predictor, { preprocessing: PAD, tta: false, cellDiameter: 66 });
  assert.equal(inRange.finished, first, 'a given diameter within the tolerance keeps the first pass');
  assert.deepEqual([inRange.cellDiameter, inRange.cellDiameterSource, inRange.modelScale], [66, 'given', 1]);
});
