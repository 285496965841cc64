// leukoseg's WebAssembly SIMD kernels (native/wasm/kernels.c, embedded in simd_binary.ts), for the
// wasm backend when the oneDNN addon is not in use: a BatchNormalization layer's training pass and
// its gradient in a few vectorised passes over tfjs's own heap, where tfjs-layers runs ~40 generic
// kernels and leukoseg's JS loops were no faster than those; the patch matrix (im2col) that turns
// a convolution's filter gradient into one matrix product; and the addon's passes for the 2x2 max-pool
// gradient, nearest-neighbour up-sampling, the softmax and cross-entropy gradients and sums over leading
// axes (bias gradients), Adam's step, and the row copies of Concat and SplitV, where JS loops or
// tfjs's kernels were slower. The module imports the heap's
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
  /** Rows of 4-byte words between two strides (the arguments are those of kernels.c's copy_rows). */
  copyRows(params: Int32Array): void;
  /** The addon's adamInPlace arguments without the heap (see native/adam.cc). */
  adamInPlace(params: Int32Array, hyper: Float64Array): void;
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
  adam_in_place(params: number, count: number, hyper: number): void;
  copy_rows(params: number): void;
}

/** Room for the arguments (Int32 values) before the scratch block, which must stay 8-byte aligned; more when a call has more. */
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
  let paramRoom = 0;
  let scratchRoom = 0;
  /**
   * The block's address with `params` written to it and room for `scratchBytes` behind them, at
   * `at + paramRoom` (8-byte aligned); the block is made larger when a call needs more.
   */
  const prepare = (params: Int32Array, scratchBytes: number): { at: number; scratch: number } => {
    const paramBytes = Math.ceil((params.length * 4) / 8) * 8;
    if (paramBytes > paramRoom || scratchBytes > scratchRoom) {
      if (block !== 0) heap.free(block);
      paramRoom = Math.max(paramBytes, paramRoom, PARAM_BYTES);
      scratchRoom = Math.max(scratchBytes, scratchRoom, 256 * SCRATCH_PER_CHANNEL);
      block = heap.malloc(paramRoom + scratchRoom);
      if (block === 0) throw new Error(`leukoseg SIMD kernels: malloc of ${paramRoom + scratchRoom} bytes failed`);
    }
    // A view made now: malloc may have grown the memory, which replaces its buffer.
    new Int32Array(heap.memory.buffer, block, params.length).set(params);
    return { at: block, scratch: block + paramRoom };
  };
  const perChannel = (channels: number) => channels * SCRATCH_PER_CHANNEL;
  return {
    batchNormTraining(params, epsilon, momentum) {
      const { at, scratch } = prepare(params, perChannel(params[11]));
      exports.bn_training(at, epsilon, momentum, scratch);
    },
    batchNormTrainingGrad(params, epsilon) {
      const { at, scratch } = prepare(params, perChannel(params[9]));
      exports.bn_training_grad(at, epsilon, scratch);
    },
    im2col(params) {
      exports.im2col(prepare(params, 0).at);
    },
    maxPoolGrad2x2(params) {
      exports.max_pool_grad_2x2(prepare(params, 0).at);
    },
    upsampleNearest(params) {
      exports.upsample_nearest(prepare(params, 0).at);
    },
    softmaxGrad(params) {
      exports.softmax_grad(prepare(params, 0).at);
    },
    crossEntropyGrad(params, epsilon) {
      exports.cross_entropy_grad(prepare(params, 0).at, epsilon);
    },
    reduceLeading(params, factor) {
      const { at, scratch } = prepare(params, perChannel(params[3]));
      exports.reduce_leading(at, factor, scratch);
    },
    copyRows(params) {
      exports.copy_rows(prepare(params, 0).at);
    },
    adamInPlace(params, hyper) {
      if (params.length % 5 !== 0 || hyper.length !== 6) throw new Error('leukoseg SIMD kernels: adamInPlace takes [value, m, v, gradient, size] per variable and 6 hyper-parameters');
      const { at, scratch } = prepare(params, hyper.byteLength);
      new Float64Array(heap.memory.buffer, scratch, hyper.length).set(hyper);
      exports.adam_in_place(at, params.length / 5, scratch);
    },
  };
}
