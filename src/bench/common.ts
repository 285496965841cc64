// What a benchmark child reports and how it is measured, shared by child.ts (tfjs / ONNX Runtime), the
// PyTorch child (torch_bench.py prints the same JSON shape) and the orchestrator run.ts.
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';

export const ENGINES = ['shipped', 'leukoseg', 'leukoseg-1thread', 'native', 'native-baseline', 'leukoseg-baseline', 'onnx', 'pytorch', 'pytorch-spin'] as const;
export type Engine = (typeof ENGINES)[number];
/** PyTorch's two rows: OpenMP threads that sleep when idle (OMP_WAIT_POLICY=PASSIVE, the reference), and as installed (spinning). */
export type TorchEngine = 'pytorch' | 'pytorch-spin';
export const isTorch = (engine: Engine): engine is TorchEngine => engine === 'pytorch' || engine === 'pytorch-spin';
/**
 * Rows of another build (run.ts --baseline DIR: e.g. a worktree of the commit before a change), each
 * the row of the engine named here, run by that build's own child in the same interleaved rounds, so
 * a change is measured against what it replaced under the same load.
 */
export const BASELINE_OF: Partial<Record<Engine, Engine>> = { 'native-baseline': 'native', 'leukoseg-baseline': 'leukoseg' };
export const isBaseline = (engine: Engine): boolean => BASELINE_OF[engine] !== undefined;
export const BENCH_MODELS = ['study-model-3', 'unet'] as const;
export type BenchModel = (typeof BENCH_MODELS)[number];

/**
 * The environment of an engine's child: WebAssembly only (even where the addon is built) on all `cores`
 * (tfjs's threaded build) or on one thread; PyTorch's OpenMP threads sleeping or as installed.
 */
export function childEnv(engine: Engine, base: NodeJS.ProcessEnv, cores: number): NodeJS.ProcessEnv {
  const env = { ...base };
  delete env.LEUKOSEG_WASM_THREADS;
  if (engine === 'leukoseg' || engine === 'leukoseg-baseline' || engine === 'leukoseg-1thread') env.LEUKOSEG_NATIVE = '0';
  if (engine === 'leukoseg' || engine === 'leukoseg-baseline') env.LEUKOSEG_WASM_THREADS = String(cores);
  if (engine === 'leukoseg-1thread') env.LEUKOSEG_WASM_THREADS = '1';
  if (engine === 'pytorch') {
    env.OMP_WAIT_POLICY = 'PASSIVE';
    // libgomp lets a spin count override the policy: the reference row must not spin.
    delete env.GOMP_SPINCOUNT;
  }
  if (engine === 'pytorch-spin') {
    delete env.OMP_WAIT_POLICY;
    delete env.GOMP_SPINCOUNT;
  }
  return env;
}

/** The child prints its result on one stdout line starting with this, so library chatter cannot confuse it. */
export const RESULT_MARKER = 'BENCH_RESULT ';

/** Per-image milliseconds of one timed operation: the median of `runs` after `warmup` untimed ones. */
export interface Timing {
  msPerImage: number;
  /** Fastest run, per image: less disturbed by other processes on the machine. */
  bestMsPerImage: number;
  batch: number;
  runs: number;
  warmup: number;
}

export interface EpochMemory {
  epoch: number;
  rssMiB: number;
  /** Live tfjs tensors (absent for PyTorch). */
  numTensors?: number;
  seconds: number;
}

/** Per-image FLOPs of the model's convolutions (src/bench/flops.ts; torch_bench.py counts its own the same way). */
export interface ImageFlops {
  forward: number;
  /** Forward + filter gradient + input gradient (but where the conv reads the image). */
  training: number;
}

export interface ChildResult {
  engine: Engine;
  model: BenchModel;
  /** Threads the engine computes on. */
  threads: number;
  params?: number;
  flops?: ImageFlops;
  /** A timing, or why this engine cannot train. */
  train: Timing | { error: string } | null;
  inferB1: Timing | { error: string };
  inferB32: Timing | { error: string };
  peakRssMiB: number;
  memory: EpochMemory[] | null;
  /** 1-minute load average when the child started and ended. */
  load: { start: number; end: number };
  notes: string[];
}

/** Timing options every child takes; `--quick` lowers them. */
export interface Counts {
  trainSteps: number;
  trainWarmup: number;
  b1Runs: number;
  b1Warmup: number;
  b32Runs: number;
  b32Warmup: number;
  memoryEpochs: number;
  epochImages: number;
  batch: number;
}

export const FULL_COUNTS: Counts = {
  trainSteps: 20, trainWarmup: 3, b1Runs: 50, b1Warmup: 10, b32Runs: 10, b32Warmup: 3, memoryEpochs: 20, epochImages: 20, batch: 2,
};
/** Images per memory epoch by model: the U-Net trains ~5x slower per image, so its 20 epochs are smaller. */
export const EPOCH_IMAGES: Record<BenchModel, number> = { 'study-model-3': 20, unet: 8 };
export const QUICK_COUNTS: Counts = {
  trainSteps: 6, trainWarmup: 2, b1Runs: 12, b1Warmup: 3, b32Runs: 3, b32Warmup: 1, memoryEpochs: 4, epochImages: 8, batch: 2,
};

/** Images the children load: enough for a batch of 32 and an epoch of the memory run. */
export function imagesNeeded(c: Counts): number {
  return Math.max(32, c.epochImages, c.batch);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed; per-image figures for a batch of `batch`. */
export async function timeRuns(fn: () => Promise<void>, batch: number, runs: number, warmup: number): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { msPerImage: median(ms) / batch, bestMsPerImage: Math.min(...ms) / batch, batch, runs, warmup };
}

export function load1(): number {
  return loadavg()[0];
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // KiB on Linux
}

export function isTiming(t: Timing | { error: string } | null | undefined): t is Timing {
  return t != null && 'msPerImage' in t;
}

export function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** The options a bench script takes: `values` as `--name value`, `switches` as bare `--name`. */
export interface FlagSpec {
  values: readonly string[];
  switches: readonly string[];
}

/**
 * The `--name value` and `--name` options of a bench script into a map (a switch maps to 'true'), by
 * Node's strict parseArgs: an option the script does not take, a value missing or a stray word is
 * refused with a message naming it, not ignored (a mistyped --rounds must not run the default bench).
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Map<string, string> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of spec.values) options[name] = { type: 'string' };
  for (const name of spec.switches) options[name] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    const known = [...spec.values.map((n) => `--${n} <value>`), ...spec.switches.map((n) => `--${n}`)].join(', ');
    throw new Error(`${messageOf(err)} (options: ${known})`, { cause: err });
  }
  const flags = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== false) flags.set(name, String(value));
  return flags;
}
