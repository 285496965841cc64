// Turns the children's results into the bench's printed tables: speed and peak RSS per configuration
// with the ratio to PyTorch, and RSS / live tensors per epoch of the memory runs.
import { isTiming, type ChildResult, type EpochMemory, type Timing } from './common.js';
import type { FieldBenchResult } from './field-child.js';

/** A configuration's figures over all rounds: the round with the fastest training (else inference) is shown. */
export interface Row {
  result: ChildResult;
  /** Every round's figures, for the JSON file. */
  rounds: ChildResult[];
}

const ENGINE_LABEL: Record<ChildResult['engine'], string> = {
  shipped: 'tfjs-wasm as shipped',
  leukoseg: 'leukoseg engine (tfjs-wasm + kernels)',
  native: 'leukoseg engine + oneDNN convolutions',
  onnx: 'leukoseg ONNX export on ORT',
  pytorch: 'PyTorch reference',
};

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
    'train / PT', 'b1 / PT', 'b32 / PT', 'load 1m'];
  const cells = [header];
  for (const { result: r } of rows) {
    const torch = rows.find((o) => o.result.model === r.model && o.result.engine === 'pytorch')?.result;
    const train = r.engine === 'onnx' ? '-' : ms(r.train);
    cells.push([
      r.model, ENGINE_LABEL[r.engine], String(r.threads), train, ms(r.inferB1), ms(r.inferB32), r.peakRssMiB.toFixed(0),
      r.engine === 'pytorch' ? '1' : ratio(r.train, torch?.train), r.engine === 'pytorch' ? '1' : ratio(r.inferB1, torch?.inferB1),
      r.engine === 'pytorch' ? '1' : ratio(r.inferB32, torch?.inferB32), `${r.load.start.toFixed(1)}-${r.load.end.toFixed(1)}`,
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
