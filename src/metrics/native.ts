// Scores at each image's own size: per-image probabilities (already brought back to the image's size)
// against the original masks. The one definition, shared by `evaluate` and training's per-epoch scoring.
import { NUM_CLASSES, type LabelMask } from '../data/types.js';
import { SegmentationMeter } from './confusion.js';
import { argmaxLabels } from './labels.js';
import type { SegmentationMetrics } from './scores.js';

/**
 * Metrics of per-image probabilities at each image's own size against its original mask: the one
 * definition of "native-size" scores, shared by `evaluate` and training's per-epoch scoring.
 */
export function scoreAtImageSizes(
  probs: readonly Float32Array[],
  masks: readonly LabelMask[],
  classWeights?: readonly number[],
): SegmentationMetrics {
  const meter = new SegmentationMeter();
  probs.forEach((p, i) => meter.add(argmaxLabels(p, NUM_CLASSES, classWeights), masks[i].data, { probs: p }));
  return meter.aggregate();
}
