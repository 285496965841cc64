// `npm run bench`: every (model, engine) in its own child process, rounds interleaved (A, B, A, B) so the
// other load on the machine hits all alike; prints one table with ratios to PyTorch and writes it as JSON.
//   node dist-dev/bench/run.js [--models study-model-3,unet] [--quick]
//                          [--engines shipped,leukoseg,leukoseg-1thread,native,onnx,pytorch,pytorch-spin]
//                          [--rounds 2] [--memory-epochs 20] [--out runs/bench-DATE.json] [--data DIR] [--peer peer.py]
//                          [--onnx-threads N] [--child-timeout 900] [--no-fields] [--baseline DIR]
// --baseline DIR adds the rows native-baseline and leukoseg-baseline: the native and WebAssembly (all
// cores) rows of the build in DIR (its dist-dev/ and native/build/, e.g. a worktree of an earlier commit
// after npm run build:dev and build:native), run by its own child in the same rounds.
// Before the rounds it probes the machine's arithmetic peak (peak.ts); each training row gets its GFLOP/s;
// unless --no-fields, the bundled model's throughput on smear fields follows (megapixels per second, ONNX Runtime).
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, sharedDataset1 } from '../testing/paths.js';
import { loadNativeConv } from '../engine/native.js';
import { BASELINE_OF, BENCH_MODELS, ENGINES, RESULT_MARKER, childEnv, isTorch, parseFlags, type BenchModel, type ChildResult, type Engine, isBaseline } from './common.js';
import { machinePeak } from './peak.js';
import { bestRound, formatArithmetic, formatFieldTable, formatMemory, formatPeak, formatTable, type Row } from './report.js';
import type { FieldBenchResult } from './field-child.js';

const PYTHON = '/usr/bin/python3';
const HERE = dirname(fileURLToPath(import.meta.url));

interface Options {
  models: BenchModel[];
  engines: Engine[];
  quick: boolean;
  rounds: number;
  memoryEpochs: number;
  out: string;
  data: string;
  peer: string;
  onnxThreads: number;
  childTimeoutS: number;
  /** Run the field throughput child (the data set root is --data's parent). */
  fields: boolean;
  /** Another build whose native and WebAssembly rows run as native-baseline and leukoseg-baseline. */
  baseline?: string;
}

const TORCH_OMP_NOTE =
  'PyTorch runs with OMP_WAIT_POLICY=PASSIVE (the ratios\' reference), and as installed (pytorch-spin): its OpenMP ' +
  'threads otherwise spin-wait, and when another process holds one of the 2 cores a training step became 15x slower ' +
  '(study-model-3: 408 vs 27 ms per image, same load) - a figure that would flatter leukoseg. leukoseg\'s ' +
  'ONNX Runtime sessions likewise do not spin.';

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !allowed.includes(s as T));
  if (bad.length > 0) throw new Error(`--${what}: unknown ${bad.join(', ')}; must be among ${allowed.join(', ')}`);
  return items as T[];
}

const USAGE = `Usage: npm run bench -- [options]   (or node dist-dev/bench/run.js [options])

Times training and inference of leukoseg's engines against PyTorch, side by side; writes runs/bench-<time>.json.

Options:
  --models <list>         ${BENCH_MODELS.join(',')} (default: all)
  --engines <list>        ${ENGINES.join(',')} (default: all but the baselines)
  --rounds <n>            interleaved rounds, the best of which is reported (default: 2; --quick: 1)
  --memory-epochs <n>     epochs of the memory check (default: 20; --quick: 4; 0: none)
  --quick                 a few images and one round: a smoke run
  --no-fields             leave out the smear-field timings
  --baseline <dir>        another build (built with npm run build:dev) whose rows run as *-baseline
  --out <file>            the JSON log (default: runs/bench-<time>.json)
  --data <dir>            the Dataset 1 folder (default: ../shared's)
  --peer <file>           the PyTorch reference's peer.py (default: ../shared/peers/pytorch/peer.py)
  --onnx-threads <n>      ONNX Runtime intra-op threads (default: its own)
  --child-timeout <s>     seconds before one engine's run is stopped (default: 900)
  --help                  this text`;

const RUN_FLAGS = {
  values: ['models', 'engines', 'rounds', 'memory-epochs', 'out', 'data', 'peer', 'onnx-threads', 'child-timeout', 'baseline'],
  switches: ['quick', 'no-fields', 'help'],
} as const;

function parseOptions(argv: string[]): Options {
  const f = parseFlags(argv, RUN_FLAGS);
  if (f.has('help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = f.has('quick');
  const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\..*/, '');
  return {
    models: list(f.get('models'), BENCH_MODELS, 'models'),
    // The baseline rows run when asked for, by name or with --baseline.
    engines: list(f.get('engines'), ENGINES, 'engines').filter((e) => !isBaseline(e) || f.has('engines') || f.has('baseline')),
    quick,
    rounds: Number(f.get('rounds') ?? (quick ? 1 : 2)),
    memoryEpochs: Number(f.get('memory-epochs') ?? (quick ? 4 : 20)),
    out: resolve(f.get('out') ?? resolve(PROJECT_ROOT, 'runs', `bench-${stamp}.json`)),
    data: resolve(f.get('data') ?? sharedDataset1()),
    peer: resolve(f.get('peer') ?? resolve(PROJECT_ROOT, '..', 'shared', 'peers', 'pytorch', 'peer.py')),
    onnxThreads: Number(f.get('onnx-threads') ?? 0),
    childTimeoutS: Number(f.get('child-timeout') ?? 900),
    fields: !f.has('no-fields'),
    ...(f.has('baseline') ? { baseline: resolve(f.get('baseline')!) } : {}),
  };
}

/** The baseline build's bench child, or why it cannot run. */
function baselineChild(dir: string | undefined): string | Error {
  if (dir === undefined) return new Error('no --baseline DIR given');
  const child = resolve(dir, 'dist-dev', 'bench', 'child.js');
  return existsSync(child) ? child : new Error(`--baseline ${dir}: ${child} is missing (run npm run build:dev there)`);
}

function uptime(): string {
  const r = spawnSync('uptime', { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `(uptime unavailable)`;
}

/** Why PyTorch cannot run here, or null when it can. */
function torchProblem(peer: string): string | null {
  if (!existsSync(peer)) return `no PyTorch reference at ${peer}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PYTHON} -c 'import torch' failed (${r.error?.message ?? r.stderr.trim().split('\n').pop()}); install python3-torch`;
  return null;
}

function childCommand(o: Options, model: BenchModel, engine: Engine, memory: boolean): [string, string[]] {
  const common = ['--model', model, '--data', o.data, ...(o.quick ? ['--quick'] : [])];
  const memoryArgs = memory && o.memoryEpochs > 0 ? ['--memory-epochs', String(o.memoryEpochs)] : [];
  if (isTorch(engine)) {
    return [PYTHON, [resolve(PROJECT_ROOT, 'src', 'bench', 'torch_bench.py'), '--peer', o.peer, '--engine', engine, ...common, ...memoryArgs]];
  }
  const threads = engine === 'onnx' && o.onnxThreads > 0 ? ['--threads', String(o.onnxThreads)] : [];
  const baselineOf = BASELINE_OF[engine];
  if (baselineOf !== undefined) return [process.execPath, [baselineChild(o.baseline) as string, '--engine', baselineOf, ...common, ...memoryArgs]];
  return [process.execPath, [resolve(HERE, 'child.js'), '--engine', engine, ...common, ...memoryArgs, ...threads]];
}

/** Runs one child, echoing its progress (stderr) with a prefix; resolves to its result line. */
function runChild<T = ChildResult>(command: string, args: string[], label: string, env: NodeJS.ProcessEnv, timeoutS: number): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: PROJECT_ROOT, env, timeout: timeoutS * 1000 });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      stderrTail = (stderrTail + text).slice(-2000);
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code === 0 && line) resolvePromise(JSON.parse(line.slice(RESULT_MARKER.length)) as T);
      else if (child.killed) reject(new Error(`${label} did not finish within ${timeoutS} s (--child-timeout)`));
      else reject(new Error(`${label} exited with ${code}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const loadAtStart = uptime();
  console.log(`leukoseg bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
  console.log(`load at start: ${loadAtStart}`);
  let engines = o.engines;
  const skipped: string[] = [];
  if (engines.includes('native')) {
    const addon = loadNativeConv();
    if (addon instanceof Error) {
      console.log(`native rows skipped: ${addon.message}`);
      skipped.push(`native: ${addon.message}`);
      engines = engines.filter((e) => e !== 'native');
    }
  }
  if (engines.some(isBaseline)) {
    const child = baselineChild(o.baseline);
    if (child instanceof Error) throw child;
  }
  if (engines.some(isTorch)) {
    const problem = torchProblem(o.peer);
    if (problem) {
      console.log(`PyTorch rows skipped: ${problem}`);
      skipped.push(problem);
      engines = engines.filter((e) => !isTorch(e));
    }
  }
  const peak = machinePeak();
  for (const line of formatPeak(peak)) console.log(line);
  // The engine a user gets by default: native convolutions where they were built.
  const memoryEngine: Engine = engines.includes('native') ? 'native' : 'leukoseg';
  const byConfig = new Map<string, ChildResult[]>();
  const failures: string[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const model of o.models) {
      for (const engine of engines) {
        const label = `r${round} ${model}/${engine}`;
        // The memory epochs are leukoseg's (issue: flat RSS and tensor count); once, in round 1.
        const [command, args] = childCommand(o, model, engine, round === 1 && engine === memoryEngine);
        const t0 = Date.now();
        process.stderr.write(`[${label}] starting at ${new Date().toTimeString().slice(0, 8)} (load ${uptime().replace(/.*load average: /, '')})\n`);
        const env = childEnv(engine, process.env, Math.min(8, availableParallelism()));
        try {
          const child = await runChild(command, args, label, env, o.childTimeoutS);
          // The baseline build's child reports itself as the engine it ran.
          const result = isBaseline(engine) ? { ...child, engine } : child;
          process.stderr.write(`[${label}] done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
          byConfig.set(`${model}/${engine}`, [...(byConfig.get(`${model}/${engine}`) ?? []), result]);
        } catch (err) {
          failures.push((err as Error).message);
          console.log(`FAILED ${(err as Error).message}`);
        }
      }
    }
  }
  const rows: Row[] = [...byConfig.values()].map((rounds) => ({
    // Peak RSS is the configuration's largest over all rounds (round 1 also runs the memory epochs).
    result: { ...bestRound(rounds), peakRssMiB: Math.max(...rounds.map((r) => r.peakRssMiB)) },
    rounds,
  }));
  let fields: FieldBenchResult | null = null;
  if (o.fields) {
    const args = [resolve(HERE, 'field-child.js'), '--data', dirname(o.data), ...(o.quick ? ['--quick'] : [])];
    process.stderr.write(`[fields] starting at ${new Date().toTimeString().slice(0, 8)} (load ${uptime().replace(/.*load average: /, '')})\n`);
    try {
      fields = await runChild<FieldBenchResult>(process.execPath, args, 'fields', process.env, o.childTimeoutS);
    } catch (err) {
      failures.push((err as Error).message);
      console.log(`FAILED ${(err as Error).message}`);
    }
  }
  const loadAtEnd = uptime();
  console.log('');
  console.log(`ms per image at 128x128 (train: batch 2, median of steps; infer: median of runs; best of ${o.rounds} interleaved round(s))`);
  for (const line of formatTable(rows)) console.log(line);
  if (engines.some(isTorch)) console.log(TORCH_OMP_NOTE);
  console.log('\nachieved arithmetic: the convolutions\' FLOPs per image (forward + both gradients when training) / ms per image');
  for (const line of formatArithmetic(rows, peak)) console.log(line);
  const memoryLines = formatMemory(rows);
  if (memoryLines.length > 0) {
    console.log('\nmemory over training epochs (RSS and live tfjs tensors after each epoch):');
    for (const line of memoryLines) console.log(line);
  }
  if (fields) {
    console.log(`\nsmear fields, bundled model on ${fields.runtime} (segment(): decoded pixels to every cell's mask and numbers; median of runs):`);
    for (const line of formatFieldTable(fields)) console.log(line);
  }
  console.log(`\nload at end: ${loadAtEnd}`);
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  const report = {
    date: new Date().toISOString(), command: `node dist-dev/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    loadAtStart, loadAtEnd, options: o, peak, skipped, failures, notes: engines.some(isTorch) ? [TORCH_OMP_NOTE] : [],
    rows: rows.map((r) => ({ ...r.result, rounds: r.rounds })),
    fields,
  };
  await mkdir(dirname(o.out), { recursive: true });
  await writeFile(o.out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`written ${o.out}`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
