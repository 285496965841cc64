// Weighted argmax and the fit of the class weights, on hand-built probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxLabels } from '../models/predict.js';
import { fitClassWeights, type CalibrationImage } from './calibrate.js';

test('argmaxLabels: weights scale each class before the argmax; ties go to the lower class', () => {
  const probs = Float32Array.from([0.5, 0.3, 0.2, 0.2, 0.45, 0.35, 0.4, 0.4, 0.2]);
  assert.deepEqual([...argmaxLabels(probs, 3)], [0, 1, 0]);
  assert.deepEqual([...argmaxLabels(probs, 3, [1, 2, 1])], [1, 1, 1]);
  assert.deepEqual([...argmaxLabels(probs, 3, [1, 1, 2])], [0, 2, 0]);
  assert.throws(() => argmaxLabels(probs, 3, [1, 1]), /2 class weights for 3 classes/);
});

/**
 * A row of pixels whose truth changes class at known places while the "model" puts its borders one
 * pixel outwards on the cell (background -> cytoplasm -> nucleus ramps): the biased model the
 * calibration is for.
 */
function biasedImage(): CalibrationImage {
  const truth: number[] = [];
  const probs: number[] = [];
  // background 0..9, cytoplasm 10..19, nucleus 20..29, cytoplasm 30..39, background 40..49
  const classAt = (x: number) => (x < 10 || x >= 40 ? 0 : x < 20 || x >= 30 ? 1 : 2);
  for (let x = 0; x < 50; x++) {
    truth.push(classAt(x));
    // Model: a soft ramp whose 50 % point sits one pixel into the true background, and one pixel
    // into the true nucleus for the cytoplasm/nucleus border (nucleus drawn too small).
    const outer = 1 / (1 + Math.exp(-((x < 25 ? x - 8.5 : 40.5 - x) * 1.5))); // P(cell)
    const inner = 1 / (1 + Math.exp(-((x < 25 ? x - 20.5 : 28.5 - x) * 1.5))); // P(nucleus | cell)
    probs.push(1 - outer, outer * (1 - inner), outer * inner);
  }
  return { truth: Uint8Array.from(truth), probs: Float32Array.from(probs) };
}

test('fitClassWeights removes a border bias and scores better than plain argmax', () => {
  const image = biasedImage();
  const fit = fitClassWeights([image]);
  assert.equal(fit.pixels, 50);
  assert.ok(fit.meanBefore < 1, 'the biased model is not perfect before calibration');
  assert.ok(fit.meanAfter > fit.meanBefore, `calibration gains (${fit.meanBefore} -> ${fit.meanAfter})`);
  assert.equal(fit.meanAfter, 1, 'a one-pixel shift of a soft ramp is fully correctable');
  assert.equal(fit.classWeights[0], 1);
  // Cytoplasm must lose against background (weight < 1) and nucleus gain against cytoplasm.
  assert.ok(fit.classWeights[1] < 1, `cytoplasm weight ${fit.classWeights[1]}`);
  assert.ok(fit.classWeights[2] > fit.classWeights[1], `nucleus weight ${fit.classWeights[2]} vs ${fit.classWeights[1]}`);
  const labels = argmaxLabels(image.probs, 3, fit.classWeights);
  assert.deepEqual([...labels], [...image.truth]);
});

test('fitClassWeights keeps plain argmax (weights 1) when nothing beats it', () => {
  const truth = Uint8Array.from([0, 1, 2, 0]);
  const probs = Float32Array.from([0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.7, 0.2, 0.1]);
  const fit = fitClassWeights([{ truth, probs }]);
  assert.deepEqual(fit.classWeights, [1, 1, 1]);
  assert.equal(fit.meanBefore, 1);
  assert.equal(fit.meanAfter, 1);
});

test('fitClassWeights refuses empty or mismatched input', () => {
  assert.throws(() => fitClassWeights([]), /no images/);
  assert.throws(
    () => fitClassWeights([{ truth: new Uint8Array(2), probs: new Float32Array(5) }]),
    /calibration image 0: 5 probabilities for 2 labels/,
  );
});
