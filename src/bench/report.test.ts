// The bench's arithmetic and tables on made-up results (the bench itself is not a test and CI does not run
// it): medians, ratios to PyTorch, the round chosen per configuration, memory growth, flag parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, parseFlags, timeRuns, type ChildResult, type Timing } from './common.js';
import { bestRound, formatFieldTable, formatMemory, formatTable, memoryGrowth } from './report.js';

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
  assert.match(lines[1], /cannot train\s+15\.0\s+7\.50\s+300\s+-\s+7\.14x\s+7\.14x/);
  assert.match(lines[2], /13\.2\s+4\.20\s+2\.10\s+300\s+2\.00x\s+2\.00x\s+2\.00x\s+1\.0-1\.5$/);
  assert.match(lines[3], /PyTorch reference\s+1\s+6\.60\s+2\.10\s+1\.05\s+300\s+1\s+1\s+1/);
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

test('flags: --key value pairs and bare switches; stray words are refused', () => {
  const f = parseFlags(['--models', 'unet', '--quick', '--rounds', '1']);
  assert.equal(f.get('models'), 'unet');
  assert.equal(f.get('quick'), 'true');
  assert.equal(f.get('rounds'), '1');
  assert.throws(() => parseFlags(['unet']), /unexpected argument 'unet'/);
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
