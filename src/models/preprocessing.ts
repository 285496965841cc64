// How an image becomes the model's input, as recorded in model.json, and the square fit that record
// names. Pure (no Node imports): the page imports it as well as the Node segmenter.
import { SQUARE_FITS, type SquareFit } from '../data/fit-square.js';
import { PIXEL_NORMALIZATIONS, type PixelNormalization } from '../data/pixels.js';

export { pixelsToInput, type PixelNormalization } from '../data/pixels.js';

/** How an image becomes the model's input; stored with the model and applied in this order. */
export interface Preprocessing {
  /** Square side the image is fitted into. */
  inputSize: number;
  /**
   * How the image is fitted into that square (see src/data/fit-square.ts): 'nearest' stretches it
   * with nearest-neighbour (the study's protocol; the name older model.json files carry), 'pad'
   * centres it unstretched with reflected margins, shrinking only images larger than the square
   * (nearest-neighbour), 'pad-smooth' likewise with an antialiased shrink.
   * 'cell-crop' (a cell-type classifier): a square around the segmented cell, resized smoothly to
   * inputSize (src/classify/crop.ts); such a model is not a segmenter.
   */
  resize: 'nearest' | 'pad' | 'pad-smooth' | 'cell-crop';
  /** Pixel values are multiplied by this (1/255: the study's `image / 255`). */
  scale: number;
  channels: 'rgb';
  /**
   * 'percentile': each channel of the fitted image is mapped from its 1st..99th percentile to 0..1
   * instead of multiplied by `scale` (absent or 'scale': the plain scaling older models record).
   */
  normalize?: PixelNormalization;
}


/** The preprocessing a model trained with `fit` at `inputSize` records. */
export function preprocessingFor(inputSize: number, fit: SquareFit = 'stretch', normalize: PixelNormalization = 'scale'): Preprocessing {
  if (!SQUARE_FITS.includes(fit)) throw new Error(`preprocessing: fit must be ${SQUARE_FITS.join(' or ')}, got '${String(fit)}'`);
  if (!PIXEL_NORMALIZATIONS.includes(normalize)) throw new Error(`preprocessing: normalize must be ${PIXEL_NORMALIZATIONS.join(' or ')}, got '${String(normalize)}'`);
  const pre: Preprocessing = { inputSize, resize: fit === 'stretch' ? 'nearest' : fit, scale: 1 / 255, channels: 'rgb' };
  return normalize === 'scale' ? pre : { ...pre, normalize };
}

/**
 * The square fit a model's preprocessing asks for. An unknown value is refused rather than read as
 * 'stretch': a model trained on padded inputs gives poor masks on stretched ones without any error.
 */
export function squareFitOf(pre: Pick<Preprocessing, 'resize'>): SquareFit {
  if (pre.resize === 'nearest') return 'stretch';
  if (pre.resize === 'pad' || pre.resize === 'pad-smooth') return pre.resize;
  if (pre.resize === 'cell-crop') {
    throw new Error("this is a cell-type classifier (its input is the crop around a segmented cell), not a segmenter; use it with segment --classifier or evaluate");
  }
  throw new Error(`model preprocessing: unknown resize '${String(pre.resize)}' (this leukoseg knows 'nearest', 'pad' and 'pad-smooth')`);
}

/** Refuses a recorded preprocessing this leukoseg cannot reproduce (checked when a model is loaded). */
export function checkPreprocessing(pre: Pick<Preprocessing, 'resize' | 'normalize'>): void {
  if (pre.resize !== 'cell-crop') squareFitOf(pre);
  if (pre.normalize !== undefined && !PIXEL_NORMALIZATIONS.includes(pre.normalize)) {
    throw new Error(`model preprocessing: unknown normalize '${String(pre.normalize)}' (this leukoseg knows ${PIXEL_NORMALIZATIONS.join(' and ')})`);
  }
}
