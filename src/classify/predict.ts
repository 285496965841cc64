// Runs a cell-type classifier over prepared cells in batches: inputs built as prepare.ts says, an
// optional test-time augmentation over flips or all eight flips and quarter turns of the crop (a cell
// has no preferred orientation), probabilities out as a plain array. Every tensor is freed before returning.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabelMask, RgbImage } from '../data/types.js';
import type { PixelNormalization } from '../data/pixels.js';
import type { CellTypeInfo } from './model-info.js';
import { CELL_TYPES } from './cell-types.js';
import { cropToInput, featureVector, inputChannels } from './prepare.js';
import { viewTransforms, type CellViews } from './views.js';

export interface CellBatchInput {
  crop: { image: RgbImage; mask: LabelMask };
  /** Unscaled features (PreparedCell.features). */
  features: Float32Array;
}

type Pixels = { scale: number; normalize?: PixelNormalization };

/** The network's inputs for `cells` as tensors: [crop] or [crop, features]. The caller disposes them. */
export function batchTensors(cells: readonly CellBatchInput[], info: CellTypeInfo, pixels: Pixels): tf.Tensor[] {
  const size = info.crop.size;
  const channels = inputChannels(info.input);
  const per = size * size * channels;
  const x = new Float32Array(cells.length * per);
  const featureCount = info.features.names.length;
  const f = new Float32Array(cells.length * featureCount);
  cells.forEach((cell, i) => {
    if (cell.crop.image.width !== size || cell.crop.image.height !== size) {
      throw new Error(`batchTensors: crop ${i} is ${cell.crop.image.width}x${cell.crop.image.height}, the model takes ${size}x${size}`);
    }
    cropToInput(cell.crop.image, cell.crop.mask, info.input, pixels, x, i * per);
    featureVector(cell.features, info.features, f, i * featureCount);
  });
  const crop = tf.tensor4d(x, [cells.length, size, size, channels]);
  return featureCount > 0 ? [crop, tf.tensor2d(f, [cells.length, featureCount])] : [crop];
}

/** Softmax of the crops, averaged over their `views` (views.ts). */
export function predictTensors(model: tfl.LayersModel, inputs: tf.Tensor[], views: CellViews): tf.Tensor2D {
  return tf.tidy(() => {
    const run = (crop: tf.Tensor) => model.predict(inputs.length > 1 ? [crop, inputs[1]] : crop) as tf.Tensor2D;
    const transforms = viewTransforms(views);
    const sum = transforms.slice(1).reduce((acc, view) => tf.add(acc, run(view(inputs[0]))) as tf.Tensor2D, run(inputs[0]));
    return transforms.length === 1 ? sum : (tf.div(sum, transforms.length) as tf.Tensor2D);
  });
}

/** Probabilities of every cell, row after row in CELL_TYPES order (cells x 5). */
export async function predictCells(
  model: tfl.LayersModel,
  cells: readonly CellBatchInput[],
  info: CellTypeInfo,
  pixels: Pixels,
  options: { views?: CellViews; batchSize?: number } = {},
): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 32;
  const out = new Float32Array(cells.length * CELL_TYPES.length);
  for (let start = 0; start < cells.length; start += batchSize) {
    const inputs = batchTensors(cells.slice(start, start + batchSize), info, pixels);
    const probs = predictTensors(model, inputs, options.views ?? 'none');
    out.set(await probs.data<'float32'>(), start * CELL_TYPES.length);
    tf.dispose([...inputs, probs]);
  }
  return out;
}
