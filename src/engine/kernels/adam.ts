// One Adam step of one variable as a single wasm kernel, added under a name of leukoseg's own.
// tfjs's AdamOptimizer spends ~13 generic kernels per variable and step (Model 3: ~230 kernel calls
// per step for 18 variables, each paying the engine's bookkeeping); the arithmetic is one pass. With
// the addon or leukoseg's SIMD module, adamInPlace updates every variable of the model in one call
// instead (on WebAssembly alone the JS loop took 11.6 ms per U-Net training image). That call steps
// Adam's moments in place but writes each new value into a new buffer: tfjs-backend-wasm caches each
// XNNPACK convolution and matrix product with its packed weights under the weight buffer's id, so a
// weight written in place kept its id and the cached operator went on with the old weights (on
// WebAssembly alone every layer's; with the addon, whose convolutions cache nothing, Dense layers').
// Disposing the old buffer is what drops its cached operators. src/train/run.test.ts and
// fused_training.test.ts train on both paths against references.
//
//   const [value, m, v] = tf.engine().runKernel(ADAM_UPDATE, { value, m, v, gradient }, attrs);
import { util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { heapPasses } from './heap_passes.js';
import { offsetOf } from './native_conv.js';
import type { BackendWasm, Info, WasmKernelArgs } from './scratch.js';

export const ADAM_UPDATE = 'LeukosegAdamUpdate';

export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t at this step t (1-based): Adam's bias corrections. */
  correction1: number;
  correction2: number;
}

/**
 * m' = beta1 m + (1 - beta1) g; v' = beta2 v + (1 - beta2) g^2;
 * value' = value - learningRate (m' / correction1) / (sqrt(v' / correction2) + epsilon),
 * in the order tfjs's AdamOptimizer computes it, rounded to float32 where it rounds.
 */
export function adamUpdateLoop(
  value: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array,
  outValue: Float32Array, outM: Float32Array, outV: Float32Array, attrs: AdamUpdateAttrs,
): void {
  const f = Math.fround;
  const b1 = f(attrs.beta1);
  const b2 = f(attrs.beta2);
  const ob1 = f(1 - attrs.beta1);
  const ob2 = f(1 - attrs.beta2);
  const c1 = f(attrs.correction1);
  const c2 = f(attrs.correction2);
  const eps = f(attrs.epsilon);
  const negLr = f(-attrs.learningRate);
  for (let i = 0; i < value.length; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * b1) + f(gi * ob1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * ob2));
    outM[i] = mi;
    outV[i] = vi;
    const step = f(f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps)) * negLr);
    outValue[i] = step + value[i];
  }
}

export function adamUpdateWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const { value, m, v, gradient } = args.inputs as Record<string, Info>;
  for (const t of [m, v, gradient]) {
    if (!util.arraysEqual(t.shape, value.shape) || t.dtype !== 'float32' || value.dtype !== 'float32') {
      throw new Error(`${ADAM_UPDATE}: every input must be float32 of shape ${JSON.stringify(value.shape)}, got ${t.dtype} ${JSON.stringify(t.shape)}`);
    }
  }
  const outs = [0, 1, 2].map(() => backend.makeOutput(value.shape, 'float32'));
  // Views are taken after the last allocation: makeOutput may grow the heap and detach older views.
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  adamUpdateLoop(view(value), view(m), view(v), view(gradient), view(outs[0]), view(outs[1]), view(outs[2]), args.attrs as unknown as AdamUpdateAttrs);
  return outs;
}

export const adamUpdateConfig: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamUpdateWasm as unknown as KernelFunc,
};

/** One variable's Adam step for adamInPlace. */
export interface AdamEntry {
  value: Info;
  m: Info;
  v: Info;
  gradient: Info;
}

/** adamInPlace's answer: the entries it left undone, and the new value buffer of each one it did. */
export interface AdamInPlaceResult<E extends AdamEntry> {
  rest: E[];
  values: Array<{ entry: E; value: Info }>;
}

/**
 * Adam's step for every entry whose moments it may write in place, in one call of the addon or of
 * the SIMD module (heapPasses): the moments change in place, each new value lands in a new buffer
 * (assign it to the variable; see the top of this file for why). An entry qualifies when nothing
 * else holds its value's or moments' buffers (the wasm backend counts every tensor and variable on a
 * buffer, clones included), so no other tensor sees its values change. Entries left undone (all of
 * them without the addon and the SIMD module) take ADAM_UPDATE.
 */
export function adamInPlace<E extends AdamEntry>(backend: BackendWasm, entries: E[], attrs: AdamUpdateAttrs): AdamInPlaceResult<E> {
  const passes = heapPasses(backend);
  if (passes === null) return { rest: entries, values: [] };
  const owned = (e: E) => {
    const tensors = [e.value, e.m, e.v, e.gradient];
    return tensors.every((t) => t.dtype === 'float32' && util.arraysEqual(t.shape, e.value.shape)) &&
      [e.value, e.m, e.v].every((t) => backend.refCount(t.dataId) === 1) && new Set(tensors.map((t) => t.dataId)).size === 4;
  };
  const done = entries.filter(owned);
  if (done.length === 0) return { rest: entries, values: [] };
  const values = done.map((entry) => ({ entry, value: backend.makeOutput(entry.value.shape, 'float32') }));
  // Views are taken after the last allocation: makeOutput may grow the heap and detach older views.
  for (const { entry, value } of values) (backend.typedArrayFromHeap(value) as Float32Array).set(backend.typedArrayFromHeap(entry.value) as Float32Array);
  const params = new Int32Array(done.length * 5);
  values.forEach(({ entry: e, value }, k) => {
    params.set([...[value, e.m, e.v, e.gradient].map((t) => offsetOf(backend, t)), util.sizeFromShape(e.value.shape)], k * 5);
  });
  const { learningRate, beta1, beta2, epsilon, correction1, correction2 } = attrs;
  passes.adamInPlace(params, Float64Array.from([learningRate, beta1, beta2, epsilon, correction1, correction2]));
  return { rest: entries.filter((e) => !done.includes(e)), values };
}
