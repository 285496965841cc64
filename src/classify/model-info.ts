// What a cell-type classifier records in its model.json beside the weights (metadata.cellType): the
// crop, the inputs, the feature scaling fitted on its training cells and the uncertain threshold
// chosen on its validation cells. Checked when a classifier is loaded, so a hand-edited or foreign
// model.json fails with its file and field named instead of giving wrong types.
import { z } from 'zod';
import { CLASSIFIER_INPUTS } from '../config/classifier.js';
import type { ModelMetadata } from '../models/io.js';
import { CELL_TYPES } from './cell-types.js';
import { ALL_FEATURE_NAMES, type FeatureName } from './features.js';
import { STAIN_NORMALIZATIONS } from './stain.js';
import { CELL_VIEWS } from './views.js';

export const CellTypeInfoSchema = z.strictObject({
  crop: z.strictObject({ size: z.number().int().min(8), margin: z.number().min(0).max(1), around: z.enum(['cell', 'image']).optional(), stain: z.enum(STAIN_NORMALIZATIONS).optional() }),
  input: z.enum(CLASSIFIER_INPUTS),
  /** The features the network takes, in order, with the training cells' mean and standard deviation of each. */
  features: z.strictObject({
    names: z.array(z.enum(ALL_FEATURE_NAMES as unknown as [FeatureName, ...FeatureName[]])),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
  }),
  /** Cells whose top probability is below this are reported as 'uncertain'. */
  threshold: z.number().min(0).max(1),
  /** How the threshold was chosen (validation cells), for the record. */
  thresholdChoice: z
    .strictObject({ targetAccuracy: z.number(), validationCells: z.number().int(), keptCells: z.number().int(), keptAccuracy: z.number().nullable() })
    .optional(),
  /** The test-time views of each crop whose predictions are averaged (views.ts); absent: as inference.tta says. */
  views: z.enum(CELL_VIEWS).optional(),
  /** Class weights of the training loss, in CELL_TYPES order. */
  classWeights: z.array(z.number()).optional(),
});
export type CellTypeInfo = z.infer<typeof CellTypeInfoSchema>;

/** Whether a model's metadata says it is a cell-type classifier. */
export function isCellTypeModel(metadata: Pick<ModelMetadata, 'task'>): boolean {
  return metadata.task === 'cell-type';
}

/** The checked cellType block of a classifier's metadata; `where` (its model.json) names it in errors. */
export function cellTypeInfo(metadata: ModelMetadata, where: string): CellTypeInfo {
  if (!isCellTypeModel(metadata)) throw new Error(`${where}: not a cell-type classifier (task ${metadata.task ?? 'segmentation'})`);
  if (metadata.classNames.length !== CELL_TYPES.length || metadata.classNames.some((c, i) => c !== CELL_TYPES[i])) {
    throw new Error(`${where}: class names ${metadata.classNames.join(', ')}; this leukoseg reads ${CELL_TYPES.join(', ')}`);
  }
  const parsed = CellTypeInfoSchema.safeParse(metadata.cellType);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `cellType.${i.path.join('.')}: ${i.message}`);
    throw new Error(`${where}: ${lines.join('; ')}`);
  }
  const { names, mean, std } = parsed.data.features;
  if (mean.length !== names.length || std.length !== names.length) {
    throw new Error(`${where}: cellType.features has ${names.length} names but ${mean.length} means and ${std.length} deviations`);
  }
  if (parsed.data.crop.size !== metadata.preprocessing.inputSize) {
    throw new Error(`${where}: crop size ${parsed.data.crop.size} differs from the input size ${metadata.preprocessing.inputSize}`);
  }
  return parsed.data;
}
