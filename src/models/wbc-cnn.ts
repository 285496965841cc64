// The white-cell type classifier's network: a small CNN on the crop around the segmented cell, with the
// cell's morphometric features joined in before the head. Inputs `crop` (and `features` when any).
import * as tfl from '@tensorflow/tfjs-layers';
import { applyTo, convBnRelu, SeedSequence, type ConvContext } from './blocks.js';
import type { ModelOptions } from './options.js';

export const WBC_CNN_DEFAULTS = Object.freeze({
  /** RGB crop; 5 with the nucleus and cytoplasm mask channels. */
  inputChannels: 3,
  featureCount: 0,
  classCount: 5,
  baseFilters: 16,
  dropout: 0.3,
  l2: 0,
});

/** Poolings of the network: the crop side must be a multiple of 2^this. */
export const WBC_CNN_POOLINGS = 3;

/**
 * Builds the classifier. Layer names (stable, used by saved models):
 *   crop                                                   [size, size, inputChannels]
 *   block{k}_conv1/bn1/relu1, block{k}_pool                k = 1..3, base * 2^(k-1) filters
 *   top_conv1/bn1/relu1, top_gap                           4 * base filters, global average pool
 *   features, joined                                       only with featureCount > 0: concatenated to the pooled vector
 *   hidden, hidden_dropout, head                           Dense(4 * base, ReLU), dropout, Dense(classCount, softmax)
 * Global average pooling keeps the parameter count small (about 60 k at base 16) and makes the
 * network indifferent to where in the crop a granule or lobe lies.
 */
export function wbcCnn(options: ModelOptions): tfl.LayersModel {
  const inputChannels = options.inputChannels ?? WBC_CNN_DEFAULTS.inputChannels;
  const featureCount = options.featureCount ?? WBC_CNN_DEFAULTS.featureCount;
  const classCount = options.classCount ?? WBC_CNN_DEFAULTS.classCount;
  const base = options.baseFilters ?? WBC_CNN_DEFAULTS.baseFilters;
  const dropout = options.dropout ?? WBC_CNN_DEFAULTS.dropout;
  const l2 = options.l2 ?? WBC_CNN_DEFAULTS.l2;
  if (!Number.isInteger(inputChannels) || inputChannels < 1) throw new Error(`wbc-cnn: inputChannels must be a whole number >= 1, got ${inputChannels}`);
  if (!Number.isInteger(featureCount) || featureCount < 0) throw new Error(`wbc-cnn: featureCount must be a whole number >= 0, got ${featureCount}`);
  if (!Number.isInteger(classCount) || classCount < 2) throw new Error(`wbc-cnn: classCount must be a whole number >= 2, got ${classCount}`);

  const ctx: ConvContext = { seeds: new SeedSequence(options.seed), l2 };
  const crop = tfl.input({ shape: [options.inputSize, options.inputSize, inputChannels], name: 'crop' });
  let x = crop;
  for (let k = 1; k <= WBC_CNN_POOLINGS; k++) {
    x = convBnRelu(x, `block${k}`, 1, base * 2 ** (k - 1), ctx);
    x = applyTo(tfl.layers.maxPooling2d({ name: `block${k}_pool`, poolSize: 2, strides: 2 }), x);
  }
  x = convBnRelu(x, 'top', 1, base * 4, ctx);
  x = applyTo(tfl.layers.globalAveragePooling2d({ name: 'top_gap' }), x);
  const inputs = [crop];
  if (featureCount > 0) {
    const features = tfl.input({ shape: [featureCount], name: 'features' });
    inputs.push(features);
    x = applyTo(tfl.layers.concatenate({ name: 'joined', axis: -1 }), [x, features]);
  }
  const dense = (name: string, units: number, activation: 'relu' | 'softmax') =>
    tfl.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.seeds.next() }),
      kernelRegularizer: l2 > 0 ? tfl.regularizers.l2({ l2 }) : undefined,
    });
  x = applyTo(dense('hidden', base * 4, 'relu'), x);
  if (dropout > 0) x = applyTo(tfl.layers.dropout({ name: 'hidden_dropout', rate: dropout }), x);
  const output = applyTo(dense('head', classCount, 'softmax'), x);
  return tfl.model({ name: `wbc_cnn_f${base}`, inputs, outputs: output });
}
