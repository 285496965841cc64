// The model's class probabilities for square windows of an image, brought back onto the image's
// pixels: what field mode's stage 2 and a crop segmented at the working scale both run. Pure.
//
//   const [{ region, probs }] = await windowProbs(image, [windowAround(cx, cy, side)], predictor, pre, tta);
import type { RgbImage } from '../data/types.js';
import { pixelsToInput } from '../data/pixels.js';
import type { WindowPredictor } from './predictor.js';
import { windowOnImage, windowPixels, windowProbsOnImage, type PixelRect, type SquareWindow, type WindowPreprocessing } from './window.js';

/** One window's output: its part inside the image and the softmax over it (HWC). */
export interface WindowProbs {
  region: PixelRect;
  probs: Float32Array;
}

/**
 * Each window as the model's input (nearest or smooth samples as the preprocessing's fit says,
 * reflected past the image's edge, then the
 * model's pixel normalisation), one predictor call for all of them, and each output resampled onto
 * the image pixels the window covers.
 */
export async function windowProbs(
  image: RgbImage,
  windows: readonly SquareWindow[],
  predictor: WindowPredictor,
  preprocessing: WindowPreprocessing,
  tta: boolean,
): Promise<WindowProbs[]> {
  const size = predictor.inputSize;
  const per = size * size * 3;
  const inputs = new Float32Array(windows.length * per);
  windows.forEach((w, i) => pixelsToInput(windowPixels(image, w, size, preprocessing), preprocessing, inputs, i * per));
  const out = await predictor.predict(inputs, windows.length, tta);
  return windows.map((window, i) => {
    const region = windowOnImage(window, image.width, image.height);
    return { region, probs: windowProbsOnImage(out.subarray(i * per, (i + 1) * per), size, window, region) };
  });
}
