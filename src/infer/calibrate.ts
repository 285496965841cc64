// Calibration of the argmax: per-class factors on the probabilities, fitted on validation images.
//
// Why: a network trained with a Dice term (and on masks resized for training) can be biased at
// class borders - the bundled U-Net drew the whole cell about a pixel too wide and the nucleus too
// narrow, with false positives and negatives far from even. Scaling each class's probability before
// the argmax moves those borders without retraining. Two factors (background stays 1) are fitted on
// the validation part of the training images, never on the test split, and stored in the model's
// metadata so every consumer (segment, evaluate, serve, the page) applies the same decision.

import { NUM_CLASSES } from '../data/types.js';

/** Class probabilities (HWC) and the true labels of one image, at the size it is scored at. */
export interface CalibrationImage {
  probs: Float32Array;
  truth: Uint8Array;
}

export interface CalibrationResult {
  /** Factors on the probabilities, background first (always 1). */
  classWeights: number[];
  /** Per-class Dice on the calibration images with plain argmax, and with the weights. */
  before: number[];
  after: number[];
  /** Mean of the per-class Dice (the fitted objective), before and after. */
  meanBefore: number;
  meanAfter: number;
  pixels: number;
}

export interface FitOptions {
  /** Largest |log factor| searched (default 1: factors from 1/e to e). */
  maxLogWeight?: number;
  /** Step of the coarse grid in log units (default 0.05); a finer pass (step / 5) follows around its best. */
  step?: number;
}

/**
 * Pixel-wise log-ratios ln(p_c / p_0) for the foreground classes: with them, the weighted argmax
 * for log factors (a, b) is argmax(0, r1 + a, r2 + b), cheap to evaluate on a grid.
 */
function logRatios(images: readonly CalibrationImage[]): { r1: Float32Array; r2: Float32Array; truth: Uint8Array } {
  const pixels = images.reduce((n, im) => n + im.truth.length, 0);
  const r1 = new Float32Array(pixels);
  const r2 = new Float32Array(pixels);
  const truth = new Uint8Array(pixels);
  const tiny = 1e-12;
  let o = 0;
  for (const [index, { probs, truth: t }] of images.entries()) {
    if (probs.length !== t.length * NUM_CLASSES) {
      throw new Error(`calibration image ${index}: ${probs.length} probabilities for ${t.length} labels (expected ${NUM_CLASSES} per pixel)`);
    }
    for (let i = 0; i < t.length; i++, o++) {
      const p0 = Math.log(probs[i * 3] + tiny);
      r1[o] = Math.log(probs[i * 3 + 1] + tiny) - p0;
      r2[o] = Math.log(probs[i * 3 + 2] + tiny) - p0;
      if (t[i] >= NUM_CLASSES) throw new Error(`calibration image ${index}: label ${t[i]} at pixel ${i} (classes 0..${NUM_CLASSES - 1})`);
      truth[o] = t[i];
    }
  }
  return { r1, r2, truth };
}

/** Per-class Dice of the argmax with log factors (0, a, b); ties go to the lower class, as argmaxLabels does. */
function diceWithLogWeights(r1: Float32Array, r2: Float32Array, truth: Uint8Array, a: number, b: number): number[] {
  const m = new Float64Array(9);
  for (let i = 0; i < truth.length; i++) {
    const v1 = r1[i] + a;
    const v2 = r2[i] + b;
    let pred = 0;
    let best = 0;
    if (v1 > best) {
      pred = 1;
      best = v1;
    }
    if (v2 > best) pred = 2;
    m[truth[i] * 3 + pred] += 1;
  }
  const dice: number[] = [];
  for (let c = 0; c < 3; c++) {
    const tp = m[c * 3 + c];
    const truthSum = m[c * 3] + m[c * 3 + 1] + m[c * 3 + 2];
    const predSum = m[c] + m[3 + c] + m[6 + c];
    dice.push(truthSum + predSum === 0 ? 1 : (2 * tp) / (truthSum + predSum));
  }
  return dice;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * The factors that maximise the mean per-class Dice (pooled over all pixels of `images`): a grid over
 * the two foreground log factors, then a finer grid around the best point. Deterministic; with no
 * better point than plain argmax the factors stay 1.
 */
export function fitClassWeights(images: readonly CalibrationImage[], options: FitOptions = {}): CalibrationResult {
  if (images.length === 0) throw new Error('fitClassWeights: no images to calibrate on');
  const maxLog = options.maxLogWeight ?? 1;
  const step = options.step ?? 0.05;
  if (!(maxLog > 0) || !(step > 0)) throw new Error(`fitClassWeights: maxLogWeight and step must be positive`);
  const { r1, r2, truth } = logRatios(images);
  const before = diceWithLogWeights(r1, r2, truth, 0, 0);
  let best = { a: 0, b: 0, score: mean(before), dice: before };
  const search = (centerA: number, centerB: number, half: number, delta: number) => {
    const n = Math.round(half / delta);
    for (let i = -n; i <= n; i++) {
      for (let j = -n; j <= n; j++) {
        const a = centerA + i * delta;
        const b = centerB + j * delta;
        if (Math.abs(a) > maxLog + 1e-9 || Math.abs(b) > maxLog + 1e-9) continue;
        const dice = diceWithLogWeights(r1, r2, truth, a, b);
        const score = mean(dice);
        // Among equal scores the smaller change from plain argmax wins: no change is made without a gain.
        if (score > best.score + 1e-12 || (Math.abs(score - best.score) <= 1e-12 && Math.abs(a) + Math.abs(b) < Math.abs(best.a) + Math.abs(best.b))) {
          best = { a, b, score, dice };
        }
      }
    }
  };
  search(0, 0, maxLog, step);
  search(best.a, best.b, step, step / 5);
  return {
    classWeights: [1, Math.exp(best.a), Math.exp(best.b)],
    before,
    after: best.dice,
    meanBefore: mean(before),
    meanAfter: best.score,
    pixels: truth.length,
  };
}
