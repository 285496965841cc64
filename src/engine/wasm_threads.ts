// How many threads TensorFlow.js's wasm backend computes on in Node, and starting it so: its threaded
// SIMD build (XNNPACK's convolutions and matrix products on a pool of worker threads), or the
// single-threaded SIMD build where the native kernels need a heap they can take (not shared memory).
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { backendStarted, threadedWasmGlue, withThreadedWasmGlue } from './tfjs-internals.js';

/** tfjs's pthread pool has 8 workers, and its thread pool takes at most that many. */
export const MAX_WASM_THREADS = 8;

/** Environment variable that sets the threads where initEngine's `threads` option does not. */
export const THREADS_ENV = 'LEUKOSEG_WASM_THREADS';

function checkedThreads(value: number, source: string, given: string = String(value)): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_WASM_THREADS) {
    throw new Error(`leukoseg engine: ${source} must be a whole number from 1 to ${MAX_WASM_THREADS}, but got '${given}'`);
  }
  return value;
}

/**
 * Threads to start the wasm backend with: `requested` (initEngine's option), else $LEUKOSEG_WASM_THREADS,
 * else, on the main thread where the native kernels cannot load:
 * - set up for `training`, every core (at most 8): a training run is the machine's main job, and on the
 *   idle 2-core machine 2 threads trained Model 3 1.42x and the U-Net 1.61x faster than 1 (README, Speed);
 * - else half the cores, as ONNX Runtime Web and tfjs itself choose: beside other work the threads hurt
 *   (on this 2-core machine under load, 2 threads trained Model 3 at 555 against 316 ms per image on 1),
 *   XNNPACK's waiting threads taking the cores' turns.
 * 1 where the native kernels load (they run on every core themselves, and cannot take a threaded
 * build's shared heap) and in a worker thread (the server runs one engine per worker already).
 */
export function wasmThreadsWanted(requested: number | undefined, nativeLoads: boolean, training = false): number {
  if (requested !== undefined) return checkedThreads(requested, 'the threads option');
  const fromEnv = process.env[THREADS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return checkedThreads(Number(fromEnv), THREADS_ENV, fromEnv);
  if (nativeLoads || !isMainThread) return 1;
  const cores = availableParallelism();
  return Math.max(1, Math.min(MAX_WASM_THREADS, training ? cores : Math.ceil(cores / 2)));
}

export interface WasmStart {
  /** Whether tf.setBackend('wasm') succeeded. */
  ok: boolean;
  /** Why the threaded build was asked for but the single-threaded one runs. */
  threadsUnavailable?: string;
}

/**
 * tf.setBackend('wasm'), starting the backend with `threads` when this call is the one that starts it
 * (once started, a backend keeps the build it has). When the threaded build cannot start, the
 * single-threaded one does, and `threadsUnavailable` says why.
 */
export async function startWasmBackend(threads: number): Promise<WasmStart> {
  if (backendStarted('wasm')) {
    const ok = await tf.setBackend('wasm');
    const running = getThreadsCount();
    return running >= threads ? { ok } : { ok, threadsUnavailable: `the wasm backend had already started on ${running} thread(s)` };
  }
  if (threads === 1) return { ok: await tf.setBackend('wasm') };
  const glue = threadedWasmGlue();
  if (glue instanceof Error) return { ok: await tf.setBackend('wasm'), threadsUnavailable: glue.message };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  // The pthread workers are unref'd: without a timer Node would exit while the module waits for them.
  const keepAlive = setInterval(() => {}, 1000);
  let failure: string | undefined;
  try {
    if (await withThreadedWasmGlue(glue, threads, () => tf.setBackend('wasm'))) return { ok: true };
    failure = 'its start-up failed (see the tfjs log above)';
  } catch (err) {
    failure = `its start-up failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearInterval(keepAlive);
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
  return { ok: await tf.setBackend('wasm'), threadsUnavailable: failure };
}
