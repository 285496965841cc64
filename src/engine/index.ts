// Entry point of leukoseg's compute engine: selects the TensorFlow.js backend
// and, on wasm, installs the kernels that make conv nets train there, fast.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle carries
// them all. Without this import tf.grads fails on any op unless the caller
// happened to load tfjs-layers first.
import '@tensorflow/tfjs-layers';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './kernels/register.js';
import { useNativeConv } from './kernels/native_conv.js';
import { loadNativeConv } from './native.js';
import { useFusedLayers } from './fused_layers.js';

export { adam, FusedAdamOptimizer } from './adam.js';
export { categoricalCrossentropy } from './ops.js';
export { useFusedLayers, useLayersAsShipped } from './fused_layers.js';

export type EngineBackend = 'wasm' | 'cpu';

export interface EngineOptions {
  /** Default 'wasm'. There is no silent fallback: a backend that fails throws. */
  backend?: EngineBackend;
  /**
   * On wasm, run convolutions with the native oneDNN kernels when they were built (default true;
   * LEUKOSEG_NATIVE=0 also turns them off). Without them the WebAssembly kernels run everything.
   */
  native?: boolean;
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
}

let current: EngineInfo | null = null;

/**
 * Makes `backend` the active TensorFlow.js backend and waits until it is ready.
 * Safe to call many times; the wasm kernels are registered once.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineBackend> {
  const backend = options.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') {
    throw new Error(`leukoseg engine: unknown backend '${String(backend)}', expected 'wasm' or 'cpu'`);
  }
  const replacedKernels = backend === 'wasm' ? registerWasmKernels() : [];
  // Takes effect only where its kernel is registered (wasm): elsewhere the layer runs as tfjs wrote it.
  useFusedLayers();
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
  const wasm = backend === 'wasm';
  const addon = !wasm ? new Error('the cpu backend has no native kernels') : options.native === false ? new Error('turned off by the caller') : loadNativeConv();
  useNativeConv(addon instanceof Error ? null : addon);
  current = {
    backend,
    simd: wasm ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false,
    threads: wasm ? Math.max(1, getThreadsCount()) : 1,
    replacedKernels,
    native: addon instanceof Error ? null : `oneDNN ${addon.version()}`,
    ...(addon instanceof Error ? { nativeUnavailable: addon.message } : {}),
  };
  return backend;
}

/** What the last successful initEngine set up; throws before the first one. */
export function engineInfo(): EngineInfo {
  if (current == null) {
    throw new Error('leukoseg engine: call initEngine() first');
  }
  return { ...current, replacedKernels: [...current.replacedKernels] };
}
