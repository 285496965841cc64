// Architectures by name: `createModel('study-model-3', { inputSize: 128, seed: 42 })`.
// Presets (src/config) pick a name and options; nothing else constructs models directly.
import type * as tfl from '@tensorflow/tfjs-layers';
import { studyModel1, studyModel2 } from './study.js';
import { unet } from './unet.js';
import type { ModelOptions } from './options.js';

type ModelFactory = (options: ModelOptions) => tfl.LayersModel;

interface ModelEntry {
  factory: ModelFactory;
  /** How many times the architecture halves the input (the side must be a multiple of 2^this). */
  downsamplings: number | ((options: ModelOptions) => number);
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
  unet: {
    // Options may change depth, width, upsampling, dropout, l2.
    factory: unet,
    downsamplings: (o: ModelOptions) => o.depth ?? 4,
    description:
      'U-Net, depth 4, widths 16-32-64-128-256: encoder (Conv3x3+BN+ReLU)x2 + MaxPool per level, ' +
      '2x2 transposed-conv decoder with skip concatenation, Conv1x1(3) softmax head; 1,942,611 trainable ' +
      'parameters, as the PyTorch reference; BatchNorm momentum 0.9 (PyTorch\'s default), not the study models\' 0.99',
  },
  'unet-small': {
    // Depth and width are what the name promises; upsampling, dropout and l2 still come from the options.
    factory: (o: ModelOptions) => unet({ ...o, depth: 3, baseFilters: 8 }),
    downsamplings: 3,
    description:
      'U-Net, depth 3, widths 8-16-32-64 (~121 k parameters, about 1/16 of unet): for the browser and fast training',
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
  const multiple = 2 ** (typeof entry.downsamplings === 'function' ? entry.downsamplings(options) : entry.downsamplings);
  if (!Number.isInteger(options.inputSize) || options.inputSize < multiple || options.inputSize % multiple !== 0) {
    const near = Math.max(multiple, Math.round(options.inputSize / multiple) * multiple);
    throw new Error(
      `model "${name}" needs an input size divisible by ${multiple}, got ${options.inputSize} (try ${near})`,
    );
  }
  return entry.factory(options);
}
