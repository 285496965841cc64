// Sum and Mean over the leading axes (NHWC -> C, as in BatchNorm and bias
// gradients) for wasm, as one pass over the heap with float64 accumulators; and, for training,
// Mean's gradient without tfjs-core's tensor of ones.
import * as tf from '@tensorflow/tfjs-core';
import { Mean, Sum, util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, MeanAttrs, NamedAttrMap, SumAttrs } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { nativeModule, offsetOf } from './native_conv.js';
import { heapPasses } from './heap_passes.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/**
 * Number of leading axes `axis` names when it names exactly axes 0..k-1 (k <
 * rank, or every axis with the addon) of a non-empty float32 tensor, else 0. The shipped kernels transpose
 * such reductions so the reduced axes come last, a strided full copy that
 * makes them ~3x slower than summing rows in place. Reductions over the
 * innermost axes need no transpose and stay with the shipped kernels.
 */
function leadingAxes(x: Info, axis: number | number[]): number {
  if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return 0;
  const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  // Every axis (a loss's or metric's total) is the same pass with one column, where the addon runs it.
  const all = axes.length === x.shape.length && nativeModule() !== null;
  const leading = axes.length > 0 && (axes.length < x.shape.length || all) && axes.every((a, i) => a === i);
  return leading ? axes.length : 0;
}

/**
 * Column sums of an [n, c] row-major matrix. Four rows per step keeps the
 * accumulators in cache and halves loop overhead; float64 accumulation makes
 * the result at least as accurate as the cpu backend's.
 */
export function columnSums(values: Float32Array, n: number, c: number): Float64Array {
  const acc = new Float64Array(c);
  let row = 0;
  let o = 0;
  for (; row + 4 <= n; row += 4, o += 4 * c) {
    for (let j = 0; j < c; j++) {
      acc[j] += (values[o + j] + values[o + c + j]) + (values[o + 2 * c + j] + values[o + 3 * c + j]);
    }
  }
  for (; row < n; row++, o += c) {
    for (let j = 0; j < c; j++) acc[j] += values[o + j];
  }
  return acc;
}

function reduceLeading(args: WasmKernelArgs, count: number, scale: (n: number) => number, keepDims: boolean): Info {
  const { backend } = args;
  const x = args.inputs.x as Info;
  const n = util.sizeFromShape(x.shape.slice(0, count));
  const inner = x.shape.slice(count);
  const c = util.sizeFromShape(inner);
  const outShape = keepDims ? [...x.shape.slice(0, count).map(() => 1), ...inner] : inner;
  const out = backend.makeOutput(outShape, 'float32');
  const factor = scale(n);
  const passes = heapPasses(backend);
  if (passes !== null) {
    passes.reduceLeading(Int32Array.from([offsetOf(backend, x), offsetOf(backend, out), n, c]), factor);
    return out;
  }
  const sums = columnSums(backend.typedArrayFromHeap(x) as Float32Array, n, c);
  const outView = backend.typedArrayFromHeap(out) as Float32Array;
  for (let j = 0; j < c; j++) outView[j] = sums[j] * factor;
  return out;
}

export function sumWasm(args: WasmKernelArgs): Info {
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const count = leadingAxes(args.inputs.x as Info, axis);
  if (count === 0) return callOriginal(Sum, args, 'no fast path for these axes');
  return reduceLeading(args, count, () => 1, keepDims);
}

export function meanWasm(args: WasmKernelArgs): Info {
  const { axis, keepDims } = args.attrs as unknown as MeanAttrs;
  const count = leadingAxes(args.inputs.x as Info, axis);
  if (count === 0) return callOriginal(Mean, args, 'no fast path for these axes');
  return reduceLeading(args, count, (n) => 1 / n, keepDims);
}

export const sumConfig: KernelConfig = { kernelName: Sum, backendName: 'wasm', kernelFunc: sumWasm as unknown as KernelFunc };
export const meanConfig: KernelConfig = { kernelName: Mean, backendName: 'wasm', kernelFunc: meanWasm as unknown as KernelFunc };

/**
 * Mean's gradient for training: dy / n spread over x's shape. tfjs-core's builds a tensor of ones of
 * x's shape in JS (a loop and an upload to the heap: a 2x128x128 loss's mean cost more than the
 * convolution it follows) and then multiplies and divides it; this divides dy first, then tiles
 * it. Each value is dy / n either way.
 */
export const meanGradient: GradConfig = {
  kernelName: Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
    const [x] = saved;
    const axes = util.parseAxisParam((attrs as unknown as MeanAttrs).axis, x.shape);
    const reduceSize = axes.reduce((n, a) => n * x.shape[a], 1);
    const expandedShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy as tf.Tensor, expandedShape), reduceSize), x.shape) };
  },
};
