// The steps around the network, shared by the Node segmenter and the in-browser one (pure: no Node
// imports): the model's input from an image, and from its probabilities the mask and the numbers.
import { fitToSquare } from '../data/fit-square.js';
import { NUM_CLASSES, type LabelMask, type RgbImage } from '../data/types.js';
import { pixelsToInput, squareFitOf, type Preprocessing } from '../models/preprocessing.js';
import { argmaxLabels } from '../models/predict.js';
import { postprocessMask, type PostprocessOptions } from './postprocess.js';
import { measureCell, WARNING_MULTIPLE_CELLS, WARNING_OUT_OF_DISTRIBUTION, type CellStats } from './morphometrics.js';
import { checkImage, checkSegmentation } from './image-check.js';

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
 * argmax, optional clean-up, the checks of image-check.ts, measuring. Clean-up keeps one cell, so
 * whether the model saw several is judged on its raw output. An image that fails a check gets an
 * empty mask, no-cell + out-of-distribution and no confidences (rawMask keeps what the model said); without `image`
 * only the checks of the mask itself run (a cell must have a nucleus).
 */
export function finishSegmentation(
  probs: Float32Array,
  width: number,
  height: number,
  options: { postprocess?: boolean | PostprocessOptions; umPerPx?: number; classWeights?: readonly number[]; image?: RgbImage } = {},
): FinishedSegmentation {
  const rawMask: LabelMask = { width, height, data: argmaxLabels(probs, NUM_CLASSES, options.classWeights) };
  const post = options.postprocess ?? true;
  const cleaned = post === false ? rawMask : postprocessMask(rawMask, post === true ? {} : post).mask;
  const ood = (options.image ? checkImage(options.image) : null) ?? checkSegmentation(cleaned, options.image);
  if (ood !== null) {
    const mask: LabelMask = { width, height, data: new Uint8Array(width * height) };
    // No confidences either: the model's were for the cell it saw, which is not reported.
    const stats = measureCell(mask, { umPerPx: options.umPerPx });
    stats.warnings.push(WARNING_OUT_OF_DISTRIBUTION);
    stats.outOfDistribution = ood;
    return { rawMask, mask, stats };
  }
  const mask = cleaned;
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
