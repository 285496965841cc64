// The bench's arithmetic and tables on made-up results (the bench itself is not a test and CI does not run
// it): medians, ratios to PyTorch, GFLOP/s and shares of the peak, a model's FLOPs, the children's
// environments, the round chosen per configuration, memory growth, flag parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { childEnv, median, parseFlags, timeRuns, type ChildResult, type Timing } from './common.js';
import { stepFlops } from './flops.js';
import type { MachinePeak } from './peak.js';
import { bestRound, formatArithmetic, formatFieldTable, formatMemory, formatPeak, formatTable, memoryGrowth } from './report.js';

const timing = (msPerImage: number): Timing => ({ msPerImage, bestMsPerImage: msPerImage, batch: 1, runs: 1, warmup: 0 });

function result(engine: ChildResult['engine'], train: number | string | null, b1: number, extra: Partial<ChildResult> = {}): ChildResult {
  return {
    engine, model: 'study-model-3', threads: 1,
    train: typeof train === 'number' ? timing(train) : typeof train === 'string' ? { error: train } : null,
    inferB1: timing(b1), inferB32: timing(b1 / 2), peakRssMiB: 300, memory: null, load: { start: 1, end: 1.5 }, notes: [], ...extra,
  };
}

test('median and timeRuns: warm-up runs are not timed, per-image figures divide by the batch', async () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  let calls = 0;
  const t = await timeRuns(async () => void calls++, 4, 5, 2);
  assert.equal(calls, 7);
  assert.equal(t.batch, 4);
  assert.ok(t.msPerImage >= 0 && t.bestMsPerImage <= t.msPerImage);
});

test('the table shows ratios to PyTorch of the same model, and "cannot train" for an engine that cannot', () => {
  const rows = [
    result('shipped', 'cannot train: no Conv2DBackpropFilter', 15),
    result('leukoseg', 13.2, 4.2),
    result('pytorch', 6.6, 2.1),
  ].map((r) => ({ result: r, rounds: [r] }));
  const lines = formatTable(rows);
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^model\s+engine\s+threads\s+train ms\/img/);
  assert.match(lines[1], /cannot train\s+15\.0\s+7\.50\s+300\s+-\s+7\.14x\s+7\.14x\s+-/);
  assert.match(lines[2], /13\.2\s+4\.20\s+2\.10\s+300\s+2\.00x\s+2\.00x\s+2\.00x\s+-\s+1\.0-1\.5$/);
  assert.match(lines[3], /PyTorch, OMP_WAIT_POLICY=PASSIVE\s+1\s+6\.60\s+2\.10\s+1\.05\s+300\s+1\s+1\s+1\s+-/);
});

test('the last ratio column is to PyTorch with its OpenMP threads as installed', () => {
  const rows = [result('native', 12, 4), result('pytorch', 6, 2), result('pytorch-spin', 10, 2)].map((r) => ({ result: r, rounds: [r] }));
  const lines = formatTable(rows);
  assert.match(lines[1], /2\.00x\s+2\.00x\s+2\.00x\s+1\.20x\s+1\.0-1\.5$/);
  assert.match(lines[3], /PyTorch, OpenMP as installed\s+1\s+10\.0.*1\.67x\s+1\.00x\s+1\.00x\s+1\s+1\.0-1\.5$/);
});

const peak: MachinePeak = {
  cores: 2, native: { gflopsPerCore: 250, what: 'AVX-512 FMA' }, wasm: { gflopsPerCore: 25, what: 'f32x4' },
  nominalGflops: 268.8, nominalWhat: '2 cores x 2.10 GHz',
};

test('GFLOP/s: FLOPs per image over ms per image, as shares of the machine and of WebAssembly SIMD', () => {
  const flops = { forward: 1e9, training: 3e9 };
  const rows = [
    result('leukoseg', 60, 20, { flops, threads: 2 }),
    result('native', 30, 10, { flops }),
    result('onnx', null, 5, { flops }),
  ].map((r) => ({ result: r, rounds: [r] }));
  const lines = formatArithmetic(rows, peak);
  assert.match(lines[0], /^model\s+engine\s+threads\s+GFLOP\/img train\s+train GFLOP\/s\s+of machine\s+of wasm SIMD\s+infer b32 GFLOP\/s\s+of machine$/);
  // 3 GFLOP in 60 ms = 50 GFLOP/s: 10 % of 2 x 250, 100 % of 2 x 25; inference 1 GFLOP in 10 ms (b32 = b1 / 2).
  assert.match(lines[1], /WebAssembly, all cores\s+2\s+3\.000\s+50\.0\s+10\.0 %\s+100\.0 %\s+100\.0\s+20\.0 %$/);
  assert.match(lines[2], /oneDNN convolutions\s+1\s+3\.000\s+100\.0\s+20\.0 %\s+-\s+200\.0\s+40\.0 %$/);
  assert.match(lines[3], /ONNX export on ORT\s+1\s+3\.000\s+-\s+-\s+-\s+400\.0\s+80\.0 %$/);
  const failed = formatArithmetic([{ result: result('native', 30, 10), rounds: [] }], { ...peak, native: { error: 'no cc' } });
  assert.match(failed[1], /1\s+-\s+-\s+-\s+-\s+-\s+-$/);
  assert.match(formatPeak(peak)[0], /2 cores x 250\.0 GFLOP\/s \(AVX-512 FMA\) = 500 GFLOP\/s/);
  assert.match(formatPeak({ ...peak, native: { error: 'no cc' } })[0], /FMA probe: no cc/);
});

test("a step's FLOPs: forward, filter and input gradients, no input gradient where a conv reads the image", async () => {
  await tf.setBackend('cpu');
  const input = tfl.input({ shape: [8, 8, 3] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(a) as tfl.SymbolicTensor;
  const c = tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, padding: 'same' }).apply(b) as tfl.SymbolicTensor;
  const d = tfl.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(c) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: d });
  // 2*8*8*4*3*3*3 = 13824 (reads the image); 2*(4*4)*2*2*4*2 = 1024 (per input position); 2*8*8*3*1*1*2 = 768.
  assert.deepEqual(stepFlops(model), { forward: 15616, training: 2 * 15616 + 1024 + 768 });
  model.dispose();
});

test("the children's environments: WebAssembly only on all cores or one, PyTorch's OpenMP sleeping or as installed", () => {
  const base = { LEUKOSEG_WASM_THREADS: '4', OMP_WAIT_POLICY: 'ACTIVE', PATH: '/bin' };
  assert.deepEqual(childEnv('leukoseg', base, 2), { OMP_WAIT_POLICY: 'ACTIVE', PATH: '/bin', LEUKOSEG_NATIVE: '0', LEUKOSEG_WASM_THREADS: '2' });
  assert.deepEqual(childEnv('leukoseg-baseline', base, 2), childEnv('leukoseg', base, 2), 'the baseline build runs as the row it is compared with');
  assert.deepEqual(childEnv('native-baseline', base, 2), childEnv('native', base, 2));
  assert.deepEqual(childEnv('leukoseg-1thread', base, 2), { OMP_WAIT_POLICY: 'ACTIVE', PATH: '/bin', LEUKOSEG_NATIVE: '0', LEUKOSEG_WASM_THREADS: '1' });
  assert.deepEqual(childEnv('native', base, 2), { OMP_WAIT_POLICY: 'ACTIVE', PATH: '/bin' });
  assert.equal(childEnv('pytorch', base, 2).OMP_WAIT_POLICY, 'PASSIVE');
  assert.equal(childEnv('pytorch', { ...base, GOMP_SPINCOUNT: '300000' }, 2).GOMP_SPINCOUNT, undefined, 'a spin count would override PASSIVE');
  assert.equal(childEnv('pytorch-spin', base, 2).OMP_WAIT_POLICY, undefined);
});

test('without a PyTorch row the ratios are blank', () => {
  const r = result('leukoseg', 13, 4);
  assert.match(formatTable([{ result: r, rounds: [r] }])[1], /300\s+-\s+-\s+-/);
});

test('the round shown is the least disturbed one: fastest training, else fastest batch-1 inference', () => {
  assert.equal((bestRound([result('leukoseg', 20, 1), result('leukoseg', 15, 9)]).train as Timing).msPerImage, 15);
  const onnx = bestRound([result('onnx', null, 5), result('onnx', null, 3)]);
  assert.equal((onnx.inferB1 as Timing).msPerImage, 3);
});

test('memory growth is measured from epoch 2 to the last, in RSS and live tensors', () => {
  const epochs = [300, 310, 311, 309].map((rssMiB, i) => ({ epoch: i + 1, rssMiB, numTensors: 66, seconds: 1 }));
  // second half: 311, 309 -> slope -2 MiB per epoch
  assert.deepEqual(memoryGrowth(epochs), { rssMiB: -1, lateSlopeMiB: -2, tensors: 0 });
  assert.deepEqual(memoryGrowth([{ epoch: 1, rssMiB: 5, seconds: 1 }]), { rssMiB: 0, lateSlopeMiB: 0, tensors: null });
  // a steady leak of 1.5 MiB per epoch shows as that slope
  const leaking = Array.from({ length: 8 }, (_, i) => ({ epoch: i + 1, rssMiB: 100 + 1.5 * i, seconds: 1 }));
  assert.ok(Math.abs(memoryGrowth(leaking).lateSlopeMiB - 1.5) < 1e-9);
  const r = result('leukoseg', 13, 4, { memory: epochs });
  const lines = formatMemory([{ result: r, rounds: [r] }]);
  assert.match(lines[0], /4 epochs; RSS epoch 2 -> 4: -1\.0 MiB, second half -2\.00 MiB\/epoch; live tensors \+0/);
  assert.equal(lines[1], '  RSS MiB: 300 310 311 309');
  assert.equal(lines[2], '  tensors: 66 66 66 66');
});

test('flags: --key value pairs and bare switches; stray words, unknown options and missing values are refused', () => {
  const spec = { values: ['models', 'rounds'], switches: ['quick'] };
  const f = parseFlags(['--models', 'unet', '--quick', '--rounds', '1'], spec);
  assert.equal(f.get('models'), 'unet');
  assert.equal(f.get('quick'), 'true');
  assert.equal(f.get('rounds'), '1');
  assert.equal(f.has('help'), false);
  assert.throws(() => parseFlags(['unet'], spec), /unet/);
  // A misspelt option must not run the default bench (--help once did).
  assert.throws(() => parseFlags(['--round', '3'], spec), /--round.*options: --models <value>, --rounds <value>, --quick/);
  assert.throws(() => parseFlags(['--help'], spec), /--help/);
  assert.throws(() => parseFlags(['--rounds'], spec), /--rounds/);
});

test('the field table gives megapixels per second and the network\'s share of the time', () => {
  const lines = formatFieldTable({
    runtime: 'onnx', peakRssMiB: 512, load: { start: 2, end: 3.5 },
    fields: [{ label: 'Dataset 1 cells, 4x3', width: 640, height: 480, cells: 12, runs: 3, seconds: 1.2288, megapixelsPerSecond: 0.25, modelShare: 0.6 }],
  });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^field\s+size\s+white cells\s+s per field\s+MP\/s/);
  assert.match(lines[1]!, /^Dataset 1 cells, 4x3\s+640x480\s+12\s+1\.23\s+0\.25\s+60 %\s+512\s+2\.0-3\.5$/);
});
