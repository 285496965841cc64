// Turns the children's results into the bench's printed tables: speed and peak RSS per configuration
// with the ratio to PyTorch, achieved GFLOP/s beside the machine's peak, and RSS / live tensors per epoch
// of the memory runs.
import { isTiming, type ChildResult, type EpochMemory, type Timing } from './common.js';
import type { MachinePeak } from './peak.js';
import type { FieldBenchResult } from './field-child.js';

/** A configuration's figures over all rounds: the round with the fastest training (else inference) is shown. */
export interface Row {
  result: ChildResult;
  /** Every round's figures, for the JSON file. */
  rounds: ChildResult[];
}

const ENGINE_LABEL: Record<ChildResult['engine'], string> = {
  shipped: 'tfjs-wasm as shipped',
  leukoseg: 'leukoseg engine, WebAssembly, all cores',
  'leukoseg-1thread': 'leukoseg engine, WebAssembly, 1 thread',
  native: 'leukoseg engine + oneDNN convolutions',
  'native-baseline': 'the same, the --baseline build',
  'leukoseg-baseline': 'WebAssembly, all cores, the --baseline build',
  onnx: 'leukoseg ONNX export on ORT',
  pytorch: 'PyTorch, OMP_WAIT_POLICY=PASSIVE',
  'pytorch-spin': 'PyTorch, OpenMP as installed',
};

/** Engines whose convolutions run on WebAssembly, bounded by its SIMD peak rather than the CPU's. */
const ON_WASM: ReadonlySet<ChildResult['engine']> = new Set(['shipped', 'leukoseg', 'leukoseg-baseline', 'leukoseg-1thread']);

function ms(t: Timing | { error: string } | null): string {
  if (t == null) return '-';
  return isTiming(t) ? t.msPerImage.toFixed(t.msPerImage < 10 ? 2 : 1) : 'cannot train';
}

function ratio(t: Timing | { error: string } | null, ref: Timing | { error: string } | null | undefined): string {
  if (!isTiming(t) || !isTiming(ref)) return '-';
  return `${(t.msPerImage / ref.msPerImage).toFixed(2)}x`;
}

/** Picks, per configuration, the round least disturbed by the rest of the machine (lowest train, else b1, time). */
export function bestRound(rounds: ChildResult[]): ChildResult {
  const score = (r: ChildResult) => (isTiming(r.train) ? r.train.msPerImage : isTiming(r.inferB1) ? r.inferB1.msPerImage : Infinity);
  return rounds.reduce((best, r) => (score(r) < score(best) ? r : best));
}

function pad(cells: string[][]): string[] {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd());
}

/** The main table: one line per (model, engine); ratios are this engine's ms per image / PyTorch's. */
export function formatTable(rows: Row[]): string[] {
  const header = ['model', 'engine', 'threads', 'train ms/img', 'infer b1 ms/img', 'infer b32 ms/img', 'peak RSS MiB',
    'train / PT', 'b1 / PT', 'b32 / PT', 'train / PT spin', 'load 1m'];
  const cells = [header];
  const find = (model: string, engine: ChildResult['engine']) => rows.find((o) => o.result.model === model && o.result.engine === engine)?.result;
  for (const { result: r } of rows) {
    const torch = find(r.model, 'pytorch');
    const spin = find(r.model, 'pytorch-spin');
    const train = r.engine === 'onnx' ? '-' : ms(r.train);
    const vs = (t: Timing | { error: string } | null, ref: Timing | { error: string } | null | undefined) => (r.engine === 'pytorch' ? '1' : ratio(t, ref));
    cells.push([
      r.model, ENGINE_LABEL[r.engine], String(r.threads), train, ms(r.inferB1), ms(r.inferB32), r.peakRssMiB.toFixed(0),
      vs(r.train, torch?.train), vs(r.inferB1, torch?.inferB1), vs(r.inferB32, torch?.inferB32),
      r.engine === 'pytorch-spin' ? '1' : ratio(r.train, spin?.train), `${r.load.start.toFixed(1)}-${r.load.end.toFixed(1)}`,
    ]);
  }
  return pad(cells);
}

/** The machine's peak: the measured FMA probe times the cores, else the nominal /proc/cpuinfo figure. */
export function machineGflops(peak: MachinePeak): number | null {
  return 'gflopsPerCore' in peak.native ? peak.native.gflopsPerCore * peak.cores : peak.nominalGflops;
}

export function formatPeak(peak: MachinePeak): string[] {
  const native = 'gflopsPerCore' in peak.native
    ? `${peak.cores} cores x ${peak.native.gflopsPerCore.toFixed(1)} GFLOP/s (${peak.native.what}) = ${(peak.native.gflopsPerCore * peak.cores).toFixed(0)} GFLOP/s`
    : `FMA probe: ${peak.native.error}`;
  return [
    `machine peak, fp32: ${native}`,
    `WebAssembly SIMD peak: ${peak.cores} x ${peak.wasm.gflopsPerCore.toFixed(1)} GFLOP/s (${peak.wasm.what}) = ${(peak.wasm.gflopsPerCore * peak.cores).toFixed(0)} GFLOP/s`,
    `nominal: ${peak.nominalGflops === null ? peak.nominalWhat : `${peak.nominalWhat} = ${peak.nominalGflops.toFixed(0)} GFLOP/s`}`,
  ];
}

function gflops(flops: number | undefined, t: Timing | { error: string } | null): number | null {
  return flops !== undefined && isTiming(t) ? flops / t.msPerImage / 1e6 : null;
}

const percent = (value: number | null, of: number | null) => (value === null || of === null ? '-' : `${((100 * value) / of).toFixed(1)} %`);
const fixed = (value: number | null) => (value === null ? '-' : value.toFixed(1));

/**
 * Achieved GFLOP/s of each configuration's training step and batch-32 inference (the convolutions' FLOPs,
 * flops.ts, over the measured time) and the share of the machine's peak (all cores) and, for engines on
 * WebAssembly, of WebAssembly SIMD's.
 */
export function formatArithmetic(rows: Row[], peak: MachinePeak): string[] {
  const machine = machineGflops(peak);
  const wasm = peak.wasm.gflopsPerCore * peak.cores;
  const cells = [['model', 'engine', 'threads', 'GFLOP/img train', 'train GFLOP/s', 'of machine', 'of wasm SIMD', 'infer b32 GFLOP/s', 'of machine']];
  for (const { result: r } of rows) {
    const train = r.engine === 'onnx' ? null : gflops(r.flops?.training, r.train);
    const infer = gflops(r.flops?.forward, r.inferB32);
    cells.push([
      r.model, ENGINE_LABEL[r.engine], String(r.threads), r.flops === undefined ? '-' : (r.flops.training / 1e9).toFixed(3),
      fixed(train), percent(train, machine), ON_WASM.has(r.engine) ? percent(train, wasm) : '-', fixed(infer), percent(infer, machine),
    ]);
  }
  return pad(cells);
}

export interface MemoryGrowth {
  /** RSS change from the second epoch (after warm-up allocations) to the last. */
  rssMiB: number;
  /** Least-squares RSS slope over the second half of the epochs, MiB per epoch: ~0 once the heap has settled. */
  lateSlopeMiB: number;
  /** Live tensors, last epoch minus second (null without tensor counts). */
  tensors: number | null;
}

function slope(ys: number[]): number {
  if (ys.length < 2) return 0;
  const mx = (ys.length - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

export function memoryGrowth(epochs: EpochMemory[]): MemoryGrowth {
  if (epochs.length < 2) return { rssMiB: 0, lateSlopeMiB: 0, tensors: epochs[0]?.numTensors !== undefined ? 0 : null };
  const [from, to] = [epochs[1], epochs[epochs.length - 1]];
  const tensors = from.numTensors !== undefined && to.numTensors !== undefined ? to.numTensors - from.numTensors : null;
  const late = epochs.slice(Math.floor(epochs.length / 2)).map((e) => e.rssMiB);
  return { rssMiB: to.rssMiB - from.rssMiB, lateSlopeMiB: slope(late), tensors };
}

const signed = (v: number, digits: number) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;

export function formatMemory(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const { rounds } of rows) {
    const r = rounds.find((x) => x.memory && x.memory.length > 0);
    if (!r?.memory) continue;
    const growth = memoryGrowth(r.memory);
    lines.push(`${r.model} / ${ENGINE_LABEL[r.engine]}: ${r.memory.length} epochs; ` +
      `RSS epoch 2 -> ${r.memory.length}: ${signed(growth.rssMiB, 1)} MiB, second half ${signed(growth.lateSlopeMiB, 2)} MiB/epoch` +
      (growth.tensors === null ? '' : `; live tensors ${signed(growth.tensors, 0)}`));
    lines.push(`  RSS MiB: ${r.memory.map((e) => e.rssMiB.toFixed(0)).join(' ')}`);
    if (r.memory[0].numTensors !== undefined) lines.push(`  tensors: ${r.memory.map((e) => e.numTensors).join(' ')}`);
  }
  return lines;
}

/** The field table: one line per field size, megapixels per second and the network's share of the time. */
export function formatFieldTable(r: FieldBenchResult): string[] {
  const cells = [['field', 'size', 'white cells', 's per field', 'MP/s', 'in the network', 'peak RSS MiB', 'load 1m']];
  for (const f of r.fields) {
    cells.push([
      f.label, `${f.width}x${f.height}`, String(f.cells), f.seconds.toFixed(2), f.megapixelsPerSecond.toFixed(2), `${(100 * f.modelShare).toFixed(0)} %`,
      r.peakRssMiB.toFixed(0), `${r.load.start.toFixed(1)}-${r.load.end.toFixed(1)}`,
    ]);
  }
  return pad(cells);
}
