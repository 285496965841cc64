// Softmax over the last axis and its gradient for the wasm backend. The shipped Softmax kernel took
// ~1 ms per 128x128x3 batch image on one core, and tfjs's gradient is four passes (Multiply, Sum,
// Multiply, Sub); with the addon each is one threaded pass. The gradient is registered for Softmax
// on every backend, and computes tfjs's formula where this kernel is not registered.
import * as tf from '@tensorflow/tfjs-core';
import { Softmax, util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, SoftmaxAttrs } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import { heapPasses } from './heap_passes.js';
import { activeBackendHas, type Info, type WasmKernelArgs } from './scratch.js';

export const SOFTMAX_GRAD = 'LeukosegSoftmaxGrad';

function lastAxis(shape: number[], dim: number): boolean {
  return dim === -1 || dim === shape.length - 1;
}

export function softmaxWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const logits = args.inputs.logits as Info;
  const { dim } = args.attrs as unknown as SoftmaxAttrs;
  const native = nativeModule();
  const classes = logits.shape[logits.shape.length - 1] ?? 0;
  if (native === null || logits.dtype !== 'float32' || classes === 0 || !lastAxis(logits.shape, dim)) {
    return callOriginal(Softmax, args, 'the native kernels are off or the axis is not the last');
  }
  const out = backend.makeOutput(logits.shape, 'float32');
  native.softmax(heapOf(backend), Int32Array.from([offsetOf(backend, logits), offsetOf(backend, out), util.sizeFromShape(logits.shape) / classes, classes]));
  return out;
}

/** dx = y (dy - sum(dy y)) over each row of `classes` values. */
export function softmaxGradLoop(dy: Float32Array, y: Float32Array, dx: Float32Array, classes: number): void {
  for (let o = 0; o < dy.length; o += classes) {
    let dot = 0;
    for (let j = 0; j < classes; j++) dot = Math.fround(dot + Math.fround(dy[o + j] * y[o + j]));
    for (let j = 0; j < classes; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

export function softmaxGradWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const { dy, y } = args.inputs as Record<string, Info>;
  if (!util.arraysEqual(dy.shape, y.shape) || dy.dtype !== 'float32' || y.dtype !== 'float32' || y.shape.length === 0) {
    throw new Error(`${SOFTMAX_GRAD}: dy ${JSON.stringify(dy.shape)} and y ${JSON.stringify(y.shape)} must be float32 of one shape`);
  }
  const classes = y.shape[y.shape.length - 1];
  const dx = backend.makeOutput(y.shape, 'float32');
  const passes = heapPasses(backend);
  if (passes !== null) {
    passes.softmaxGrad(Int32Array.from([offsetOf(backend, dy), offsetOf(backend, y), offsetOf(backend, dx), util.sizeFromShape(y.shape) / classes, classes]));
    return dx;
  }
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  softmaxGradLoop(view(dy), view(y), view(dx), classes);
  return dx;
}

export const softmaxConfig: KernelConfig = { kernelName: Softmax, backendName: 'wasm', kernelFunc: softmaxWasm as unknown as KernelFunc };
export const softmaxGradConfig: KernelConfig = { kernelName: SOFTMAX_GRAD, backendName: 'wasm', kernelFunc: softmaxGradWasm as unknown as KernelFunc };

export const softmaxGradient: GradConfig = {
  kernelName: Softmax,
  outputsToSave: [true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
    const [y] = saved;
    const g = dy as tf.Tensor;
    const { dim } = attrs as unknown as SoftmaxAttrs;
    return {
      logits: () => {
        if (activeBackendHas(SOFTMAX_GRAD) && lastAxis(y.shape, dim)) {
          return tf.engine().runKernel(SOFTMAX_GRAD, { dy: g, y }) as tf.Tensor;
        }
        // tfjs-core's own Softmax gradient.
        const dyTimesY = tf.mul(g, y);
        return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
      },
    };
  },
};
