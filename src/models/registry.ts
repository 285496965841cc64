// Architectures by name: `createModel('study-model-3', { inputSize: 128, seed: 42 })`.
// Presets (src/config) pick a name and options; nothing else constructs models directly.
import type * as tfl from '@tensorflow/tfjs-layers';
import { studyModel1, studyModel2 } from './study.js';
import { unet } from './unet.js';
import { wbcCnn, WBC_CNN_POOLINGS } from './wbc-cnn.js';
import type { ModelOptions } from './options.js';

type ModelFactory = (options: ModelOptions) => tfl.LayersModel;

interface ModelEntry {
  factory: ModelFactory;
  /** How many times the architecture halves the input (the side must be a multiple of 2^this). */
  downsamplings: number | ((options: ModelOptions) => number);
  description: string;
  /** What the network outputs: a class map of its input (segmentation, the default) or one cell type per crop. */
  task?: ModelTask;
}

/** Segmenters map an image to per-pixel classes; 'cell-type' classifiers map a cell crop to its type. */
export type ModelTask = 'segmentation' | 'cell-type';

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
  'wbc-cnn': {
    // A classifier, not a segmenter: the crop around a segmented cell in, five cell-type probabilities out.
    factory: wbcCnn,
    downsamplings: WBC_CNN_POOLINGS,
    task: 'cell-type',
    description:
      'white-cell type classifier: 3 x (Conv3x3+BN+ReLU, MaxPool) at 16-32-64, Conv3x3(64), global average pool, ' +
      'optional morphometric features joined, Dense(64) + dropout, Dense(5) softmax (~60 k parameters)',
  },
} satisfies Record<string, ModelEntry>);

export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

export function isModelName(name: string): name is ModelName {
  return Object.prototype.hasOwnProperty.call(MODELS, name);
}

/** What an architecture's output is (see ModelTask); throws for unknown names. */
export function modelTask(name: string): ModelTask {
  if (!isModelName(name)) throw new Error(`unknown model "${name}": must be one of ${MODEL_NAMES.join(', ')}`);
  return (MODELS[name] as ModelEntry).task ?? 'segmentation';
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
