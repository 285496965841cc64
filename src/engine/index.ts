// Entry point of leukoseg's compute engine: selects the TensorFlow.js backend
// and, on wasm, installs the kernels that make conv nets train there, fast.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle carries
// them all. Without this import tf.grads fails on any op unless the caller
// happened to load tfjs-layers first.
import '@tensorflow/tfjs-layers';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, useTrainingGradients } from './kernels/register.js';
import { missingTfjsInternals } from './tfjs-internals.js';
import { useNativeConv } from './kernels/native_conv.js';
import { loadNativeConv } from './native.js';
import { useFusedLayers } from './fused_layers.js';

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
}

export interface EngineInfo {
  backend: EngineBackend;
  /** WebAssembly SIMD in use (always false on cpu). */
  simd: boolean;
  /** Threads XNNPACK runs on; tfjs-backend-wasm runs single-threaded in Node. */
  threads: number;
  /** Kernels leukoseg serves on this backend instead of the shipped ones. */
  replacedKernels: string[];
  /** "oneDNN x.y.z" when convolutions run natively, else null (see nativeUnavailable). */
  native: string | null;
  /** Why the native kernels are not in use, when they are not. */
  nativeUnavailable?: string;
  /** Whether the training set-up (EngineOptions.training) is installed. */
  training: boolean;
  /** Private tfjs fields the engine needs but did not find (then it runs plain TensorFlow.js). */
  missingInternals: string[];
}

let current: EngineInfo | null = null;
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
  let failure: unknown = null;
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
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
        : loadNativeConv();
  useNativeConv(addon instanceof Error ? null : addon);
  current = {
    backend,
    simd: wasm ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false,
    threads: wasm ? Math.max(1, getThreadsCount()) : 1,
    replacedKernels,
    native: addon instanceof Error ? null : `oneDNN ${addon.version()}`,
    ...(addon instanceof Error ? { nativeUnavailable: addon.message } : {}),
    training,
    missingInternals,
  };
  return backend;
}

/** What the last successful initEngine set up; throws before the first one. */
export function engineInfo(): EngineInfo {
  if (current == null) {
    throw new Error('leukoseg engine: call initEngine() first');
  }
  return { ...current, replacedKernels: [...current.replacedKernels], missingInternals: [...current.missingInternals] };
}
