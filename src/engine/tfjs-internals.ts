// Every private field of TensorFlow.js that the engine reads, in one place, with a start-up check
// that they are all there. They are not part of tfjs's API and may change in any release: when one
// is missing, initEngine runs plain TensorFlow.js and says which (see missingTfjsInternals).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker, type TransferListItem } from 'node:worker_threads';

/** tfjs-backend-wasm's tensor table and heap, which the native kernels work on in place. */
interface HeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

/** The wasm heap as it is now (an allocation may have replaced it). */
export function heapOf(backend: BackendWasm): ArrayBuffer {
  return (backend as unknown as HeapBackend).wasm.HEAPU8.buffer as ArrayBuffer;
}

/** Whether the heap is shared memory (the threaded build's), which the native addon cannot take. */
export function heapIsShared(backend: BackendWasm): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && (backend as unknown as HeapBackend).wasm.HEAPU8.buffer instanceof SharedArrayBuffer;
}

/** tfjs-backend-wasm's Emscripten module as the SIMD kernels (kernels/simd.ts) reach it. */
interface EmscriptenModule {
  asm?: { memory?: unknown };
  wasmMemory?: unknown;
  _malloc?: unknown;
  _free?: unknown;
}

/** The wasm heap's WebAssembly.Memory and its allocator, for a module that imports the same memory. */
export interface WasmHeapMemory {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/**
 * The memory behind the heap (the single-threaded build exports it as asm.memory, the threaded build
 * makes it in JS as wasmMemory) and tfjs's malloc and free; an Error naming what is missing otherwise.
 */
export function wasmHeapMemory(backend: BackendWasm): WasmHeapMemory | Error {
  const module = (backend as unknown as { wasm?: EmscriptenModule }).wasm;
  const memory = module?.asm?.memory ?? module?.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) return new Error('BackendWasm.wasm has neither asm.memory nor wasmMemory');
  if (memory.buffer !== heapOf(backend)) return new Error('BackendWasm.wasm\'s memory is not the heap its tensors are on');
  const { _malloc: malloc, _free: free } = module as EmscriptenModule;
  if (typeof malloc !== 'function' || typeof free !== 'function') return new Error('BackendWasm.wasm has no _malloc and _free');
  return { memory, malloc: malloc as (bytes: number) => number, free: free as (pointer: number) => void };
}

/** Byte offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: BackendWasm, info: tf.TensorInfo): number {
  const data = (backend as unknown as HeapBackend).dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('leukoseg native conv: a tensor is not on the wasm heap');
  return data.memoryOffset;
}

/** The part of tfjs-core's Engine state that says what the gradient tape recorded so far. */
interface TapeState {
  state: { activeTape: Array<{ outputs: Array<{ id: number }> }> | null };
}

/**
 * Whether `t` is the output of a kernel recorded on the gradient tape being recorded now (so a gradient
 * may flow into it), false for a tensor made before the tape started (e.g. a model's input) or with no
 * tape. Where tfjs lacks the field, true: the caller then plans for a gradient it may not need.
 */
export function producedOnActiveTape(t: tf.Tensor): boolean {
  const tape = (tf.engine() as unknown as Partial<TapeState>).state?.activeTape;
  if (tape === undefined) return true;
  if (tape === null) return false;
  for (let i = tape.length - 1; i >= 0; i--) {
    for (const output of tape[i].outputs) if (output.id === t.id) return true;
  }
  return false;
}

/** AdamOptimizer's private state, which the fused step reads and extends like its own step does. */
export interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
}

export function adamState(optimizer: tf.AdamOptimizer): AdamState {
  return optimizer as unknown as AdamState;
}

/** The parts of tfjs-layers' BatchNormalization that the fused path reads. */
export interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Variable } | null;
  beta: { read(): tf.Variable } | null;
  movingMean: { read(): tf.Variable; write(value: tf.Tensor): void };
  movingVariance: { read(): tf.Variable; write(value: tf.Tensor): void };
}

/** The parts of tfjs-layers' L1L2 regularizer that the fused path reads. */
export interface L1L2Regularizer {
  hasL1: boolean;
  l2: number;
}

/** The parts of tfjs-layers' UpSampling2D that the fused Conv2D path reads (protected in tfjs-layers). */
export interface UpSamplingLayer {
  size: number[];
  dataFormat: string;
  interpolation: string;
}

// tfjs-layers exports factories, not these classes: an instance's prototype is the class's.
export const batchNormPrototype = (): object => Object.getPrototypeOf(tfl.layers.batchNormalization({}));
export const upSamplingPrototype = (): object => Object.getPrototypeOf(tfl.layers.upSampling2d({}));
export const l1l2Prototype = (): object => Object.getPrototypeOf(tfl.regularizers.l2({ l2: 0.01 }));

/** Objects of the kinds whose private fields the engine reads, as the check looks at them. */
export interface InternalsSamples {
  /** The wasm backend, when it is the one being set up. */
  wasm?: object;
  adam: object;
  /** A built BatchNormalization layer (its weights exist only once built). */
  batchNorm: object;
  l1l2: object;
}

type Expect = 'function' | 'object' | 'number' | 'boolean' | 'variable' | 'array' | 'layer-variable';

const EXPECTED: { [K in keyof InternalsSamples]-?: Record<string, Expect> } = {
  wasm: { 'dataIdMap.get': 'function', 'wasm.HEAPU8': 'object' },
  adam: { accBeta1: 'variable', accBeta2: 'variable', accumulatedFirstMoment: 'array', accumulatedSecondMoment: 'array' },
  batchNorm: {
    axis: 'number', momentum: 'number', epsilon: 'number', center: 'boolean', scale: 'boolean', call: 'function',
    gamma: 'layer-variable', beta: 'layer-variable', movingMean: 'layer-variable', movingVariance: 'layer-variable',
  },
  l1l2: { hasL1: 'boolean', l2: 'number', apply: 'function' },
};

const NAMES: Record<keyof InternalsSamples, string> = {
  wasm: 'BackendWasm', adam: 'AdamOptimizer', batchNorm: 'BatchNormalization', l1l2: 'L1L2',
};

function has(value: unknown, expect: Expect): boolean {
  const record = value as Record<string, unknown> | null | undefined;
  switch (expect) {
    case 'variable':
      return value instanceof tf.Variable;
    case 'array':
      return Array.isArray(value);
    case 'layer-variable':
      return typeof record?.read === 'function' && typeof record?.write === 'function';
    case 'object':
      return typeof value === 'object' && value !== null;
    default:
      return typeof value === expect;
  }
}

/** The fields of EXPECTED that `samples` lack, as 'Class.field' (empty: all there). */
export function missingFields(samples: InternalsSamples): string[] {
  const missing: string[] = [];
  for (const kind of Object.keys(EXPECTED) as Array<keyof InternalsSamples>) {
    const sample = samples[kind];
    if (sample === undefined) continue;
    for (const [path, expect] of Object.entries(EXPECTED[kind])) {
      const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], sample);
      if (!has(value, expect)) missing.push(`${NAMES[kind]}.${path}`);
    }
  }
  return missing;
}

/**
 * Builds one object of each kind on the active backend, lists the private fields it lacks, and
 * frees what it made. `wasm` says whether to look at the active backend's heap too.
 */
export function missingTfjsInternals(wasm: boolean): string[] {
  const adam = new tf.AdamOptimizer(0.001, 0.9, 0.999);
  const batchNorm = tfl.layers.batchNormalization({});
  try {
    batchNorm.build([null, 2]);
    return missingFields({ wasm: wasm ? tf.backend() : undefined, adam, batchNorm, l1l2: tfl.regularizers.l2({ l2: 0.01 }) });
  } finally {
    adam.dispose();
    batchNorm.weights.forEach((w) => w.dispose());
  }
}

// tfjs-backend-wasm 4.22's threaded build, started in Node. tfjs never picks it there (its
// WASM_HAS_MULTITHREAD_SUPPORT flag is false in Node, tensorflow/tfjs#3830) and, made to, hands
// Emscripten's pthread glue two blob: URLs that worker_threads cannot load. What the glue does and
// leukoseg relies on: it creates its 8 pthread workers with `new Worker(url)` on the global it has just
// set to worker_threads' Worker; it sends each a {cmd: 'load', urlOrBlob} message naming the script that
// defines WasmBackendModuleThreadedSimd; it refs a worker (holds the process open) while its pthread
// runs; and tfjs sizes its thread pool as os.cpus().length / 2 (it
// assumes two hyper-threads per core) and at most that.

const wasmRequire = createRequire(import.meta.url);

/**
 * Whether a backend of this name has been made (tfjs-core's engine.registry), without starting it as
 * tf.findBackend would. Without that field it answers true: then nothing tries to choose its build.
 */
export function backendStarted(name: string): boolean {
  const registry = (tf.engine() as unknown as { registry?: unknown }).registry;
  return typeof registry !== 'object' || registry === null || name in registry;
}

/** The threaded build's files, as the start-up needs them. */
export interface ThreadedWasmGlue {
  /** The pthread worker's source (the package's wasm-out/...worker.js exports it as a string). */
  workerSource: string;
  /** The file defining WasmBackendModuleThreadedSimd, which each worker evaluates. */
  mainScript: string;
}

/** The threaded build's files, or why they cannot be used (a tfjs release that moved or changed them). */
export function threadedWasmGlue(): ThreadedWasmGlue | Error {
  try {
    const root = dirname(dirname(wasmRequire.resolve('@tensorflow/tfjs-backend-wasm')));
    const mainScript = join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
    const workerModule = join(root, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js');
    const binary = join(root, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
    const absent = [mainScript, workerModule, binary].filter((file) => !existsSync(file));
    if (absent.length > 0) return new Error(`tfjs-backend-wasm has no ${absent.join(', ')}`);
    const source = (wasmRequire(workerModule) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
    if (typeof source !== 'string' || !source.includes('urlOrBlob') || !source.includes('importScripts')) {
      return new Error(`${workerModule} no longer exports the pthread worker's source as wasmWorkerContents`);
    }
    // The source sits in a template literal there, whose \n escapes became newlines inside its string
    // literals; tfjs escapes them back the same way before making its Blob.
    return { workerSource: source.replace(/\n/g, '\\n'), mainScript };
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The process's Node options less --input-type, which would make the eval'd worker source a module without require. */
function scriptExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i];
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) out.push(arg);
  }
  return out;
}

/**
 * Runs `start` (tf.setBackend('wasm') with the threaded build chosen and `threads` set) with what the
 * pthread glue needs from Node in place, and puts the process's own back when it settles: a global
 * Worker that evaluates the worker source and names the main script by its file in the 'load'
 * message, and os.cpus() reporting 2 x `threads` entries so that tfjs's pool gets `threads`.
 */
export async function withThreadedWasmGlue<T>(glue: ThreadedWasmGlue, threads: number, start: () => Promise<T>): Promise<T> {
  class PthreadWorker extends Worker {
    constructor() {
      super(glue.workerSource, { eval: true, execArgv: scriptExecArgv() });
      this.unref();
    }

    // The glue refs a worker while its pthread runs, and tfjs's pool threads run until the backend is
    // disposed: the process would never exit. They hold nothing the main thread waits for asynchronously.
    override ref(): void {}

    override postMessage(message: unknown, transferList?: readonly TransferListItem[]): void {
      const m = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
      // The glue's Blob holds the factory's source, whose closure (fs, path, os of the bundle) does not survive it.
      const load = m !== null && typeof m === 'object' && m.cmd === 'load' && typeof m.urlOrBlob !== 'string';
      super.postMessage(load ? { ...m, urlOrBlob: glue.mainScript } : message, transferList);
    }
  }
  const os = wasmRequire('node:os') as { cpus: () => unknown[] };
  const cpus = os.cpus;
  const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  // The glue assigns worker_threads' Worker to the global; the setter keeps ours in place meanwhile.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
  os.cpus = () => {
    const real = cpus.call(os);
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  try {
    return await start();
  } finally {
    os.cpus = cpus;
    if (workerBefore === undefined) Reflect.deleteProperty(globalThis, 'Worker');
    else Object.defineProperty(globalThis, 'Worker', workerBefore);
  }
}
