// Every private field of TensorFlow.js that the engine reads, in one place, with a start-up check
// that they are all there. They are not part of tfjs's API and may change in any release: when one
// is missing, initEngine runs plain TensorFlow.js and says which (see missingTfjsInternals).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** tfjs-backend-wasm's tensor table and heap, which the native kernels work on in place. */
interface HeapBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

/** The wasm heap as it is now (an allocation may have replaced it). */
export function heapOf(backend: BackendWasm): ArrayBuffer {
  return (backend as unknown as HeapBackend).wasm.HEAPU8.buffer as ArrayBuffer;
}

/** Byte offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: BackendWasm, info: tf.TensorInfo): number {
  const data = (backend as unknown as HeapBackend).dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('leukoseg native conv: a tensor is not on the wasm heap');
  return data.memoryOffset;
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

// tfjs-layers exports factories, not these classes: an instance's prototype is the class's.
export const batchNormPrototype = (): object => Object.getPrototypeOf(tfl.layers.batchNormalization({}));
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
