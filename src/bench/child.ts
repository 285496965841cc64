// One benchmark configuration in its own process (so kernel registration and peak RSS are its own):
//   node dist-dev/bench/child.js --engine shipped|leukoseg|leukoseg-1thread|native|onnx --model study-model-3|unet [--quick] [--memory-epochs N]
// (run.ts sets the environment that makes leukoseg / leukoseg-1thread WebAssembly only: LEUKOSEG_NATIVE=0, LEUKOSEG_WASM_THREADS)
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { availableParallelism } from 'node:os';
import { adam, engineInfo, initEngine } from '../engine/index.js';
import { createModel } from '../models/registry.js';
import { resolvePreset } from '../config/presets.js';
import { lossFunction, softDice } from '../train/losses.js';
import { findPairs, imagesToFloat32, loadSample } from '../data/dataset.js';
import { oneHot } from '../data/masks.js';
import { NUM_CLASSES, type Sample } from '../data/types.js';
import { OnnxPredictor } from '../onnx/runtime.js';
import { predictBatches } from '../models/predict.js';
import {
  BENCH_MODELS, ENGINES, EPOCH_IMAGES, FULL_COUNTS, QUICK_COUNTS, RESULT_MARKER, imagesNeeded, load1, messageOf, parseFlags, peakRssMiB, timeRuns,
  isBaseline, isTorch, type BenchModel, type ChildResult, type Counts, type Engine, type EpochMemory, type Timing, type TorchEngine,
} from './common.js';
import { stepFlops } from './flops.js';

const SIZE = 128;

interface Args {
  engine: Exclude<Engine, TorchEngine>;
  model: BenchModel;
  data: string;
  counts: Counts;
  /** ONNX Runtime intra-op threads (0 = its default). */
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const flags = parseFlags(argv, { values: ['engine', 'model', 'data', 'memory-epochs', 'epoch-images', 'threads'], switches: ['quick'] });
  const engine = flags.get('engine') as Args['engine'];
  const model = flags.get('model') as BenchModel;
  if (!(ENGINES as readonly string[]).includes(engine) || isTorch(engine) || isBaseline(engine)) throw new Error(`--engine must be shipped, leukoseg, leukoseg-1thread, native or onnx, but got '${engine}'`);
  if (!BENCH_MODELS.includes(model)) throw new Error(`--model must be one of ${BENCH_MODELS.join(', ')}, but got '${model}'`);
  const counts = { ...(flags.has('quick') ? QUICK_COUNTS : FULL_COUNTS) };
  counts.memoryEpochs = Number(flags.get('memory-epochs') ?? 0);
  counts.epochImages = Number(flags.get('epoch-images') ?? (flags.has('quick') ? QUICK_COUNTS.epochImages : EPOCH_IMAGES[model]));
  const data = flags.get('data');
  if (!data) throw new Error('--data DIR (the Dataset 1 folder) is required');
  return { engine, model, data, counts, threads: Number(flags.get('threads') ?? 0) };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function loadImages(dir: string, count: number): Promise<Sample[]> {
  const { pairs } = await findPairs(dir);
  if (pairs.length < count) throw new Error(`${dir}: ${pairs.length} image/mask pairs, the bench needs ${count}`);
  return Promise.all(pairs.slice(0, count).map((p) => loadSample(p, { size: SIZE })));
}

/** The model as leukoseg trains it: the preset's architecture options, loss, learning rate and soft Dice metric. */
function buildModel(name: BenchModel): tfl.LayersModel {
  const config = resolvePreset(name);
  const { name: arch, ...options } = config.model;
  const model = createModel(arch, { ...options, inputSize: SIZE, seed: 42 });
  model.compile({
    optimizer: adam(config.train.learningRate),
    loss: lossFunction(config.train.loss),
    metrics: [softDice],
  });
  return model;
}

/** Batch `b` of the cycle through `samples`, as the training loop makes it (image / 255, one-hot per batch). */
function batchOf(samples: Sample[], b: number, batch: number): { x: tf.Tensor4D; y: tf.Tensor4D } {
  const ids = Array.from({ length: batch }, (_, k) => (b * batch + k) % samples.length);
  const labels = new Uint8Array(batch * SIZE * SIZE);
  ids.forEach((id, k) => labels.set(samples[id].mask.data, k * SIZE * SIZE));
  return {
    x: tf.tensor4d(imagesToFloat32(samples, ids), [batch, SIZE, SIZE, 3]),
    y: tf.tensor4d(oneHot(labels, NUM_CLASSES), [batch, SIZE, SIZE, NUM_CLASSES]),
  };
}

async function trainStep(model: tfl.LayersModel, samples: Sample[], b: number, batch: number): Promise<void> {
  const { x, y } = batchOf(samples, b, batch);
  try {
    await model.trainOnBatch(x, y);
  } finally {
    tf.dispose([x, y]);
  }
}

async function timeTraining(model: tfl.LayersModel, samples: Sample[], c: Counts): Promise<Timing | { error: string }> {
  let step = 0;
  try {
    return await timeRuns(() => trainStep(model, samples, step++, c.batch), c.batch, c.trainSteps, c.trainWarmup);
  } catch (err) {
    return { error: `cannot train: ${messageOf(err)}` };
  }
}

/** Epochs of `epochImages` images each, then a small scoring pass as the real loop does; RSS and tensors after each. */
async function memoryRun(model: tfl.LayersModel, samples: Sample[], c: Counts): Promise<EpochMemory[]> {
  const out: EpochMemory[] = [];
  const steps = Math.ceil(c.epochImages / c.batch);
  const scoring = imagesToFloat32(samples, samples.slice(0, 8).map((_, i) => i));
  for (let epoch = 1; epoch <= c.memoryEpochs; epoch++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await trainStep(model, samples, (epoch - 1) * steps + s, c.batch);
    await predictBatches(model, scoring, 8, SIZE, { batchSize: 4 });
    const record = { epoch, rssMiB: process.memoryUsage().rss / 2 ** 20, numTensors: tf.memory().numTensors, seconds: (performance.now() - t0) / 1000 };
    out.push(record);
    log(`  memory epoch ${epoch}/${c.memoryEpochs}: RSS ${record.rssMiB.toFixed(0)} MiB, ${record.numTensors} tensors, ${record.seconds.toFixed(1)} s`);
  }
  return out;
}

function tfjsInference(model: tfl.LayersModel, x: tf.Tensor4D): () => Promise<void> {
  return async () => {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const loadStart = load1();
  const c = args.counts;
  const notes: string[] = [];
  if (args.engine === 'shipped') {
    // tfjs-backend-wasm exactly as its authors ship it: none of leukoseg's kernels registered.
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
    await tf.ready();
  } else {
    // For the ONNX row, tfjs only builds the model that is exported.
    await initEngine({ backend: 'wasm', native: args.engine === 'native', training: true });
    const info = engineInfo();
    if (args.engine === 'native' && info.native === null) throw new Error(`the native kernels are not available: ${info.nativeUnavailable}`);
    if (info.threadsUnavailable !== undefined) notes.push(`wasm threads: ${info.threadsUnavailable}`);
  }
  const samples = await loadImages(args.data, imagesNeeded(c));
  const model = buildModel(args.model);
  const params = model.countParams();
  const flops = stepFlops(model);
  const x1 = tf.tensor4d(imagesToFloat32(samples, [0]), [1, SIZE, SIZE, 3]);
  const x32 = tf.tensor4d(imagesToFloat32(samples, samples.slice(0, 32).map((_, i) => i)), [32, SIZE, SIZE, 3]);
  let threads = 1;
  let train: ChildResult['train'] = null;
  let inferB1: ChildResult['inferB1'];
  let inferB32: ChildResult['inferB32'];
  let memory: EpochMemory[] | null = null;

  if (args.engine === 'onnx') {
    const predictor = await OnnxPredictor.fromLayersModel(model, { threads: args.threads || undefined });
    threads = args.threads || availableParallelism(); // ORT's default: one per core
    notes.push(`ONNX Runtime ${args.threads ? `${args.threads} intra-op threads` : 'default threads (one per core)'}; leukoseg's own export`);
    const [d1, d32] = [x1.dataSync() as Float32Array, x32.dataSync() as Float32Array];
    log(`  inference b1 ...`);
    inferB1 = await timeRuns(async () => void (await predictor.predict(d1, 1, SIZE)), 1, c.b1Runs, c.b1Warmup);
    log(`  inference b32 ...`);
    inferB32 = await timeRuns(async () => void (await predictor.predict(d32, 32, SIZE)), 32, c.b32Runs, c.b32Warmup);
    await predictor.dispose();
  } else {
    log(`  training ...`);
    train = await timeTraining(model, samples, c);
    log(`  inference b1 ...`);
    inferB1 = await timeRuns(tfjsInference(model, x1), 1, c.b1Runs, c.b1Warmup);
    log(`  inference b32 ...`);
    inferB32 = await timeRuns(tfjsInference(model, x32), 32, c.b32Runs, c.b32Warmup);
    if (c.memoryEpochs > 0 && 'msPerImage' in train) memory = await memoryRun(model, samples, c);
    // oneDNN's OpenMP threads: one per core; else the threads XNNPACK runs on.
    threads = args.engine === 'native' ? availableParallelism() : args.engine === 'shipped' ? 1 : engineInfo().threads;
    notes.push(
      args.engine === 'shipped' ? 'tfjs-backend-wasm 4.22 as shipped (no leukoseg kernels)'
        : args.engine === 'native' ? `leukoseg's wasm kernels, convolutions on ${engineInfo().native} (OpenMP, one thread per core)`
          : `leukoseg's wasm kernels (WebAssembly only, ${threads === 1 ? 'the single-threaded SIMD build' : `the threaded SIMD build on ${threads} threads`})`,
    );
  }
  tf.dispose([x1, x32]);
  model.dispose();
  const result: ChildResult = {
    engine: args.engine, model: args.model, threads, params, flops, train, inferB1, inferB32,
    peakRssMiB: peakRssMiB(), memory, load: { start: loadStart, end: load1() }, notes,
  };
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
