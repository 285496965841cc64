// Records a training run produces, one per epoch; written to metrics.json / metrics.csv.
import type { SegmentationMetrics } from '../metrics/scores.js';

export interface EpochRecord {
  epoch: number;
  /** Mean over the epoch's batches of the objective (cross-entropy plus any L2 penalty), as Keras reports it. */
  trainLoss: number;
  /** Mean over the epoch's batches of the soft Dice of each batch (the study's training metric). */
  trainDice: number;
  /** Global soft Dice on the test split: the study's "MeanDice" (its 0.942). */
  testDice: number;
  /** Hard (argmax) Dice per class on the test split. */
  testDicePerClass: { background: number; cytoplasm: number; nucleus: number };
  /** Mean of the three per-class hard Dice scores. */
  testMeanDice: number;
  /** Everything measured on the test split. */
  test: SegmentationMetrics;
  /** The test split scored at each image's own size (predictions brought back as `evaluate` does). */
  testNative?: SegmentationMetrics;
  /** The same on the validation part carved from the training images, when there is one. */
  valDice?: number;
  valMeanDice?: number;
  valDicePerClass?: { background: number; cytoplasm: number; nucleus: number };
  val?: SegmentationMetrics;
  /** Validation at each image's own size; when present, it is what picks the best epoch by mean Dice. */
  valNative?: SegmentationMetrics;
  /** Per data source, when the run has several: what picks the best epoch then (their mean). */
  valNativeBySource?: Record<string, SegmentationMetrics>;
  testNativeBySource?: Record<string, SegmentationMetrics>;
  /** Adam's rate at the epoch's last batch. */
  learningRate: number;
  /** Wall time of the training pass alone (no evaluation, no writing). */
  trainSeconds: number;
  evalSeconds: number;
  imagesPerSecond: number;
  /** Live tensors after the epoch: must stay flat from epoch to epoch. */
  numTensors: number;
  rssMiB: number;
}
