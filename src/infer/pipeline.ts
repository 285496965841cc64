// The steps around the network, shared by the Node segmenter and the in-browser one (pure: no Node
// imports): the model's input from an image, and from its probabilities the mask and the numbers.
import { fitToSquare } from '../data/fit-square.js';
import { NUM_CLASSES, type LabelMask, type RgbImage } from '../data/types.js';
import { pixelsToInput, squareFitOf, type Preprocessing } from '../models/preprocessing.js';
import { argmaxLabels } from './predict.js';
import { postprocessMask, type PostprocessOptions } from './postprocess.js';
import { measureCell, WARNING_MULTIPLE_CELLS, type CellStats } from './morphometrics.js';

/**
 * The model's input for one image, in the order the model's metadata fixes: fitted into the
 * inputSize square as it says (stretched or padded, see src/data/fit-square.ts), then turned into
 * the network's values by pixelsToInput, as training did (float32, NHWC, batch of one).
 */
export function prepareInput(image: RgbImage, pre: Preprocessing): Float32Array {
  const small = fitToSquare({ width: image.width, height: image.height, data: image.data }, pre.inputSize, 3, squareFitOf(pre));
  return pixelsToInput(small.data, pre);
}

export interface FinishedSegmentation {
  rawMask: LabelMask;
  mask: LabelMask;
  stats: CellStats;
}

/**
 * From class probabilities at the image's own size (HWC) to the mask and its morphometrics:
 * argmax, optional clean-up, measuring. Clean-up keeps one cell, so whether the model saw several
 * is judged on its raw output.
 */
export function finishSegmentation(
  probs: Float32Array,
  width: number,
  height: number,
  options: { postprocess?: boolean | PostprocessOptions; umPerPx?: number; classWeights?: readonly number[] } = {},
): FinishedSegmentation {
  const rawMask: LabelMask = { width, height, data: argmaxLabels(probs, NUM_CLASSES, options.classWeights) };
  const post = options.postprocess ?? true;
  const mask = post === false ? rawMask : postprocessMask(rawMask, post === true ? {} : post).mask;
  const stats = measureCell(mask, { umPerPx: options.umPerPx, probs });
  if (mask !== rawMask) {
    const raw = measureCell(rawMask);
    stats.cellComponents = raw.cellComponents;
    if (raw.warnings.includes(WARNING_MULTIPLE_CELLS) && !stats.warnings.includes(WARNING_MULTIPLE_CELLS)) {
      stats.warnings.push(WARNING_MULTIPLE_CELLS);
    }
  }
  return { rawMask, mask, stats };
}
