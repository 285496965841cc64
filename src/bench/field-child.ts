// Field throughput in a process of its own: the bundled model on ONNX Runtime segmenting synthetic
// smear fields (mosaics of Dataset 1 and 2 crops, as the field tests build them) with segment(),
// timed from decoded pixels to every cell's mask and numbers (PNG encoding not included).
//   node dist-dev/bench/field-child.js --data <segmentation_WBC root> [--quick]
import { join } from 'node:path';
import { loadSegmenter } from '../infer/segmenter.js';
import { recordedSplits } from '../models/io.js';
import { buildMosaic, readCrop } from '../testing/field-mosaic.js';
import { load1, median, parseFlags, peakRssMiB, RESULT_MARKER } from './common.js';

/** One field size: how it is made, and what segmenting it took. */
export interface FieldResult {
  label: string;
  width: number;
  height: number;
  cells: number;
  runs: number;
  /** Median seconds per field and megapixels per second at that median. */
  seconds: number;
  megapixelsPerSecond: number;
  /** Of that, in the network (the rest: tiling, instances, post-processing, measuring). */
  modelShare: number;
}

export interface FieldBenchResult {
  runtime: string;
  fields: FieldResult[];
  peakRssMiB: number;
  load: { start: number; end: number };
}

const FIELDS = [
  { label: 'Dataset 1 cells, 4x3', dataset: 'Dataset 1', width: 640, height: 480, columns: 4, rows: 3, quick: true },
  { label: 'Dataset 2 cells, 5x4', dataset: 'Dataset 2', width: 2048, height: 1536, columns: 5, rows: 4, quick: true },
  { label: 'Dataset 2 cells, 4x3 (sparse)', dataset: 'Dataset 2', width: 4000, height: 3000, columns: 4, rows: 3, quick: false },
] as const;

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { values: ['data'], switches: ['quick'] });
  const root = flags.get('data');
  if (!root) throw new Error('--data DIR (the segmentation_WBC folder holding Dataset 1 and Dataset 2) is required');
  const quick = flags.has('quick');
  const loadStart = load1();
  const seg = await loadSegmenter({ runtime: 'onnx' });
  const fields: FieldResult[] = [];
  for (const f of FIELDS.filter((x) => x.quick || !quick)) {
    const ids = recordedSplits(seg.metadata).find((s) => s.dataset === f.dataset)!.testIds.filter((id) => id !== '045').slice(0, f.columns * f.rows);
    const crops = await Promise.all(ids.map((id) => readCrop(join(root, f.dataset), id)));
    const { image } = buildMosaic(crops, { width: f.width, height: f.height, columns: f.columns, rows: f.rows, seed: 5 });
    const runs = quick ? 1 : 3;
    const seconds: number[] = [];
    const modelMs: number[] = [];
    let cells = 0;
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const r = await seg.segment({ ...image, channels: 3 });
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`  ${f.label} ${f.width}x${f.height}: ${r.cells.length} cells in ${s.toFixed(2)} s${i === 0 ? ' (warm-up)' : ''}\n`);
      if (i === 0) continue;
      seconds.push(s);
      modelMs.push(r.inferenceMs);
      cells = r.cells.length;
    }
    const mid = median(seconds);
    fields.push({
      label: f.label, width: f.width, height: f.height, cells, runs, seconds: mid,
      megapixelsPerSecond: (f.width * f.height) / 1e6 / mid, modelShare: median(modelMs) / 1000 / mid,
    });
  }
  seg.dispose();
  const result: FieldBenchResult = { runtime: seg.runtime ?? 'onnx', fields, peakRssMiB: peakRssMiB(), load: { start: loadStart, end: load1() } };
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`field bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
