// A BatchNormalization layer's training step as two kernels of the wasm backend, added under names
// of leukoseg's own. tfjs-layers trains the layer through moments(), batchNorm() and the moving
// averages, ~40 generic kernels per layer and step counting their gradients (Model 3: a third of its
// ~600 kernel calls per step); these do it in one call forward and one backward. Native on both
// cores when the addon is in use, else leukoseg's WebAssembly SIMD kernels (simd.ts), else (when
// those could not be loaded) plain loops over the heap.
//
//   const [y, mean, variance, newMovingMean, newMovingVariance] =
//     tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset, movingMean, movingVariance },
//                           { epsilon, momentum });
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap } from '@tensorflow/tfjs-core';
import { offsetOf } from './native_conv.js';
import { heapPasses } from './heap_passes.js';
import type { Info, WasmKernelArgs } from './scratch.js';

export const BATCH_NORM_TRAINING = 'LeukosegBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'LeukosegBatchNormTrainingGrad';

export interface BatchNormTrainingAttrs {
  /** Added to the variance before the square root (Keras: 1e-3). */
  epsilon: number;
  /** Weight of the old moving statistics in the new (Keras: 0.99). */
  momentum: number;
}

/** Channels (last axis) and rows (everything before it) of a float32 activation the kernels take. */
function layout(x: Info): { rows: number; channels: number } {
  const channels = x.shape[x.shape.length - 1] ?? 0;
  const total = util.sizeFromShape(x.shape);
  return { rows: channels > 0 ? total / channels : 0, channels };
}

function checkInputs(kernel: string, activations: Info[], perChannel: Info[], channels: number): void {
  for (const t of [...activations, ...perChannel]) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: only float32 tensors, got ${t.dtype}`);
  }
  if (channels === 0 || util.sizeFromShape(activations[0].shape) === 0) throw new Error(`${kernel}: empty input ${JSON.stringify(activations[0].shape)}`);
  for (const t of activations) {
    if (!util.arraysEqual(t.shape, activations[0].shape)) throw new Error(`${kernel}: shapes ${JSON.stringify(t.shape)} and ${JSON.stringify(activations[0].shape)} differ`);
  }
  for (const t of perChannel) {
    if (util.sizeFromShape(t.shape) !== channels) throw new Error(`${kernel}: a per-channel input of shape ${JSON.stringify(t.shape)} for ${channels} channels`);
  }
}

export function batchNormTrainingWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const { x, scale, offset, movingMean, movingVariance } = args.inputs as Record<string, Info>;
  const { epsilon, momentum } = args.attrs as unknown as BatchNormTrainingAttrs;
  const { rows, channels } = layout(x);
  const perChannel = [scale, offset, movingMean, movingVariance];
  checkInputs(BATCH_NORM_TRAINING, [x], perChannel, channels);
  const y = backend.makeOutput(x.shape, 'float32');
  const stats = [0, 1, 2, 3].map(() => backend.makeOutput([channels], 'float32'));
  const passes = heapPasses(backend);
  const at = (t: Info) => offsetOf(backend, t);
  if (passes !== null) passes.batchNormTraining(Int32Array.from([at(x), ...perChannel.map(at), at(y), ...stats.map(at), rows, channels]), epsilon, momentum);
  else {
    const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
    batchNormTrainingLoops(view(x), perChannel.map(view) as Vec4, view(y), stats.map(view) as Vec4, rows, channels, epsilon, momentum);
  }
  return [y, ...stats];
}

export function batchNormTrainingGradWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const { dy, x, mean, variance, scale } = args.inputs as Record<string, Info>;
  const { epsilon } = args.attrs as unknown as BatchNormTrainingAttrs;
  const { rows, channels } = layout(x);
  checkInputs(BATCH_NORM_TRAINING_GRAD, [x, dy], [mean, variance, scale], channels);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dScale = backend.makeOutput([channels], 'float32');
  const dOffset = backend.makeOutput([channels], 'float32');
  const passes = heapPasses(backend);
  const at = (t: Info) => offsetOf(backend, t);
  if (passes !== null) passes.batchNormTrainingGrad(Int32Array.from([at(dy), at(x), at(mean), at(variance), at(scale), at(dx), at(dScale), at(dOffset), rows, channels]), epsilon);
  else {
    const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
    batchNormTrainingGradLoops(view(dy), view(x), view(mean), view(variance), view(scale), view(dx), view(dScale), view(dOffset), rows, channels, epsilon);
  }
  return [dx, dScale, dOffset];
}

type Vec4 = [Float32Array, Float32Array, Float32Array, Float32Array];

/** The same passes as the addon's batchNormTraining, for when it is not in use. */
export function batchNormTrainingLoops(
  x: Float32Array, [scale, offset, movingMean, movingVariance]: Vec4, y: Float32Array,
  [mean, variance, newMovingMean, newMovingVariance]: Vec4, rows: number, c: number, epsilon: number, momentum: number,
): void {
  const sums = new Float64Array(c);
  for (let o = 0; o < rows * c; o += c) for (let j = 0; j < c; j++) sums[j] += x[o + j];
  const mu = sums.map((s) => s / rows);
  const squares = new Float64Array(c);
  for (let o = 0; o < rows * c; o += c) {
    for (let j = 0; j < c; j++) {
      const d = x[o + j] - mu[j];
      squares[j] += d * d;
    }
  }
  const decay = Math.fround(1 - momentum);
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    mean[j] = mu[j];
    variance[j] = squares[j] / rows;
    newMovingMean[j] = movingMean[j] - (movingMean[j] - mean[j]) * decay;
    newMovingVariance[j] = movingVariance[j] - (movingVariance[j] - variance[j]) * decay;
    a[j] = scale[j] / Math.sqrt(variance[j] + Math.fround(epsilon));
    b[j] = offset[j] - mean[j] * a[j];
  }
  for (let o = 0; o < rows * c; o += c) for (let j = 0; j < c; j++) y[o + j] = x[o + j] * a[j] + b[j];
}

/** The same passes as the addon's batchNormTrainingGrad (see there for the formula). */
export function batchNormTrainingGradLoops(
  dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array,
  dx: Float32Array, dScale: Float32Array, dOffset: Float32Array, rows: number, c: number, epsilon: number,
): void {
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  for (let o = 0; o < rows * c; o += c) {
    for (let j = 0; j < c; j++) {
      sumDy[j] += dy[o + j];
      sumDyX[j] += dy[o + j] * (x[o + j] - mean[j]);
    }
  }
  const k1 = new Float32Array(c);
  const k2 = new Float32Array(c);
  const k3 = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const r = 1 / Math.sqrt(variance[j] + Math.fround(epsilon));
    dScale[j] = r * sumDyX[j];
    dOffset[j] = sumDy[j];
    k1[j] = scale[j] * r;
    k2[j] = (-scale[j] * r * r * r * sumDyX[j]) / rows;
    k3[j] = (-scale[j] * r * sumDy[j]) / rows;
  }
  for (let o = 0; o < rows * c; o += c) {
    for (let j = 0; j < c; j++) dx[o + j] = k1[j] * dy[o + j] + k2[j] * (x[o + j] - mean[j]) + k3[j];
  }
}

export const batchNormTrainingConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: 'wasm',
  kernelFunc: batchNormTrainingWasm as unknown as KernelFunc,
};

export const batchNormTrainingGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormTrainingGradWasm as unknown as KernelFunc,
};

/**
 * Gradients of x, scale and offset. The other outputs (batch and moving statistics) only feed the
 * moving averages, which no loss depends on; they are treated as constants, as Keras does. (The tape
 * hands them zeros, not nulls, so a misuse cannot be told apart here.)
 */
export const batchNormTrainingGradient: GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true, false, false],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
    const dy = (dys as tf.Tensor[])[0];
    const [x, scale, mean, variance] = saved;
    // One kernel call for all three gradients; computed here, not in the closures, because the tape
    // runs each closure in a tidy of its own that would free the other two.
    const [dx, dScale, dOffset] = tf.engine().runKernel(
      BATCH_NORM_TRAINING_GRAD,
      { dy, x, mean, variance, scale },
      attrs as NamedAttrMap,
    ) as tf.Tensor[];
    return {
      x: () => dx,
      scale: () => dScale,
      offset: () => dOffset,
      movingMean: () => tf.zerosLike(mean),
      movingVariance: () => tf.zerosLike(variance),
    };
  },
};
