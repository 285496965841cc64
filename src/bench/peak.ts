// The machine's arithmetic peak, for the bench's "fraction of the hardware": a short single-core probe of
// the widest fused multiply-add this CPU has (a few lines of C, compiled here with the system's cc), one of
// WebAssembly SIMD (128-bit mul + add, no FMA: the ceiling of anything running on wasm), and the nominal
// figure from /proc/cpuinfo. Peaks are per core times cores: the all-core clock may be a little lower.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Probe {
  /** Best of several short runs on one core, GFLOP/s. */
  gflopsPerCore: number;
  what: string;
}

export interface MachinePeak {
  cores: number;
  /** Widest FMA (AVX-512 or AVX2), measured; null with why when it could not run. */
  native: Probe | { error: string };
  /** WebAssembly SIMD f32x4 mul + add, measured in this Node. */
  wasm: Probe;
  /** cores x MHz x lanes x 2 (FMA) x 2 FMA units, as /proc/cpuinfo states the clock (base, not turbo). */
  nominalGflops: number | null;
  nominalWhat: string;
}

const CHAINS = 12;

/** C source of the FMA probe: CHAINS independent FMA chains of `vector` width. */
function fmaSource(avx512: boolean): string {
  const [type, set1, fmadd, store, lanes] = avx512
    ? ['__m512', '_mm512_set1_ps', '_mm512_fmadd_ps', '_mm512_storeu_ps', 16]
    : ['__m256', '_mm256_set1_ps', '_mm256_fmadd_ps', '_mm256_storeu_ps', 8];
  const chains = Array.from({ length: CHAINS }, (_, i) => i);
  return `#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  int runs = atoi(argv[2]);
  ${type} c = ${set1}(0.5f), d = ${set1}(0.5f);
  double best = 0;
  float check = 0;
  for (int r = 0; r < runs; r++) {
    ${type} ${chains.map((i) => `a${i} = c`).join(', ')};
    double t0 = now();
    for (long i = 0; i < n; i++) {
      ${chains.map((i) => `a${i} = ${fmadd}(a${i}, c, d);`).join(' ')}
    }
    double gflops = n * ${CHAINS}.0 * ${lanes} * 2 / (now() - t0) / 1e9;
    if (gflops > best) best = gflops;
    float out[${lanes}];
    ${store}(out, ${chains.map((i) => `a${i}`).reduce((acc, a) => `${avx512 ? '_mm512_add_ps' : '_mm256_add_ps'}(${acc}, ${a})`)});
    check += out[0];
  }
  printf("%f %f\\n", best, check);
  return 0;
}
`;
}

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

/** Compiles and runs the FMA probe: 60 runs of ~2 ms (short, so that some run is not preempted). */
export function probeNative(): Probe | { error: string } {
  const flags = cpuFlags();
  const avx512 = flags.has('avx512f');
  if (!avx512 && !(flags.has('avx2') && flags.has('fma'))) return { error: 'no AVX2/FMA or AVX-512 in /proc/cpuinfo' };
  const dir = mkdtempSync(join(tmpdir(), 'leukoseg-peak-'));
  try {
    writeFileSync(join(dir, 'fma.c'), fmaSource(avx512));
    const arch = avx512 ? ['-mavx512f', '-mfma'] : ['-mavx2', '-mfma'];
    const cc = spawnSync('cc', ['-O2', ...arch, join(dir, 'fma.c'), '-o', join(dir, 'fma')], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) return { error: `cc failed: ${cc.error?.message ?? cc.stderr.trim().split('\n')[0]}` };
    const run = spawnSync(join(dir, 'fma'), ['1000000', '60'], { encoding: 'utf8' });
    const best = Number(run.stdout.trim().split(/\s+/)[0]);
    if (run.status !== 0 || !(best > 0)) return { error: `the probe failed: ${run.stderr.trim() || run.stdout.trim()}` };
    return { gflopsPerCore: best, what: `${avx512 ? 'AVX-512' : 'AVX2'} FMA, ${CHAINS} chains, one core` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  let n = value;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * A wasm module exporting run(n): n rounds of v = v * 0.5 + 0.5 on 13 independent f32x4 locals (13 chains
 * plus the constant fit V8's 16 vector registers), returning a lane so nothing is dead code.
 */
function simdProbeModule(chains: number): Uint8Array<ArrayBuffer> {
  const simd = (op: number) => [0xfd, ...leb(op)];
  const [F32X4_SPLAT, F32X4_EXTRACT, F32X4_ADD, F32X4_MUL] = [0x13, 0x1f, 0xe4, 0xe6];
  const half = [...new Uint8Array(new Float32Array([0.5]).buffer)];
  const c = chains + 1;
  const body = [1, chains + 1, 0x7b, 0x43, ...half, ...simd(F32X4_SPLAT), 0x21, c];
  for (let i = 1; i <= chains; i++) body.push(0x20, c, 0x21, i);
  body.push(0x03, 0x40);
  for (let i = 1; i <= chains; i++) body.push(0x20, i, 0x20, c, ...simd(F32X4_MUL), 0x20, c, ...simd(F32X4_ADD), 0x21, i);
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x20, 1);
  for (let i = 2; i <= chains; i++) body.push(0x20, i, ...simd(F32X4_ADD));
  body.push(...simd(F32X4_EXTRACT), 0, 0x0b);
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, 3, 0x72, 0x75, 0x6e, 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** Runs the WebAssembly SIMD probe: 60 runs of ~2 ms. */
export function probeWasm(): Probe {
  const chains = 13;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(simdProbeModule(chains)));
  const run = instance.exports.run as (n: number) => number;
  run(100_000); // past V8's baseline tier
  const rounds = 500_000;
  let best = 0;
  for (let r = 0; r < 60; r++) {
    const t0 = performance.now();
    run(rounds);
    best = Math.max(best, (rounds * chains * 4 * 2) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return { gflopsPerCore: best, what: `WebAssembly SIMD f32x4 mul + add, ${chains} chains, one core` };
}

function nominal(cores: number): { gflops: number | null; what: string } {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(info)?.[1]);
    const flags = cpuFlags();
    const lanes = flags.has('avx512f') ? 16 : flags.has('avx') ? 8 : 4;
    const fma = flags.has('fma') ? 2 : 1;
    if (!(mhz > 0)) return { gflops: null, what: 'no cpu MHz in /proc/cpuinfo' };
    const gflops = (cores * mhz * lanes * fma * 2) / 1000;
    return { gflops, what: `${cores} cores x ${(mhz / 1000).toFixed(2)} GHz x ${lanes} lanes x ${fma} (FMA) x 2 units (assumed)` };
  } catch {
    return { gflops: null, what: 'no /proc/cpuinfo' };
  }
}

export function machinePeak(): MachinePeak {
  const cores = availableParallelism();
  const { gflops, what } = nominal(cores);
  return { cores, native: probeNative(), wasm: probeWasm(), nominalGflops: gflops, nominalWhat: what };
}
