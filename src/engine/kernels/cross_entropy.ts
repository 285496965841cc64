// Keras's categorical cross-entropy of probabilities (tfjs-layers' categoricalCrossentropy: outputs
// rescaled to sum to 1 over the last axis, clipped to [epsilon, 1 - epsilon], -sum(target * log))
// and its gradient, each as one wasm kernel of leukoseg's own. tfjs runs it as 8 kernels forward and
// ~14 backward, over every pixel of the batch; here it is one pass each way, native on both cores
// when the addon is in use (else the gradient is a SIMD kernel, the loss a JS loop: it needs a log).
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap } from '@tensorflow/tfjs-core';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import { heapPasses } from './heap_passes.js';
import type { Info, WasmKernelArgs } from './scratch.js';

export const CATEGORICAL_CROSSENTROPY = 'LeukosegCategoricalCrossentropy';
export const CATEGORICAL_CROSSENTROPY_GRAD = 'LeukosegCategoricalCrossentropyGrad';

export interface CrossEntropyAttrs {
  /** Clipping bound (tfjs-layers: the backend's epsilon, 1e-7). */
  epsilon: number;
}

/** loss[p] = -sum_c target[p, c] * log(clip(output[p, c] / sum_k output[p, k], epsilon, 1 - epsilon)). */
export function crossEntropyLoop(target: Float32Array, output: Float32Array, loss: Float32Array, classes: number, epsilon: number): void {
  const f = Math.fround;
  const lo = f(epsilon);
  const hi = f(1 - epsilon);
  for (let p = 0, o = 0; p < loss.length; p++, o += classes) {
    let sum = 0;
    for (let c = 0; c < classes; c++) sum = f(sum + output[o + c]);
    let total = 0;
    // Classes the target gives no weight add nothing (0 * a finite log), as in the addon: one log per
    // pixel for one-hot targets instead of one per class.
    for (let c = 0; c < classes; c++) {
      if (target[o + c] === 0) continue;
      const q = Math.min(hi, Math.max(lo, f(output[o + c] / sum)));
      total = f(total + f(target[o + c] * f(Math.log(q))));
    }
    loss[p] = -total;
  }
}

/**
 * d loss / d output: with s = sum_k output_k, q = output / s and g_c = -target_c / q_c where q_c lies
 * inside the clipping range (0 outside, as tfjs's clip gradient does), dOutput_j = dy (g_j - sum_c g_c q_c) / s.
 */
export function crossEntropyGradLoop(
  dy: Float32Array, target: Float32Array, output: Float32Array, dOutput: Float32Array, classes: number, epsilon: number,
): void {
  const lo = Math.fround(epsilon);
  const hi = Math.fround(1 - epsilon);
  const g = new Float64Array(classes);
  const q = new Float64Array(classes);
  for (let p = 0, o = 0; p < dy.length; p++, o += classes) {
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += output[o + c];
    let dot = 0;
    for (let c = 0; c < classes; c++) {
      q[c] = output[o + c] / sum;
      g[c] = q[c] >= lo && q[c] <= hi ? -target[o + c] / q[c] : 0;
      dot += g[c] * q[c];
    }
    const scale = dy[p] / sum;
    for (let c = 0; c < classes; c++) dOutput[o + c] = (g[c] - dot) * scale;
  }
}

function checkPair(kernel: string, target: Info, output: Info): number {
  if (!util.arraysEqual(target.shape, output.shape) || output.shape.length < 1) {
    throw new Error(`${kernel}: target ${JSON.stringify(target.shape)} and output ${JSON.stringify(output.shape)} must have one shape`);
  }
  if (target.dtype !== 'float32' || output.dtype !== 'float32') throw new Error(`${kernel}: target and output must be float32`);
  return output.shape[output.shape.length - 1];
}

export function crossEntropyWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const { target, output } = args.inputs as Record<string, Info>;
  const classes = checkPair(CATEGORICAL_CROSSENTROPY, target, output);
  const loss = backend.makeOutput(output.shape.slice(0, -1), 'float32');
  const { epsilon } = args.attrs as unknown as CrossEntropyAttrs;
  const native = nativeModule();
  if (native !== null) {
    const at = (t: Info) => offsetOf(backend, t);
    native.crossEntropy(heapOf(backend), Int32Array.from([at(target), at(output), at(loss), util.sizeFromShape(loss.shape), classes]), epsilon);
    return loss;
  }
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  crossEntropyLoop(view(target), view(output), view(loss), classes, epsilon);
  return loss;
}

export function crossEntropyGradWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const { dy, target, output } = args.inputs as Record<string, Info>;
  const classes = checkPair(CATEGORICAL_CROSSENTROPY_GRAD, target, output);
  if (!util.arraysEqual(dy.shape, output.shape.slice(0, -1)) || dy.dtype !== 'float32') {
    throw new Error(`${CATEGORICAL_CROSSENTROPY_GRAD}: dy ${JSON.stringify(dy.shape)} must be float32 of the output's shape without its last axis`);
  }
  const dOutput = backend.makeOutput(output.shape, 'float32');
  const { epsilon } = args.attrs as unknown as CrossEntropyAttrs;
  const passes = heapPasses(backend);
  if (passes !== null && classes <= 64) {
    const at = (t: Info) => offsetOf(backend, t);
    passes.crossEntropyGrad(Int32Array.from([at(dy), at(target), at(output), at(dOutput), util.sizeFromShape(dy.shape), classes]), epsilon);
    return dOutput;
  }
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  crossEntropyGradLoop(view(dy), view(target), view(output), view(dOutput), classes, epsilon);
  return dOutput;
}

export const crossEntropyConfig: KernelConfig = {
  kernelName: CATEGORICAL_CROSSENTROPY,
  backendName: 'wasm',
  kernelFunc: crossEntropyWasm as unknown as KernelFunc,
};

export const crossEntropyGradConfig: KernelConfig = {
  kernelName: CATEGORICAL_CROSSENTROPY_GRAD,
  backendName: 'wasm',
  kernelFunc: crossEntropyGradWasm as unknown as KernelFunc,
};

export const crossEntropyGradient: GradConfig = {
  kernelName: CATEGORICAL_CROSSENTROPY,
  inputsToSave: ['target', 'output'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
    const [target, output] = saved;
    const { epsilon } = attrs as unknown as CrossEntropyAttrs;
    return {
      output: () => tf.engine().runKernel(CATEGORICAL_CROSSENTROPY_GRAD, { dy: dy as tf.Tensor, target, output }, attrs as NamedAttrMap) as tf.Tensor,
      // Targets are data, not variables, so the tape never asks; given for completeness.
      target: () => tf.tidy(() => {
        const q = tf.clipByValue(tf.div(output, tf.sum(output, -1, true)), epsilon, 1 - epsilon);
        return tf.mul(tf.neg(tf.log(q)), tf.expandDims(dy as tf.Tensor, -1));
      }),
    };
  },
};
