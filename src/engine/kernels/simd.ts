// leukoseg's WebAssembly SIMD kernels (native/wasm/kernels.c, embedded in simd_binary.ts), for the
// wasm backend when the oneDNN addon is not in use: a BatchNormalization layer's training pass and
// its gradient in a few vectorised passes over tfjs's own heap, where tfjs-layers runs ~40 generic
// kernels and leukoseg's JS loops were no faster than those; the patch matrix (im2col) that turns
// a convolution's filter gradient into one matrix product; and the addon's passes for the 2x2 max-pool
// gradient, nearest-neighbour up-sampling, the softmax and cross-entropy gradients and sums over leading
// axes (bias gradients), where JS loops or tfjs's kernels were slower. The module imports the heap's
// memory, so it reads and writes tensors in place, as the addon does; per-channel temporaries go in one
// block allocated with tfjs's malloc, grown when a layer has more channels.
import type { BackendWasm } from './scratch.js';
import { heapIsShared, wasmHeapMemory, type WasmHeapMemory } from '../tfjs-internals.js';
import { PLAIN_WASM_BASE64, SHARED_WASM_BASE64 } from './simd_binary.js';

export interface SimdKernels {
  /** The addon's batchNormTraining arguments without the heap (see native/batch_norm.cc). */
  batchNormTraining(params: Int32Array, epsilon: number, momentum: number): void;
  /** The addon's batchNormTrainingGrad arguments without the heap. */
  batchNormTrainingGrad(params: Int32Array, epsilon: number): void;
  /** A convolution's patches as one matrix (the arguments are those of kernels.c's im2col). */
  im2col(params: Int32Array): void;
  /** The addon's maxPoolGrad2x2 arguments without the heap (see native/elementwise.cc). */
  maxPoolGrad2x2(params: Int32Array): void;
  /** The addon's upsampleNearest arguments without the heap. */
  upsampleNearest(params: Int32Array): void;
  /** The addon's softmaxGrad arguments without the heap (see native/head.cc). */
  softmaxGrad(params: Int32Array): void;
  /** The addon's crossEntropyGrad arguments without the heap (at most 64 classes). */
  crossEntropyGrad(params: Int32Array, epsilon: number): void;
  /** The addon's reduceLeading arguments without the heap: [x, out, rows, columns] and the factor. */
  reduceLeading(params: Int32Array, factor: number): void;
}

interface Exports {
  bn_training(params: number, epsilon: number, momentum: number, scratch: number): void;
  bn_training_grad(params: number, epsilon: number, scratch: number): void;
  im2col(params: number): void;
  max_pool_grad_2x2(params: number): void;
  upsample_nearest(params: number): void;
  softmax_grad(params: number): void;
  cross_entropy_grad(params: number, epsilon: number): void;
  reduce_leading(params: number, factor: number, scratch: number): void;
}

/** Room for the arguments (Int32 values) before the scratch block, which must stay 8-byte aligned. */
const PARAM_BYTES = 256;
/** Scratch bytes per channel: two float64 and at most three float32 temporaries. */
const SCRATCH_PER_CHANNEL = 2 * 8 + 3 * 4;

let active: SimdKernels | null = null;
/** One instance per heap: initEngine runs many times, tests switch backends. */
const loaded = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** The SIMD kernels while the engine uses them (null: the addon, or JS loops). */
export function simdKernels(): SimdKernels | null {
  return active;
}

/** Sets the kernels the wasm kernels call (null: their JS loops). */
export function useSimdKernels(kernels: SimdKernels | null): void {
  active = kernels;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** Instantiates the module on the active wasm backend's heap; an Error says why it cannot. */
export async function loadSimdKernels(backend: BackendWasm): Promise<SimdKernels | Error> {
  const heap = wasmHeapMemory(backend);
  if (heap instanceof Error) return heap;
  const known = loaded.get(heap.memory);
  if (known) return known;
  const shared = heapIsShared(backend);
  let exports: Exports;
  try {
    const module = await WebAssembly.compile(decode(shared ? SHARED_WASM_BASE64 : PLAIN_WASM_BASE64));
    const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
    exports = instance.exports as unknown as Exports;
  } catch (err) {
    return new Error(`leukoseg's SIMD kernels did not instantiate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const kernels = bind(exports, heap);
  loaded.set(heap.memory, kernels);
  return kernels;
}

function bind(exports: Exports, heap: WasmHeapMemory): SimdKernels {
  let block = 0;
  let channelsRoom = 0;
  /** The block's address with `params` written to it, room for `channels` channels behind. */
  const prepare = (params: Int32Array, channels: number): number => {
    if (channels > channelsRoom) {
      if (block !== 0) heap.free(block);
      channelsRoom = Math.max(channels, 256);
      block = heap.malloc(PARAM_BYTES + channelsRoom * SCRATCH_PER_CHANNEL);
      if (block === 0) throw new Error(`leukoseg SIMD kernels: malloc of ${PARAM_BYTES + channelsRoom * SCRATCH_PER_CHANNEL} bytes failed`);
    }
    if (params.length * 4 > PARAM_BYTES) throw new Error(`leukoseg SIMD kernels: ${params.length} arguments`);
    // A view made now: malloc may have grown the memory, which replaces its buffer.
    new Int32Array(heap.memory.buffer, block, params.length).set(params);
    return block;
  };
  return {
    batchNormTraining(params, epsilon, momentum) {
      const at = prepare(params, params[11]);
      exports.bn_training(at, epsilon, momentum, at + PARAM_BYTES);
    },
    batchNormTrainingGrad(params, epsilon) {
      const at = prepare(params, params[9]);
      exports.bn_training_grad(at, epsilon, at + PARAM_BYTES);
    },
    im2col(params) {
      exports.im2col(prepare(params, 0));
    },
    maxPoolGrad2x2(params) {
      exports.max_pool_grad_2x2(prepare(params, 0));
    },
    upsampleNearest(params) {
      exports.upsample_nearest(prepare(params, 0));
    },
    softmaxGrad(params) {
      exports.softmax_grad(prepare(params, 0));
    },
    crossEntropyGrad(params, epsilon) {
      exports.cross_entropy_grad(prepare(params, 0), epsilon);
    },
    reduceLeading(params, factor) {
      const at = prepare(params, params[3]);
      exports.reduce_leading(at, factor, at + PARAM_BYTES);
    },
  };
}
