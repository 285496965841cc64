// Architectures by name: `createModel('study-model-3', { inputSize: 128, seed: 42 })`.
// Presets (src/config) pick a name and options; nothing else constructs models directly.
import type * as tfl from '@tensorflow/tfjs-layers';
import { studyModel1, studyModel2 } from './study.js';
import type { ModelOptions } from './options.js';

type ModelFactory = (options: ModelOptions) => tfl.LayersModel;

/** How many times each architecture halves the input: the input side must be a multiple of 2^this. */
interface ModelEntry {
  factory: ModelFactory;
  downsamplings: number;
  description: string;
}

export const MODELS = Object.freeze({
  'study-model-1': {
    factory: studyModel1,
    downsamplings: 1,
    description: 'study Model 1: Conv5x5(16)-Pool-Conv5x5(16)-Up-Conv1x1(3)',
  },
  'study-model-2': {
    factory: studyModel2,
    downsamplings: 2,
    description: 'study Model 2: 4 Conv5x5 (16-32-32-16) with BatchNorm, 2 pools, 2 upsamplings',
  },
  'study-model-3': {
    factory: (o: ModelOptions) => studyModel2({ ...o, l2: o.l2 ?? 0.001 }),
    downsamplings: 2,
    description: 'study Model 3: Model 2 with L2(0.001) on every conv kernel',
  },
} satisfies Record<string, ModelEntry>);

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(MODELS, name);
}

/** Builds an untrained model. Throws for unknown names (listing the valid ones) and unusable input sizes. */
export function createModel(name: string, options: ModelOptions): tfl.LayersModel {
  if (!isModelName(name)) {
    throw new Error(`unknown model "${name}": must be one of ${MODEL_NAMES.join(', ')}`);
  }
  const entry: ModelEntry = MODELS[name];
  const multiple = 2 ** entry.downsamplings;
  if (!Number.isInteger(options.inputSize) || options.inputSize < multiple || options.inputSize % multiple !== 0) {
    const near = Math.max(multiple, Math.round(options.inputSize / multiple) * multiple);
    throw new Error(
      `model "${name}" needs an input size divisible by ${multiple}, got ${options.inputSize} (try ${near})`,
    );
  }
  return entry.factory(options);
}
