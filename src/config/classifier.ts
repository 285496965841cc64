// The `classifier` section of a run configuration: what a white-cell type classifier sees (the crop
// around the segmented cell, with or without its mask, and morphometric features), how class imbalance
// is handled, what picks the best epoch and how the uncertain threshold is chosen. A run with this
// section trains a classifier (src/classify/) instead of a segmenter; every field has its default here.
import { z } from 'zod';
import { ALL_FEATURE_NAMES, FEATURE_NAMES, type FeatureName } from '../classify/features.js';
import { TEXTURE_FEATURE_NAMES } from '../classify/texture.js';
import { STAIN_NORMALIZATIONS } from '../classify/stain.js';
import { CELL_VIEWS } from '../classify/views.js';
import type { CropOptions } from '../classify/crop.js';

/** What the network sees of a cell: its crop alone, the crop plus nucleus and cytoplasm mask channels, or the crop with everything outside the cell blanked. */
export const CLASSIFIER_INPUTS = ['rgb', 'rgb-mask', 'masked'] as const;
export type ClassifierInput = (typeof CLASSIFIER_INPUTS)[number];

export const ClassifierConfigSchema = z.strictObject({
  /** See CLASSIFIER_INPUTS. The crop's side is data.size. */
  input: z.enum(CLASSIFIER_INPUTS).default('rgb-mask'),
  /**
   * Features joined before the head: the morphometric FEATURE_NAMES (true), none (false), or those
   * named from ALL_FEATURE_NAMES (the crop's texture features, src/classify/texture.ts, only by name).
   */
  features: z.union([z.boolean(), z.array(z.enum(ALL_FEATURE_NAMES as unknown as [FeatureName, ...FeatureName[]])).min(1)]).default(true),
  /** Also join the crop's texture features (TEXTURE_FEATURE_NAMES: nucleus and cytoplasm, src/classify/texture.ts) to those of `features`. */
  texture: z.boolean().default(false),
  /** Space around the cell's bounding box on each side of the crop, as a fraction of the box's longer side. */
  cropMargin: z.number().min(0).max(1).default(0.15),
  /** Colour standardisation of the crop: 'nucleus' scales each channel's optical density so the nucleus has a fixed one (src/classify/stain.ts). */
  stain: z.enum(STAIN_NORMALIZATIONS).default('none'),
  /** 'cell': the crop is the square around the cell; 'image': the whole image squared (src/classify/crop.ts). */
  cropAround: z.enum(['cell', 'image']).default('cell'),
  /**
   * Class weights in the loss: each class's weight is proportional to its training count to the power
   * -classBalance (0: every cell counts the same; 1: every class counts the same), scaled so the mean
   * weight per training cell is 1.
   */
  classBalance: z.number().min(0).max(1).default(0.5),
  /**
   * Label smoothing: the training target puts 1 - labelSmoothing on the labelled type and spreads
   * labelSmoothing over all five, so a cell whose label is wrong (the data sets' authors warn some are)
   * pulls the network less far.
   */
  labelSmoothing: z.number().min(0).lt(1).default(0),
  /**
   * Networks trained one after the other from seeds train.seed, train.seed + 1, ..., each with its own
   * best epoch; the saved model averages their probabilities (one model, src/models/wbc-cnn.ts), and
   * the uncertain threshold is chosen on the average's validation predictions.
   */
  members: z.number().int().min(1).max(9).default(1),
  /**
   * Test-time views of each crop averaged by the saved model (src/classify/views.ts): 'none', 'flips'
   * (4) or 'dihedral' (every flip and quarter turn, 8). Saved in model.json, so `segment`, `evaluate`
   * and the API average the same views; the uncertain threshold is chosen on the validation cells'
   * predictions so averaged. The best epoch is still picked with train.tta's views (one or 4 per cell).
   */
  views: z.enum(CELL_VIEWS).default('none'),
  /**
   * The validation score that picks the best epoch: (lowest) cross-entropy, accuracy, or macro-F1 over
   * the types present. The default is the loss: with some 60 validation cells, one of them a basophil,
   * accuracy and macro-F1 move in steps of a cell and picked epochs as early as 5 of 60 in trials.
   */
  selectBy: z.enum(['macroF1', 'accuracy', 'loss']).default('loss'),
  /**
   * The uncertain threshold is the lowest confidence (in steps of 0.05) at which the validation cells
   * kept (confidence at or above it) are right at least this often; cells below it are reported as
   * 'uncertain' instead of a type. 0.95 rather than more: with some 60 validation cells, 0.98 allows one
   * mistake, so a single confidently mislabelled cell set the threshold at 0.95 and flagged 6 cells in 10.
   */
  targetAccuracy: z.number().gt(0).max(1).default(0.95),
  /**
   * Score the test split at the end also with masks from this segmenter (a model folder; default the
   * bundled one), as `segment` gives them; false: ground-truth masks only.
   */
  predictedMasks: z.union([z.boolean(), z.string()]).default(true),
});

export type ClassifierConfig = z.infer<typeof ClassifierConfigSchema>;

/** The feature names a configuration asks for, in ALL_FEATURE_NAMES order. */
export function selectedFeatures(config: Pick<ClassifierConfig, 'features'> & Partial<Pick<ClassifierConfig, 'texture'>>): FeatureName[] {
  const wanted = new Set<FeatureName>(config.features === true ? FEATURE_NAMES : config.features === false ? [] : config.features);
  if (config.texture) TEXTURE_FEATURE_NAMES.forEach((n) => wanted.add(n));
  return ALL_FEATURE_NAMES.filter((n) => wanted.has(n));
}

/** The crop a configuration makes of each cell (what the model records as cellType.crop); defaults left out. */
export function cropSpecOf(size: number, config: Pick<ClassifierConfig, 'cropMargin' | 'cropAround' | 'stain'>): CropOptions {
  return {
    size,
    margin: config.cropMargin,
    ...(config.cropAround === 'image' ? { around: 'image' as const } : {}),
    ...(config.stain !== 'none' ? { stain: config.stain } : {}),
  };
}
