// A small seeded PRNG (mulberry32) and the draws augmentation needs, so a run with a seed is reproducible
// on every platform (Math.random cannot be seeded).

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger): 32-bit state, period 2^32, passes gjrand/PractRand up to the sizes augmentation
 * draws; plenty for sampling a few dozen parameters per image. `seed` is reduced to 32 bits.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [low, high). */
export function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng();
}

/** Uniform whole number in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

/** A new generator seeded from `rng`: one draw, so the parent's stream advances the same however much the child is used. */
export function forkRng(rng: Rng): Rng {
  return createRng(Math.floor(rng() * 4294967296));
}

const GAUSSIAN_LEVELS = 4096;
let gaussianTable: Float32Array | null = null;

/**
 * Standard normal quantiles at (i + 0.5) / 4096, i.e. 4096 equally likely values, from a trapezoid CDF of
 * the density on a 0.001 grid (built once, ~16k steps).
 */
function normalQuantiles(): Float32Array {
  if (gaussianTable) return gaussianTable;
  const table = new Float32Array(GAUSSIAN_LEVELS);
  const dz = 1e-3;
  const density = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  let z = -8;
  let cdf = 0;
  let level = 0;
  while (level < GAUSSIAN_LEVELS && z < 8) {
    const next = cdf + 0.5 * dz * (density(z) + density(z + dz));
    // Targets crossed in [z, z + dz] are placed by linear interpolation of the CDF.
    while (level < GAUSSIAN_LEVELS && (level + 0.5) / GAUSSIAN_LEVELS <= next) {
      table[level] = z + (dz * ((level + 0.5) / GAUSSIAN_LEVELS - cdf)) / (next - cdf);
      level++;
    }
    cdf = next;
    z += dz;
  }
  gaussianTable = table;
  return table;
}

/**
 * Fills `out` with approximately standard normal numbers: each is one of 4096 equally likely normal
 * quantiles (tails cut at +-3.7 sigma), two per draw of `rng` (12 bits each). That is exact enough for noise
 * added to 8-bit pixels and ~5x faster than Box-Muller's log, sqrt and sin/cos per pair.
 */
export function fillGaussian(rng: Rng, out: Float32Array): Float32Array {
  const table = normalQuantiles();
  for (let i = 0; i < out.length; i += 2) {
    const bits = (rng() * 4294967296) >>> 0;
    out[i] = table[bits >>> 20];
    if (i + 1 < out.length) out[i + 1] = table[(bits >>> 8) & 0xfff];
  }
  return out;
}
