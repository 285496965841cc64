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
 * network indifferent to where in the crop a granule or lobe lies. With members > 1, that many such
 * networks side by side on the same inputs, member m's layers named m{m}_... (m{m}_head its softmax),
 * and `head` the average of their probabilities: an ensemble of separately trained networks
 * (copyIntoMember) saved, loaded and run as one model.
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

  const members = options.members ?? 1;
  if (!Number.isInteger(members) || members < 1) throw new Error(`wbc-cnn: members must be a whole number >= 1, got ${members}`);

  const ctx: ConvContext = { seeds: new SeedSequence(options.seed), l2 };
  const crop = tfl.input({ shape: [options.inputSize, options.inputSize, inputChannels], name: 'crop' });
  const features = featureCount > 0 ? tfl.input({ shape: [featureCount], name: 'features' }) : null;
  const inputs = features ? [crop, features] : [crop];
  if (members === 1) return tfl.model({ name: `wbc_cnn_f${base}`, inputs, outputs: tower(crop, features, '', 'head', { base, dropout, classCount, ctx }) });
  const heads = Array.from({ length: members }, (_, m) => tower(crop, features, memberPrefix(m + 1), `${memberPrefix(m + 1)}head`, { base, dropout, classCount, ctx }));
  const output = applyTo(tfl.layers.average({ name: 'head' }), heads);
  return tfl.model({ name: `wbc_cnn_f${base}_x${members}`, inputs, outputs: output });
}

/** Prefix of member m's layer names (1-based) in a network of several members. */
export function memberPrefix(m: number): string {
  return `m${m}_`;
}

/** One network from the crop (and features) to its softmax, its layers' names prefixed with `prefix`. */
function tower(
  crop: tfl.SymbolicTensor,
  features: tfl.SymbolicTensor | null,
  prefix: string,
  headName: string,
  o: { base: number; dropout: number; classCount: number; ctx: ConvContext },
): tfl.SymbolicTensor {
  const { base, ctx } = o;
  let x = crop;
  for (let k = 1; k <= WBC_CNN_POOLINGS; k++) {
    x = convBnRelu(x, `${prefix}block${k}`, 1, base * 2 ** (k - 1), ctx);
    x = applyTo(tfl.layers.maxPooling2d({ name: `${prefix}block${k}_pool`, poolSize: 2, strides: 2 }), x);
  }
  x = convBnRelu(x, `${prefix}top`, 1, base * 4, ctx);
  x = applyTo(tfl.layers.globalAveragePooling2d({ name: `${prefix}top_gap` }), x);
  if (features) x = applyTo(tfl.layers.concatenate({ name: `${prefix}joined`, axis: -1 }), [x, features]);
  const dense = (name: string, units: number, activation: 'relu' | 'softmax') =>
    tfl.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.seeds.next() }),
      kernelRegularizer: ctx.l2 > 0 ? tfl.regularizers.l2({ l2: ctx.l2 }) : undefined,
    });
  x = applyTo(dense(`${prefix}hidden`, base * 4, 'relu'), x);
  if (o.dropout > 0) x = applyTo(tfl.layers.dropout({ name: `${prefix}hidden_dropout`, rate: o.dropout }), x);
  return applyTo(dense(headName, o.classCount, 'softmax'), x);
}

/**
 * Copies a single network's weights (members 1) into member m of a network of several built with the
 * same options, layer by layer by name; throws when a layer is missing or its weights do not fit.
 */
export function copyIntoMember(ensemble: tfl.LayersModel, single: tfl.LayersModel, m: number): void {
  for (const layer of single.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const name = layer.name === 'head' ? `${memberPrefix(m)}head` : `${memberPrefix(m)}${layer.name}`;
    ensemble.getLayer(name).setWeights(weights);
  }
}
