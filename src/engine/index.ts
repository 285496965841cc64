// Entry point of leukoseg's compute engine: selects the TensorFlow.js backend
// and, on wasm, installs the kernels that make conv nets train there, fast.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle carries
// them all. Without this import tf.grads fails on any op unless the caller
// happened to load tfjs-layers first.
import '@tensorflow/tfjs-layers';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, useTrainingGradients } from './kernels/register.js';
import { heapIsShared, missingTfjsInternals } from './tfjs-internals.js';
import { useNativeConv } from './kernels/native_conv.js';
import { loadSimdKernels, useSimdKernels } from './kernels/simd.js';
import { loadNativeConv, type NativeConvModule } from './native.js';
import { useFusedLayers } from './fused_layers.js';
import { startWasmBackend, wasmThreadsWanted } from './wasm_threads.js';

export { adam, FusedAdamOptimizer } from './adam.js';
export { categoricalCrossentropy } from './ops.js';
export { useFusedLayers, useLayersAsShipped } from './fused_layers.js';
export { useShippedGradients } from './kernels/register.js';

export type EngineBackend = 'wasm' | 'cpu';

export interface EngineOptions {
  /** Default 'wasm'. There is no silent fallback: a backend that fails throws. */
  backend?: EngineBackend;
  /**
   * On wasm, run convolutions with the native oneDNN kernels when they were built (default true;
   * LEUKOSEG_NATIVE=0 also turns them off). Without them the WebAssembly kernels run everything.
   */
  native?: boolean;
  /**
   * Set up for training (default false): also replaces tfjs's Softmax and Relu gradients with
   * leukoseg's and routes tfjs-layers' BatchNormalization and L2 regularizer through the fused
   * kernels, process-wide, until useLayersAsShipped / useShippedGradients. Without it the host's
   * tfjs-core gradients and tfjs-layers classes stay as shipped; importing leukoseg changes neither.
   */
  training?: boolean;
  /**
   * Threads for the wasm backend's convolutions and matrix products (XNNPACK), 1-8, taken when this call
   * starts the backend (a started backend keeps its build). Default: $LEUKOSEG_WASM_THREADS, else, on the
   * main thread when the native kernels are not built (or LEUKOSEG_NATIVE=0), every core when set up for
   * `training` and half the cores otherwise; else 1.
   * More than 1 runs tfjs's threaded build, whose shared heap the native kernels cannot take.
   */
  threads?: number;
}

export interface EngineInfo {
  backend: EngineBackend;
  /** WebAssembly SIMD in use (always false on cpu). */
  simd: boolean;
  /** Threads XNNPACK runs on (the threaded build's pool; 1 for the single-threaded build). */
  threads: number;
  /** Why more threads were asked for but the wasm backend runs on one. */
  threadsUnavailable?: string;
  /** Kernels leukoseg serves on this backend instead of the shipped ones. */
  replacedKernels: string[];
  /** "oneDNN x.y.z" when convolutions run natively, else null (see nativeUnavailable). */
  native: string | null;
  /** Why the native kernels are not in use, when they are not. */
  nativeUnavailable?: string;
  /**
   * leukoseg's WebAssembly SIMD kernels (BatchNormalization in training) are in use: on wasm, set up for
   * training, when the native kernels are not. When they could not be loaded, simdKernelsUnavailable says why.
   */
  simdKernels: boolean;
  simdKernelsUnavailable?: string;
  /** Whether the training set-up (EngineOptions.training) is installed. */
  training: boolean;
  /** Private tfjs fields the engine needs but did not find (then it runs plain TensorFlow.js). */
  missingInternals: string[];
}

let current: EngineInfo | null = null;
/** Why the wasm backend, when it started, did not get the threads asked for. */
let threadsUnavailable: string | undefined;
let warnedMissing = false;

/**
 * Makes `backend` the active TensorFlow.js backend and waits until it is ready, then installs
 * leukoseg's wasm kernels (and, with `training`, its gradients and fused layers). Safe to call many
 * times; the wasm kernels are registered once, and once set up for training the engine stays so.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineBackend> {
  const backend = options.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new Error(`leukoseg engine: unknown backend '${String(backend)}', expected 'wasm' or 'cpu'`);
  }
  const addonLoads = backend === 'wasm' && !(loadNativeConv() instanceof Error);
  const threads = backend === 'wasm' ? wasmThreadsWanted(options.threads, addonLoads, options.training === true) : 1;
  let failure: unknown = null;
  let ok = false;
  try {
    if (backend === 'wasm') {
      const start = await startWasmBackend(threads);
      ok = start.ok;
      threadsUnavailable = start.threadsUnavailable ?? threadsUnavailable;
    } else ok = await tf.setBackend(backend);
    await tf.ready();
  } catch (err) {
    failure = err;
  }
  if (!ok || failure != null || tf.getBackend() !== backend) {
    const why = failure instanceof Error ? `: ${failure.message}` : ' (see the tfjs log above)';
    throw new Error(`leukoseg engine: the '${backend}' TensorFlow.js backend failed to initialize${why}`);
  }
  const missingInternals = missingTfjsInternals(backend === 'wasm');
  const plain = missingInternals.length > 0;
  if (plain && !warnedMissing) {
    warnedMissing = true;
    console.warn(`leukoseg engine: this TensorFlow.js lacks ${missingInternals.join(', ')}; running plain TensorFlow.js (slower, the same results within rounding)`);
  }
  // Kernels are looked up when an op runs, so registering them after setBackend is in time.
  const replacedKernels = backend === 'wasm' && !plain ? registerWasmKernels() : [];
  const training = (options.training === true || current?.training === true) && !plain;
  if (training) {
    useTrainingGradients();
    // Takes effect only where its kernel is registered (wasm): elsewhere the layer runs as tfjs wrote it.
    useFusedLayers();
  }
  const wasm = backend === 'wasm';
  const addon = !wasm
    ? new Error('the cpu backend has no native kernels')
    : plain
      ? new Error('TensorFlow.js internals missing')
      : options.native === false
        ? new Error('turned off by the caller')
        : nativeOnThisHeap();
  useNativeConv(addon instanceof Error ? null : addon);
  // They serve training only, and where the addon runs their work natively they are not needed.
  const simd = wasm && training && addon instanceof Error ? await loadSimdKernels(tf.backend() as BackendWasm) : null;
  useSimdKernels(simd instanceof Error ? null : simd);
  current = {
    backend,
    simd: wasm ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false,
    threads: wasm ? Math.max(1, getThreadsCount()) : 1,
    ...(wasm && threadsUnavailable !== undefined ? { threadsUnavailable } : {}),
    replacedKernels,
    native: addon instanceof Error ? null : `oneDNN ${addon.version()}`,
    ...(addon instanceof Error ? { nativeUnavailable: addon.message } : {}),
    simdKernels: simd !== null && !(simd instanceof Error),
    ...(simd instanceof Error ? { simdKernelsUnavailable: simd.message } : {}),
    training,
    missingInternals,
  };
  return backend;
}

/** The addon, unless it is not there or the wasm backend runs the threaded build (a shared heap it cannot take). */
function nativeOnThisHeap(): NativeConvModule | Error {
  const addon = loadNativeConv();
  if (addon instanceof Error || !heapIsShared(tf.backend() as BackendWasm)) return addon;
  return new Error(`the wasm backend runs its threaded build (${getThreadsCount()} threads), whose shared heap the native kernels cannot take; threads: 1 or LEUKOSEG_WASM_THREADS=1 before it starts keeps them`);
}

/** What the last successful initEngine set up; throws before the first one. */
export function engineInfo(): EngineInfo {
  if (current == null) {
    throw new Error('leukoseg engine: call initEngine() first');
  }
  return { ...current, replacedKernels: [...current.replacedKernels], missingInternals: [...current.missingInternals] };
}
