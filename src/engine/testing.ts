// Test helpers for the engine: seeded data, running the same computation on the
// cpu and wasm backends, error measures and a leak check on the wasm heap.
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { initEngine } from './index.js';
import { loadNativeConv, type NativeConvModule } from './native.js';
import { createRng } from '../data/random.js';

/** Seeded PRNG (the project's mulberry32) so failing cases are reproducible. */
export const rng = createRng;

export function randInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

export function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)];
}

/** Uniform values in [-1, 1). */
export function randomValues(next: () => number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = next() * 2 - 1;
  return out;
}

/**
 * The built oneDNN addon, or null after marking `t` skipped where it is not built; under CI=true (CI
 * installs libdnnl-dev) a missing addon fails the test instead.
 */
export function builtAddon(t: TestContext): NativeConvModule | null {
  const addon = loadNativeConv();
  if (!(addon instanceof Error)) return addon;
  if (process.env.CI === 'true') assert.fail(`CI installs libdnnl-dev, so the addon must be built: ${addon.message}`);
  t.skip(`not built here: ${addon.message}`);
  return null;
}

/** Both backends registered, leukoseg's wasm kernels and training set-up installed; convolutions native or not. */
export async function setupBackends(native = false): Promise<void> {
  await initEngine({ backend: 'cpu', training: true });
  await initEngine({ backend: 'wasm', native, training: true });
}

export interface EngineMode {
  label: string;
  native: boolean;
}

/**
 * The engine's two ways of running on wasm: WebAssembly kernels only, and convolutions on oneDNN when
 * the addon was built here (native_conv.test.ts fails in CI when it was not).
 */
export function engineModes(): EngineMode[] {
  const modes: EngineMode[] = [{ label: 'wasm', native: false }];
  if (!(loadNativeConv() instanceof Error)) modes.push({ label: 'oneDNN', native: true });
  return modes;
}

/** Registers `body` once per engine mode, the engine set up for that mode first. */
export function modeTest(name: string, body: () => Promise<void>): void {
  for (const mode of engineModes()) {
    test(`${name} [${mode.label}]`, async () => {
      await setupBackends(mode.native);
      await body();
    });
  }
}

/**
 * Relative error max|a - b| / max(1, max|b|), with b the reference: absolute
 * for values up to 1, relative beyond, so neither tiny nor large outputs
 * dominate. NaN anywhere counts as infinitely wrong.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 1;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
    maxDiff = Math.max(maxDiff, diff);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / maxRef;
}

export interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/**
 * Runs `compute` on the named backend and reads its output back; tensors it
 * creates are disposed. On wasm it also asserts the heap holds no more
 * tensors afterwards than before, which catches intermediates a kernel leaked.
 */
export async function runOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Promise<Result> {
  await tf.setBackend(backend);
  const numTensors = tf.memory().numTensors;
  const numDataIds = tf.engine().backend.numDataIds();
  const out = tf.tidy(compute);
  const result = { shape: out.shape, values: out.dataSync() as Result['values'] };
  out.dispose();
  const leakedTensors = tf.memory().numTensors - numTensors;
  const leakedData = tf.engine().backend.numDataIds() - numDataIds;
  if (leakedTensors !== 0 || leakedData !== 0) {
    throw new Error(`${backend}: leaked ${leakedTensors} tensors and ${leakedData} backend buffers`);
  }
  return result;
}

/** Result on wasm vs cpu as relative error, after checking the shapes agree. */
export async function compareBackends(compute: () => tf.Tensor): Promise<{ error: number; wasm: Result; cpu: Result }> {
  const cpu = await runOn('cpu', compute);
  const wasm = await runOn('wasm', compute);
  if (cpu.shape.join() !== wasm.shape.join()) {
    throw new Error(`shape mismatch: wasm ${wasm.shape} vs cpu ${cpu.shape}`);
  }
  return { error: relativeError(wasm.values, cpu.values), wasm, cpu };
}

export const TOLERANCE = 1e-4;
