// Installs leukoseg's replacement kernels into the tfjs kernel registry for 'wasm', and for training
// its Softmax, Relu and Mean gradients. Nothing happens at import. Idempotent: what is already ours stays.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { broadcastBinaryConfigs } from './broadcast_binary.js';
import { adamUpdateConfig } from './adam.js';
import { batchNormConfig as fusedBatchNormConfig } from './batch_norm.js';
import { batchNormTrainingConfig, batchNormTrainingGradConfig, batchNormTrainingGradient } from './batch_norm_training.js';
import { castConfig } from './cast.js';
import { concatConfig, splitVConfig } from './concat_split.js';
import { conv2DConfig, fusedConv2DConfig } from './conv2d.js';
import { conv2DLayerGradConfig, conv2DReluTrainingConfig, conv2DReluTrainingGradConfig, conv2DReluTrainingGradient } from './conv_relu_training.js';
import { crossEntropyConfig, crossEntropyGradConfig, crossEntropyGradient } from './cross_entropy.js';
import { conv2DBackpropFilterConfig } from './conv2d_backprop_filter.js';
import { conv2DBackpropInputConfig } from './conv2d_backprop_input.js';
import { identityConfig } from './identity.js';
import { l2PenaltyConfig, l2PenaltyGradConfig, l2PenaltyGradient } from './l2_penalty.js';
import { maxPoolConfig } from './max_pool.js';
import { maxPoolGradConfig } from './max_pool_grad.js';
import { keepOriginal } from './originals.js';
import { meanConfig, meanGradient, sumConfig } from './reduce_leading.js';
import { reluGradConfig, reluGradient } from './relu_grad.js';
import { resizeNearestNeighborConfig, resizeNearestNeighborGradConfig } from './resize_nearest_neighbor.js';
import { softmaxConfig, softmaxGradConfig, softmaxGradient } from './softmax.js';
import { tileConfig } from './tile.js';

// A global symbol, so a second copy of this module still recognises the
// kernels of the first and does not wrap them again.
const OURS = Symbol.for('leukoseg.engine.wasmKernel');

const replacements: readonly KernelConfig[] = [
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  tileConfig,
  concatConfig,
  splitVConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  fusedBatchNormConfig,
  resizeNearestNeighborConfig,
  resizeNearestNeighborGradConfig,
  sumConfig,
  meanConfig,
  ...broadcastBinaryConfigs,
  identityConfig,
  castConfig,
  // Kernels of leukoseg's own, for a whole layer's or optimizer's step (see their files).
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  adamUpdateConfig,
  crossEntropyConfig,
  crossEntropyGradConfig,
  softmaxConfig,
  softmaxGradConfig,
  l2PenaltyConfig,
  l2PenaltyGradConfig,
  reluGradConfig,
  conv2DReluTrainingConfig,
  conv2DReluTrainingGradConfig,
  conv2DLayerGradConfig,
];

// Gradients of leukoseg's own kernels (names tfjs does not have), registered with the kernels.
const ownKernelGradients: readonly GradConfig[] = [batchNormTrainingGradient, crossEntropyGradient, l2PenaltyGradient, conv2DReluTrainingGradient];
// leukoseg's Softmax, Relu and Mean gradients in place of tfjs's (they run the fused gradient kernels
// or fewer kernels, and compute the same values): only for training, see useTrainingGradients.
const replacedGradients: readonly GradConfig[] = [softmaxGradient, reluGradient, meanGradient];
const shippedGradients = new Map<string, GradConfig | undefined>();

for (const config of replacements) {
  Object.defineProperty(config.kernelFunc, OURS, { value: true, enumerable: true });
}

for (const gradient of [...ownKernelGradients, ...replacedGradients]) {
  Object.defineProperty(gradient.gradFunc, OURS, { value: true, enumerable: true });
}

const isOurs = (f: unknown): boolean => typeof f === 'function' && (f as unknown as Record<symbol, unknown>)[OURS] === true;

/** Replaces tfjs's Softmax, Relu and Mean gradients with leukoseg's (idempotent); the originals are kept per kernel. */
export function useTrainingGradients(): void {
  for (const gradient of replacedGradients) {
    const current = tf.getGradient(gradient.kernelName);
    if (isOurs(current?.gradFunc)) continue;
    shippedGradients.set(gradient.kernelName, current);
    tf.registerGradient(gradient);
  }
}

/** Puts back the gradients useTrainingGradients replaced. */
export function useShippedGradients(): void {
  for (const original of shippedGradients.values()) {
    if (original !== undefined) tf.registerGradient(original);
  }
  shippedGradients.clear();
}

/** Names of the kernels leukoseg replaces (or adds) on the wasm backend. */
export const replacedKernelNames: readonly string[] = replacements.map((config) => config.kernelName);

export function isLeukosegKernel(kernelFunc: KernelFunc): boolean {
  return (kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true;
}

/**
 * Registers the replacements named in `only` (default: all) for 'wasm' and
 * returns the names now served by leukoseg. The shipped kernel's setupFunc is
 * carried over because the wasm backend only runs setup for registered
 * kernels, and the replacements may still delegate to the shipped kernel.
 */
export function registerWasmKernels(only: readonly string[] = replacedKernelNames): string[] {
  const unknown = only.filter((name) => !replacedKernelNames.includes(name));
  if (unknown.length > 0) {
    throw new Error(`leukoseg engine: no replacement kernel named ${unknown.join(', ')}`);
  }
  for (const gradient of ownKernelGradients) {
    if (tf.getGradient(gradient.kernelName)?.gradFunc !== gradient.gradFunc) tf.registerGradient(gradient);
  }
  const installed: string[] = [];
  for (const config of replacements) {
    if (!only.includes(config.kernelName)) continue;
    installed.push(config.kernelName);
    const current = tf.getKernel(config.kernelName, 'wasm') as KernelConfig | undefined;
    if (current != null && isLeukosegKernel(current.kernelFunc)) continue;
    keepOriginal(config.kernelName, current?.kernelFunc);
    if (current != null) {
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel({ ...config, setupFunc: current?.setupFunc, disposeFunc: current?.disposeFunc });
  }
  return installed;
}
