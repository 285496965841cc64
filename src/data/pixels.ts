// Bytes to the network's input values: the one place pixel values become floats (training batches,
// per-epoch scoring, evaluation, the Node segmenter and the page all call pixelsToInput), so every path
// feeds the network the same bits. Pure (no Node imports).

export type PixelNormalization = 'scale' | 'percentile';
export const PIXEL_NORMALIZATIONS: readonly PixelNormalization[] = ['scale', 'percentile'];

/** Lower and upper percentiles of the 'percentile' normalisation (Cellpose's defaults). */
export const NORMALIZE_PERCENTILES = [1, 99] as const;

const SCALE_TABLES = new Map<number, Float32Array>();

/** value -> value * scale for the 256 byte values, in float64 then stored as float32 (= v / 255 exactly). */
function scaleTable(scale: number): Float32Array {
  let table = SCALE_TABLES.get(scale);
  if (!table) {
    table = Float32Array.from({ length: 256 }, (_, v) => v * scale);
    SCALE_TABLES.set(scale, table);
  }
  return table;
}

/** The byte value at `percent` of the `count` values a 256-bin histogram holds (255 when it holds none). */
export function histogramPercentile(histogram: Uint32Array, percent: number, count: number): number {
  const rank = (percent / 100) * (count - 1);
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v];
    if (seen > rank) return v;
  }
  return 255;
}

/** Per-channel tables mapping each channel's [p1, p99] to [0, 1] (not clipped, as Cellpose does). */
function percentileTables(rgb: Uint8Array): Float32Array[] {
  const pixels = rgb.length / 3;
  return [0, 1, 2].map((c) => {
    const histogram = new Uint32Array(256);
    for (let i = c; i < rgb.length; i += 3) histogram[rgb[i]]++;
    const low = histogramPercentile(histogram, NORMALIZE_PERCENTILES[0], pixels);
    const high = histogramPercentile(histogram, NORMALIZE_PERCENTILES[1], pixels);
    const span = Math.max(1, high - low);
    return Float32Array.from({ length: 256 }, (_, v) => (v - low) / span);
  });
}

/**
 * The network's input values for one image already fitted into the model's square (HWC bytes), as the
 * model's preprocessing says: the one place pixel values become floats, used by training batches,
 * per-epoch scoring, evaluation, the Node segmenter and the page, so all feed the network the same
 * bits. Writes into `out` at `offset` when given (batches), else returns a new array.
 */
export function pixelsToInput(
  rgb: Uint8Array,
  pre: { scale: number; normalize?: PixelNormalization },
  out: Float32Array = new Float32Array(rgb.length),
  offset = 0,
): Float32Array {
  if (out.length < offset + rgb.length) throw new Error(`pixelsToInput: output of ${out.length} values cannot hold ${rgb.length} at ${offset}`);
  if ((pre.normalize ?? 'scale') === 'percentile') {
    if (rgb.length % 3 !== 0) throw new Error(`pixelsToInput: RGB data needs a multiple of 3 bytes, got ${rgb.length}`);
    const tables = percentileTables(rgb);
    for (let i = 0; i < rgb.length; i++) out[offset + i] = tables[i % 3][rgb[i]];
    return out;
  }
  if (pre.normalize !== undefined && pre.normalize !== 'scale') throw new Error(`model preprocessing: unknown normalize '${String(pre.normalize)}'`);
  const table = scaleTable(pre.scale);
  for (let i = 0; i < rgb.length; i++) out[offset + i] = table[rgb[i]];
  return out;
}
