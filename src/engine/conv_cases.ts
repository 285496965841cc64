// Seeded random convolution geometries shared by the conv kernel tests: odd
// sizes, 1x1 to 5x5 filters, strides 1-3, every kind of padding tfjs accepts.
import { backend_util } from '@tensorflow/tfjs-core';
import { pick, randInt, rng } from './testing.js';

export type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

export interface ConvCase {
  xShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Output (dy) shape of the forward convolution. */
  dyShape: [number, number, number, number];
}

function describePad(pad: Pad): string {
  return Array.isArray(pad) ? JSON.stringify(pad) : String(pad);
}

export function describe(c: ConvCase): string {
  return `x=${c.xShape} filter=${c.filterShape} strides=${c.strides} pad=${describePad(c.pad)}` +
    (c.dimRoundingMode ? ` rounding=${c.dimRoundingMode}` : '');
}

/** Completes a case with its dy shape; null when the geometry has no output. */
export function makeCase(xShape: ConvCase['xShape'], filterShape: ConvCase['filterShape'], strides: [number, number],
  pad: Pad, dimRoundingMode?: ConvCase['dimRoundingMode']): ConvCase | null {
  const info = backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  return { xShape, filterShape, strides, pad, dimRoundingMode, dyShape: info.outShape };
}

/** The geometries the study's models train with, at reduced size. */
export const MODEL_CASES: ConvCase[] = [
  makeCase([2, 16, 16, 3], [5, 5, 3, 16], [1, 1], 'same'),
  makeCase([2, 8, 8, 16], [5, 5, 16, 32], [1, 1], 'same'),
  makeCase([3, 9, 7, 8], [3, 3, 8, 8], [1, 1], 'same'),
  makeCase([2, 16, 16, 16], [1, 1, 16, 3], [1, 1], 'same'),
  // U-Net's 2x2 stride-2 transposed conv: its forward op is Conv2DBackpropInput.
  makeCase([2, 16, 16, 8], [2, 2, 8, 16], [2, 2], 'same'),
  makeCase([1, 10, 10, 4], [3, 3, 4, 8], [2, 2], 'same'),
].filter((c): c is ConvCase => c !== null);

export function randomCases(seed: number, count: number): ConvCase[] {
  const next = rng(seed);
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const k = pick(next, [1, 2, 3, 4, 5]);
    const kw = next() < 0.8 ? k : pick(next, [1, 2, 3, 5]);
    const stride: [number, number] = next() < 0.7
      ? [pick(next, [1, 1, 2, 3]), 0] as [number, number]
      : [pick(next, [1, 2, 3]), pick(next, [1, 2, 3])];
    if (stride[1] === 0) stride[1] = stride[0];
    const padKind = pick(next, ['same', 'same', 'valid', 'number', 'explicit'] as const);
    let pad: Pad;
    let rounding: ConvCase['dimRoundingMode'];
    if (padKind === 'number') {
      pad = randInt(next, 0, 2);
      rounding = pick(next, [undefined, 'floor', 'round', 'ceil'] as const);
    } else if (padKind === 'explicit') {
      pad = [[0, 0], [randInt(next, 0, 3), randInt(next, 0, 3)], [randInt(next, 0, 3), randInt(next, 0, 3)], [0, 0]];
    } else {
      pad = padKind;
    }
    const inChannels = randInt(next, 1, 8);
    const c = makeCase(
      [randInt(next, 1, 3), randInt(next, 1, 11), randInt(next, 1, 11), inChannels],
      [k, kw, inChannels, randInt(next, 1, 8)], stride, pad, rounding);
    if (c !== null) cases.push(c);
  }
  return cases;
}
