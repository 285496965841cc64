// U-Net (Ronneberger et al. 2015) in the segmentation_models.pytorch layout: encoder -> bottleneck ->
// decoder with skip connections -> Conv1x1 softmax head; at depth 4, base 16 it is the PyTorch reference's net.
import * as tfl from '@tensorflow/tfjs-layers';
import { NUM_CLASSES } from '../data/types.js';
import { applyTo, doubleConv, SeedSequence, upsample2x, type ConvContext } from './blocks.js';
import type { ModelOptions } from './options.js';

export const UNET_DEFAULTS = Object.freeze({
  depth: 4,
  baseFilters: 16,
  upsample: 'transpose' as 'transpose' | 'nearest',
  dropout: 0,
  l2: 0,
});

/**
 * Builds the U-Net. Layer names (stable, used by saved models):
 *   image
 *   enc{k}_conv1/bn1/relu1/conv2/bn2/relu2, enc{k}_pool     k = 1..depth, 2^(k-1)*base filters
 *   bottleneck_conv1/.../relu2 [, bottleneck_dropout]       2^depth*base filters
 *   dec{k}_up [, dec{k}_upconv], dec{k}_concat, dec{k}_conv1/.../relu2   k = depth..1 (run deepest first)
 *   head                                                    Conv1x1(3) + softmax
 * dec{k} works at enc{k}'s resolution and width and concatenates enc{k}'s output as [upsampled, skip].
 * Every conv kernel is Glorot-uniform seeded with `seed + i` (i = 1, 2, ... in construction order) and
 * carries the `l2` penalty. Dropout is not seeded: tfjs re-seeds a seeded dropout on every call, which
 * would drop the same units at every step; so runs with dropout > 0 are not bit-for-bit reproducible.
 */
export function unet(options: ModelOptions): tfl.LayersModel {
  const depth = options.depth ?? UNET_DEFAULTS.depth;
  const baseFilters = options.baseFilters ?? UNET_DEFAULTS.baseFilters;
  const upsample = options.upsample ?? UNET_DEFAULTS.upsample;
  const dropout = options.dropout ?? UNET_DEFAULTS.dropout;
  const l2 = options.l2 ?? UNET_DEFAULTS.l2;
  const { inputSize } = options;
  checkOptions(inputSize, depth, baseFilters, upsample, dropout, l2);

  const ctx: ConvContext = { seeds: new SeedSequence(options.seed), l2 };
  const input = tfl.input({ shape: [inputSize, inputSize, 3], name: 'image' });

  const skips: tfl.SymbolicTensor[] = [];
  let x = input;
  for (let k = 1; k <= depth; k++) {
    const features = doubleConv(x, `enc${k}`, widthAt(k, baseFilters), ctx);
    skips.push(features);
    x = applyTo(tfl.layers.maxPooling2d({ name: `enc${k}_pool`, poolSize: 2, strides: 2 }), features);
  }

  x = doubleConv(x, 'bottleneck', widthAt(depth + 1, baseFilters), ctx);
  if (dropout > 0) x = applyTo(tfl.layers.dropout({ name: 'bottleneck_dropout', rate: dropout }), x);

  for (let k = depth; k >= 1; k--) {
    const filters = widthAt(k, baseFilters);
    const up = upsample2x(x, `dec${k}`, filters, upsample, ctx);
    const merged = applyTo(tfl.layers.concatenate({ name: `dec${k}_concat`, axis: -1 }), [up, skips[k - 1]]);
    x = doubleConv(merged, `dec${k}`, filters, ctx);
  }

  const head = tfl.layers.conv2d({
    name: 'head',
    filters: NUM_CLASSES,
    kernelSize: 1,
    activation: 'softmax',
    kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.seeds.next() }),
    kernelRegularizer: l2 > 0 ? tfl.regularizers.l2({ l2 }) : undefined,
  });
  const output = applyTo(head, x);
  return tfl.model({ name: `unet_d${depth}_f${baseFilters}`, inputs: input, outputs: output });
}

/** Channels at encoder level k (1-based); level depth+1 is the bottleneck. */
function widthAt(k: number, baseFilters: number): number {
  return baseFilters * 2 ** (k - 1);
}

function checkOptions(inputSize: number, depth: number, baseFilters: number, upsample: string, dropout: number, l2: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > 8) throw new Error(`unet: depth must be a whole number 1..8, got ${depth}`);
  if (!Number.isInteger(baseFilters) || baseFilters < 1) throw new Error(`unet: baseFilters must be a positive whole number, got ${baseFilters}`);
  if (upsample !== 'transpose' && upsample !== 'nearest') throw new Error(`unet: upsample must be 'transpose' or 'nearest', got '${upsample}'`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`unet: dropout must be in [0, 1), got ${dropout}`);
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`unet: l2 must be a finite number >= 0, got ${l2}`);
  // The registry checks the default depth; a depth passed in options is checked here.
  const multiple = 2 ** depth;
  if (!Number.isInteger(inputSize) || inputSize < multiple || inputSize % multiple !== 0) {
    throw new Error(`unet: depth ${depth} needs an input size divisible by ${multiple}, got ${inputSize}`);
  }
}
