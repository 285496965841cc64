// Keras's L2 weight penalty, l2 * sum(x^2), and its gradient as one wasm kernel each, added under
// names of leukoseg's own. tfjs-layers' L1L2 regularizer builds it from six kernels and ~12 more for
// the gradient, per regularised layer and step (Model 3: ~90 kernel calls per step for 5 layers).
// With the addon the loops run in C++; the values are the same.
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap } from '@tensorflow/tfjs-core';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';

export const L2_PENALTY = 'LeukosegL2Penalty';
export const L2_PENALTY_GRAD = 'LeukosegL2PenaltyGrad';

export interface L2PenaltyAttrs {
  l2: number;
}

function checkFloat32(kernel: string, t: Info): void {
  if (t.dtype !== 'float32') throw new Error(`${kernel}: only float32 tensors, got ${t.dtype}`);
}

export function l2PenaltyWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const x = args.inputs.x as Info;
  checkFloat32(L2_PENALTY, x);
  const { l2 } = args.attrs as unknown as L2PenaltyAttrs;
  const out = backend.makeOutput([], 'float32');
  const native = nativeModule();
  if (native !== null) {
    // The same sum in the same order, in C++ (the JS loop cost ~10 ns a weight here).
    native.sumSquares(heapOf(backend), Int32Array.from([offsetOf(backend, x), offsetOf(backend, out), util.sizeFromShape(x.shape)]), l2);
    return out;
  }
  const values = backend.typedArrayFromHeap(x) as Float32Array;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  (backend.typedArrayFromHeap(out) as Float32Array)[0] = l2 * sum;
  return out;
}

/** dx = 2 l2 x dy, dy being the penalty's (scalar) gradient. */
export function l2PenaltyGradWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const { dy, x } = args.inputs as Record<string, Info>;
  checkFloat32(L2_PENALTY_GRAD, x);
  checkFloat32(L2_PENALTY_GRAD, dy);
  if (dy.shape.length !== 0) throw new Error(`${L2_PENALTY_GRAD}: dy must be a scalar, got shape ${JSON.stringify(dy.shape)}`);
  const { l2 } = args.attrs as unknown as L2PenaltyAttrs;
  const dx = backend.makeOutput(x.shape, 'float32');
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  const factor = Math.fround(2 * l2 * view(dy)[0]);
  const native = nativeModule();
  if (native !== null) {
    native.scale(heapOf(backend), Int32Array.from([offsetOf(backend, x), offsetOf(backend, dx), util.sizeFromShape(x.shape)]), factor);
    return dx;
  }
  const [values, out] = [view(x), view(dx)];
  for (let i = 0; i < values.length; i++) out[i] = values[i] * factor;
  return dx;
}

export const l2PenaltyConfig: KernelConfig = { kernelName: L2_PENALTY, backendName: 'wasm', kernelFunc: l2PenaltyWasm as unknown as KernelFunc };
export const l2PenaltyGradConfig: KernelConfig = { kernelName: L2_PENALTY_GRAD, backendName: 'wasm', kernelFunc: l2PenaltyGradWasm as unknown as KernelFunc };

export const l2PenaltyGradient: GradConfig = {
  kernelName: L2_PENALTY,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => ({
    x: () => tf.engine().runKernel(L2_PENALTY_GRAD, { dy: dy as tf.Tensor, x: saved[0] }, attrs as NamedAttrMap) as tf.Tensor,
  }),
};
