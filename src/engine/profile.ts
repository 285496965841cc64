// Times training of the study's Model 3 (tfjs-layers, Adam, trainOnBatch) and
// prints ms per training image plus a per-kernel profile. Run after building:
//   node dist-dev/engine/profile.js [--backend wasm|cpu] [--kernels all|none|K1,K2]
//                               [--steps 20] [--warmup 3] [--batch 2] [--size 128] [--model study-model-3|unet|...]
//                               [--fused on|off]  (off: tfjs-layers' BatchNormalization, L2 penalty and
//                               cross-entropy and tfjs's Adam; the Softmax and Relu gradients stay fused)
//                               [--clock cpu|wall]  (the per-kernel profile's clock; cpu counts every thread)
import * as tf from '@tensorflow/tfjs-core';
import { adam, categoricalCrossentropy, engineInfo, initEngine, useLayersAsShipped } from './index.js';
import type { EngineBackend } from './index.js';
import { cpuClock, KernelTimer, wallClock } from './kernel_timer.js';
import { registerWasmKernels, replacedKernelNames } from './kernels/register.js';
import { buildModel3 } from './model3.js';
import { createModel } from '../models/registry.js';
import type * as tfl from '@tensorflow/tfjs-layers';

interface Options {
  backend: EngineBackend;
  kernels: readonly string[];
  steps: number;
  warmup: number;
  batch: number;
  size: number;
  top: number;
  /** A registry name; default the study's Model 3 as built in model3.ts. */
  model?: string;
  /** leukoseg's fused BatchNormalization, L2 penalty, cross-entropy and Adam. */
  fused: boolean;
  /** The per-kernel profile's clock. */
  clock: 'cpu' | 'wall';
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { backend: 'wasm', kernels: replacedKernelNames, steps: 20, warmup: 3, batch: 2, size: 128, top: 15, fused: true, clock: 'cpu' };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${key}`);
    switch (key) {
      case '--backend':
        if (value !== 'wasm' && value !== 'cpu') throw new Error(`--backend must be wasm or cpu`);
        opts.backend = value;
        break;
      case '--kernels':
        opts.kernels = value === 'all' ? replacedKernelNames : value === 'none' ? [] : value.split(',');
        break;
      case '--steps': opts.steps = Number(value); break;
      case '--warmup': opts.warmup = Number(value); break;
      case '--batch': opts.batch = Number(value); break;
      case '--size': opts.size = Number(value); break;
      case '--top': opts.top = Number(value); break;
      case '--model': opts.model = value; break;
      case '--fused':
        if (value !== 'on' && value !== 'off') throw new Error('--fused must be on or off');
        opts.fused = value === 'on';
        break;
      case '--clock':
        if (value !== 'cpu' && value !== 'wall') throw new Error('--clock must be cpu or wall');
        opts.clock = value;
        break;
      default: throw new Error(`unknown option ${key}`);
    }
  }
  return opts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.backend === 'wasm' && opts.kernels.length < replacedKernelNames.length) {
    // A subset, to measure the shipped kernels: initEngine would install all.
    await tf.setBackend('wasm');
    registerWasmKernels(opts.kernels);
    await tf.setBackend('wasm');
    await tf.ready();
  } else {
    await initEngine({ backend: opts.backend, training: true });
  }
  const replaced = opts.backend === 'wasm' ? opts.kernels : [];
  const simd = opts.backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  console.log(`backend ${tf.getBackend()} simd=${simd} replaced kernels: ${replaced.join(', ') || '(none)'}`);
  if (opts.backend === 'cpu' || opts.kernels === replacedKernelNames) {
    console.log(`engine ${JSON.stringify(engineInfo())}`);
  }

  if (!opts.fused) useLayersAsShipped();
  const optimizer = opts.fused ? adam() : tf.train.adam();
  console.log(`fused BatchNormalization, L2 penalty, cross-entropy and Adam: ${opts.fused ? 'on' : 'off'}`);
  let model: tfl.LayersModel;
  if (opts.model === undefined) model = buildModel3(opts.size, optimizer, opts.fused ? categoricalCrossentropy : 'categoricalCrossentropy');
  else {
    model = createModel(opts.model, { inputSize: opts.size, seed: 1 });
    model.compile({ optimizer, loss: opts.fused ? categoricalCrossentropy : 'categoricalCrossentropy' });
  }
  const x = tf.randomNormal([opts.batch, opts.size, opts.size, 3]);
  const labels = tf.randomUniform([opts.batch, opts.size, opts.size], 0, 3, 'int32');
  const y = tf.oneHot(labels, 3);
  labels.dispose();

  try {
    for (let i = 0; i < opts.warmup; i++) await model.trainOnBatch(x, y);
  } catch (err) {
    console.log(`training failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  const tensorsBefore = tf.memory().numTensors;
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < opts.steps; i++) {
    const [wall0, cpu0] = [wallClock(), cpuClock()];
    await model.trainOnBatch(x, y);
    wallMs.push(wallClock() - wall0);
    cpuMs.push(cpuClock() - cpu0);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  const perImage = (ms: number[]) => (median(ms) / opts.batch).toFixed(1);
  console.log(`ms per training image: ${perImage(wallMs)} wall, ${perImage(cpuMs)} cpu ` +
    `(median of ${opts.steps} steps of batch ${opts.batch} at ${opts.size}x${opts.size}; ` +
    `best step ${(Math.min(...wallMs) / opts.batch).toFixed(1)} wall); tensors leaked per step: ${leaked / opts.steps}`);

  // A separate pass, by default on the cpu clock so that other processes on the machine distort it
  // less (it sums every thread's time); the wrappers add a little overhead per call. On the wall
  // clock, total minus kernels is the JavaScript between the kernels.
  const clock = opts.clock === 'cpu' ? cpuClock : wallClock;
  const timer = new KernelTimer(clock);
  timer.start();
  const profileSteps = Math.max(1, Math.min(opts.steps, 10));
  const cpuStart = clock();
  for (let i = 0; i < profileSteps; i++) {
    await model.trainOnBatch(x, y);
  }
  const cpuTotal = clock() - cpuStart;
  timer.stop();
  const perImageMs = (ms: number) => ms / profileSteps / opts.batch;
  const rows = timer.report();
  const kernelTotal = rows.reduce((sum, r) => sum + r.selfMs, 0);
  console.log(`\nper-kernel ${opts.clock} time over ${profileSteps} steps, ms per image ` +
    `(kernels ${perImageMs(kernelTotal).toFixed(1)} of ${perImageMs(cpuTotal).toFixed(1)} in total):`);
  console.log(`${'kernel'.padEnd(28)} ${'self'.padStart(8)} ${'top-level'.padStart(10)} ${'calls/step'.padStart(10)}`);
  for (const r of rows.slice(0, opts.top)) {
    console.log(`${r.name.padEnd(28)} ${perImageMs(r.selfMs).toFixed(2).padStart(8)} ` +
      `${perImageMs(r.topLevelMs).toFixed(2).padStart(10)} ${(r.calls / profileSteps).toFixed(0).padStart(10)}`);
  }
  tf.dispose([x, y]);
  model.dispose();
}

await main();
