// Stage 1's tiling: where tiles start, the tapered weights, and the blend itself with stand-in
// predictors, so a seam, a lost band row or a wrong edge reflection shows up as a wrong pixel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taperWeights, tileStarts } from './tiles.js';
import { labelField, tileCount, upsampleLabels, workingGrid, workingIndex } from './label-field.js';
import type { WindowPredictor } from './predictor.js';
import type { RgbImage } from '../data/types.js';
import { resizeNearest } from '../data/resize.js';
import { resizeSmooth } from '../data/resample.js';

const IDENTITY = { scale: 1 / 255 };

test('tiles cover the axis, overlap by at least the overlap, and end flush with it', () => {
  assert.deepEqual(tileStarts(100, 128, 32), [0]);
  assert.deepEqual(tileStarts(128, 128, 32), [0]);
  assert.deepEqual(tileStarts(129, 128, 32), [0, 1]);
  assert.deepEqual(tileStarts(640, 128, 32), [0, 85, 171, 256, 341, 427, 512]);
  for (const length of [129, 200, 333, 640, 1000]) {
    const starts = tileStarts(length, 128, 32);
    assert.equal(starts[0], 0);
    assert.equal(starts.at(-1)! + 128, length);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i - 1] + 128 - starts[i] >= 32, `${length}: tiles ${i - 1} and ${i} overlap by less than 32`);
  }
  assert.throws(() => tileStarts(100, 128, 128), /overlap must be 0\.\.127/);
});

test('the taper rises from near 0 at a tile edge to 1 at the overlap, symmetric, never 0', () => {
  const w = taperWeights(16, 4);
  assert.deepEqual([...w.slice(4, 12)], [1, 1, 1, 1, 1, 1, 1, 1]);
  for (let i = 0; i < 8; i++) assert.equal(w[i], w[15 - i]);
  assert.ok(w[0] > 0 && w[0] < 0.05, `edge weight ${w[0]}`);
  for (let i = 1; i < 4; i++) assert.ok(w[i] > w[i - 1]);
});

/** An image whose colour's argmax (R, G or B) changes in bands and blobs across the field. */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (Math.floor(x / 7) + Math.floor(y / 11) + (((x - 40) ** 2 + (y - 30) ** 2 < 400) ? 1 : 0)) % 3;
      data.set([c === 0 ? 200 : 40 + ((x * 7) % 50), c === 1 ? 200 : 40 + ((y * 3) % 50), c === 2 ? 200 : 60], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** A "network" of input size `size` whose output at each pixel is its input colour, normalised: the blend must give it back. */
function colourPredictor(size: number, calls: number[] = []): WindowPredictor {
  return {
    inputSize: size,
    predict: async (inputs, count) => {
      calls.push(count);
      const out = new Float32Array(inputs.length);
      for (let p = 0; p < inputs.length; p += 3) {
        const sum = inputs[p] + inputs[p + 1] + inputs[p + 2];
        for (let c = 0; c < 3; c++) out[p + c] = inputs[p + c] / sum;
      }
      return out;
    },
  };
}

function argmaxOfImage(image: RgbImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height);
  for (let p = 0; p < out.length; p++) {
    const [r, g, b] = image.data.subarray(p * 3, p * 3 + 3);
    out[p] = r >= g && r >= b ? 0 : g >= b ? 1 : 2;
  }
  return out;
}

test('blending overlapping tiles gives back a pixel-wise prediction exactly: no seams, every band row, edges reflected', async () => {
  for (const [width, height] of [[90, 70], [129, 64], [250, 201], [16, 300]]) {
    const image = pattern(width, height);
    const calls: number[] = [];
    const grid = workingGrid(width, height, 1);
    const labels = await labelField(image, grid, colourPredictor(32, calls), { preprocessing: IDENTITY, overlap: 8, batchSize: 3 });
    assert.deepEqual([...labels.data], [...argmaxOfImage(image)], `${width}x${height}`);
    assert.equal(calls.reduce((a, b) => a + b, 0), tileCount(grid, 32, 8), `${width}x${height}: tiles run`);
    assert.ok(calls.every((n) => n <= 3), 'batches of at most batchSize tiles');
  }
});

test('a network that sees tile edges differently is blended smoothly: the tapered weights hide its edge effect', async () => {
  // Each tile predicts class 2 within 3 px of its own edge and the pixel's colour class elsewhere.
  const size = 32;
  const edgy: WindowPredictor = {
    inputSize: size,
    predict: async (inputs, count) => {
      const out = await colourPredictor(size).predict(inputs, count, false);
      for (let t = 0; t < count; t++) {
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            if (Math.min(x, y, size - 1 - x, size - 1 - y) >= 3) continue;
            out.set([0, 0, 1], ((t * size + y) * size + x) * 3);
          }
        }
      }
      return out;
    },
  };
  const image = pattern(200, 150);
  const labels = await labelField(image, workingGrid(200, 150, 1), edgy, { preprocessing: IDENTITY, overlap: 12 });
  const truth = argmaxOfImage(image);
  // Away from the field's own border (where only one tile's edge exists) the tile edges never win.
  for (let y = 3; y < 147; y++) for (let x = 3; x < 197; x++) assert.equal(labels.data[y * 200 + x], truth[y * 200 + x], `pixel ${x},${y}`);
});

test("a model that shrinks smoothly ('pad-smooth') sees the field shrunk by resizeSmooth; any other, the grid's nearest pixels", async () => {
  const image = pattern(300, 200);
  const grid = workingGrid(300, 200, 0.5);
  const smooth = await labelField(image, grid, colourPredictor(32), { preprocessing: { ...IDENTITY, resize: 'pad-smooth' }, overlap: 8 });
  const nearest = await labelField(image, grid, colourPredictor(32), { preprocessing: { ...IDENTITY, resize: 'pad' }, overlap: 8 });
  assert.deepEqual([...smooth.data], [...argmaxOfImage(resizeSmooth(image, 150, 100, 3))]);
  assert.deepEqual([...nearest.data], [...argmaxOfImage(resizeNearest(image, 150, 100, 3))]);
  assert.notDeepEqual([...smooth.data], [...nearest.data], 'the pattern tells the two shrinks apart');
  // At a scale of 1 or more there is nothing to average: both read the grid's pixels.
  const enlarged = workingGrid(90, 70, 1.5);
  const a = await labelField(pattern(90, 70), enlarged, colourPredictor(32), { preprocessing: { ...IDENTITY, resize: 'pad-smooth' }, overlap: 8 });
  const b = await labelField(pattern(90, 70), enlarged, colourPredictor(32), { preprocessing: IDENTITY, overlap: 8 });
  assert.deepEqual([...a.data], [...b.data]);
});

test('the working grid resamples by the scale with the nearest rule, and its labels come back to the image size', async () => {
  const grid = workingGrid(300, 200, 0.5);
  assert.deepEqual([grid.width, grid.height, grid.columns[0], grid.columns[149], grid.rows[99]], [150, 100, 1, 299, 199]);
  assert.equal(workingIndex(0, 300, 150), 0);
  assert.equal(workingIndex(299, 300, 150), 149);
  const labels = { width: 2, height: 1, data: Uint8Array.from([1, 2]) };
  assert.deepEqual([...upsampleLabels(labels, 4, 2)], [1, 1, 2, 2, 1, 1, 2, 2]);
  assert.throws(() => workingGrid(10, 10, 0), /working scale must be a number above 0/);
});
