// The one typed configuration of a training run, validated at the edge (CLI flags, saved JSON).
// Every field has its default here; presets only state what differs.
import { z } from 'zod';
import { MODEL_NAMES, modelTask } from '../models/registry.js';
import { AugmentConfigSchema } from '../data/augment.js';
import { SQUARE_FITS, type SquareFit } from '../data/fit-square.js';
import { ClassifierConfigSchema } from './classifier.js';

/** Which `Dataset N/` folders of a collection root to use: one, several, or every one present. */
export const DatasetSelectionSchema = z.union([
  z.number().int().min(1),
  z.array(z.number().int().min(1)).min(1),
  z.literal('all'),
]);
export type DatasetSelection = z.infer<typeof DatasetSelectionSchema>;

export const DataConfigSchema = z.strictObject({
  /**
   * Which `Dataset N/` folder(s) of the collection root to use (a number, a list, or 'all'); ignored
   * for a folder of pairs. Each dataset is its own source: split on its own, recorded on its own.
   */
  dataset: DatasetSelectionSchema.default(1),
  /** Model input side; images and masks are fitted into a square of this side (see `fit`). */
  size: z.number().int().min(8).max(1024).default(128),
  /**
   * 'stretch' resizes to size x size with nearest-neighbour (the study's protocol); 'pad' centres the
   * image unstretched with reflected margins (shrunk only when larger), so no row or column of the
   * image or its mask is duplicated (src/data/fit-square.ts); 'pad-smooth' shrinks larger images with
   * an antialiased filter (and their masks by majority) instead of picking one pixel in every few.
   */
  fit: z.enum(SQUARE_FITS as [SquareFit, ...SquareFit[]]).default('stretch'),
  /** Fraction of the images held out as the test split (sklearn `test_size`). */
  testFraction: z.number().gt(0).lt(1).default(0.3),
  /** Seed of the train/test permutation (numpy `RandomState(seed).permutation`, as sklearn does). */
  splitSeed: z.number().int().min(0).max(2 ** 32 - 1).default(42),
  /**
   * Pixel values into the network: 'scale' is the study's image / 255; 'percentile' stretches each
   * channel of each image from its 1st to its 99th percentile to [0, 1] (Cellpose's normalisation), so
   * a lab's brighter or paler stain enters the network closer to the training images' range.
   */
  normalize: z.enum(['scale', 'percentile']).default('scale'),
  /**
   * Train on only the first N images of each source's training part (after its validation part is
   * carved out, so validation and test stay as without it): learning curves, and measuring fine-tuning
   * on a lab's few annotated images.
   */
  trainLimit: z.number().int().min(1).optional(),
});

export const TrainConfigSchema = z.strictObject({
  epochs: z.number().int().min(1).default(20),
  batchSize: z.number().int().min(1).default(2),
  /** Adam's learning rate; 0.001 is Keras's default, which the study used. */
  learningRate: z.number().positive().default(0.001),
  /** Seed of weight initialisation and of the per-epoch shuffles. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  /**
   * The metric that picks the best epoch, read on the validation part when there is one, else on the
   * test split as the study did (optimistic, and the report says so).
   */
  selectBy: z.enum(['globalSoftDice', 'meanDice']).default('globalSoftDice'),
  /** 'crossEntropy' is the study's; 'diceCrossEntropy' adds 1 - soft Dice, which weighs the small nucleus and cytoplasm classes up. */
  loss: z.enum(['crossEntropy', 'diceCrossEntropy']).default('crossEntropy'),
  /** 'cosine' decays the rate per batch from learningRate to minLearningRate after a linear warm-up. */
  schedule: z.enum(['constant', 'cosine']).default('constant'),
  warmupEpochs: z.number().min(0).default(0),
  minLearningRate: z.number().min(0).default(0),
  /** Fraction of the training images held out (seeded) to pick the best epoch and stop early; 0 = none. */
  valFraction: z.number().min(0).lt(1).default(0),
  /** Stop when the selection metric has not improved for this many epochs; 0 = never. */
  earlyStopPatience: z.number().int().min(0).default(0),
  /** Flip test-time augmentation when scoring validation/test after each epoch (4x the scoring time). */
  tta: z.boolean().default(false),
  /**
   * How an epoch draws from several sources: 0 takes every training image once (a 300-image source
   * outweighs a 100-image one 3:1); 1 gives each source the same share of the epoch (the smaller one's
   * images repeat); in between, a source's share is proportional to its size to the power 1 - balance.
   */
  sourceBalance: z.number().min(0).max(1).default(0),
});

/** How the trained model is meant to be used; saved with it, so segment/evaluate/serve follow it. */
export const InferenceConfigSchema = z.strictObject({
  /** Average the predictions of the image and its flips (4 model passes). */
  tta: z.boolean().default(false),
});

export const ReportConfigSchema = z.strictObject({
  /** Write `predictions-epoch-NN.png` every this many epochs (and after the last one). */
  predictionEvery: z.number().int().min(1).default(2),
  /** How many fixed test images those pictures show. */
  predictionImages: z.number().int().min(1).max(32).default(4),
});

export const RunConfigSchema = z.strictObject({
  preset: z.string(),
  description: z.string().default(''),
  model: z.strictObject({
    name: z.enum(MODEL_NAMES as [string, ...string[]]),
    l2: z.number().min(0).optional(),
    /** U-Net only: poolings, filters of the first level, upsampling kind, bottleneck dropout. */
    depth: z.number().int().min(1).max(6).optional(),
    baseFilters: z.number().int().min(1).max(128).optional(),
    upsample: z.enum(['transpose', 'nearest']).optional(),
    dropout: z.number().min(0).lt(1).optional(),
  }),
  augment: AugmentConfigSchema.prefault({}),
  data: DataConfigSchema.prefault({}),
  train: TrainConfigSchema.prefault({}),
  report: ReportConfigSchema.prefault({}),
  inference: InferenceConfigSchema.prefault({}),
  /** Present: the run trains a white-cell type classifier (model 'wbc-cnn'), not a segmenter. */
  classifier: ClassifierConfigSchema.optional(),
}).refine((c) => (modelTask(c.model.name) === 'cell-type') === (c.classifier !== undefined), {
  message: "a classifier run needs both a 'classifier' section and a cell-type model (wbc-cnn); a segmentation run neither",
  path: ['model', 'name'],
});

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

/** Validates a config object; the error lists each bad field with its path. */
export function parseRunConfig(input: unknown, source = 'config'): RunConfig {
  const result = RunConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}
