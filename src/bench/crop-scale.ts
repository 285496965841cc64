// Crops at another magnification: the bundled model on each data set's recorded crops rescaled by
// 0.5-2x (image smoothly, mask nearest) and cut tight (the centre 60 % of each side), scored at the
// rescaled image's own size, crop mode at the model's fit ('native') against the first-pass cell
// diameter estimate (src/infer/crop-scale.ts). Not run in CI.
//
//   npm run build && npm run build:dev && node dist-dev/bench/crop-scale.js                    # the README table (test ids)
//   node dist-dev/bench/crop-scale.js --part validation --tolerances 1.2,1.3,1.4,1.5,1.6,1.8,2   # choosing the tolerance
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { decodeImage, decodeMaskLevels } from '../data/decode.js';
import { labelsFromGray } from '../data/masks.js';
import { loadModel, recordedSplits } from '../models/io.js';
import { DEFAULT_MODEL_DIR, loadSegmenter, type SegmentResult } from '../infer/segmenter.js';
import { rescaleCrop, CROP_SCALE_TOLERANCE } from '../infer/crop-scale.js';
import { windowPredictorOf } from '../infer/window-predictor.js';
import { OnnxPredictor } from '../onnx/runtime.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import { sharedDataRoot } from '../testing/paths.js';
import { CONDITIONS, transformPair } from '../testing/rescaled-crops.js';

interface Scored {
  meter: SegmentationMeter;
}

function dice(meter: SegmentationMeter): string {
  const m = meter.aggregate().dice;
  return `${m.nucleus.toFixed(3)} / ${m.cytoplasm.toFixed(3)} / ${m.wholeCell.toFixed(3)}`;
}

async function main(): Promise<void> {
  const opts = new Command()
    .addOption(new Option('--part <part>', 'which recorded ids').choices(['test', 'validation']).default('test'))
    .option('--tolerances <list>', 'validation: the tolerances to compare (comma-separated factors)', '1.2,1.3,1.4,1.5,1.6,1.8,2')
    .option('--json <file>', 'also write the figures there')
    .parse()
    .opts<{ part: 'test' | 'validation'; tolerances: string; json?: string }>();
  const seg = await loadSegmenter({ classify: false });
  const splits = recordedSplits(seg.metadata);
  const out: Record<string, unknown> = { part: opts.part, tolerance: CROP_SCALE_TOLERANCE, rows: [] };
  const rows = out.rows as unknown[];
  // Validation: the first pass of each crop taken on by the very function the segmenter calls, once per tolerance.
  const tolerances = opts.tolerances.split(',').map(Number);
  const loaded = opts.part === 'validation' ? await loadModel(DEFAULT_MODEL_DIR) : null;
  const predictor = loaded === null ? null : windowPredictorOf(await OnnxPredictor.fromLayersModel(loaded.model), seg.metadata.preprocessing.inputSize);
  const started = performance.now();
  for (const split of splits) {
    const ids = opts.part === 'test' ? split.testIds : split.validationIds ?? [];
    const folder = join(sharedDataRoot(), split.dataset);
    const pairs = await Promise.all(ids.map(async (id) => ({
      id,
      image: await decodeImage(join(folder, `${id}.bmp`)),
      truth: labelsFromGray(await decodeMaskLevels(join(folder, `${id}.png`)), { maxDistance: 127 }).mask,
    })));
    for (const condition of CONDITIONS) {
      const native: Scored = { meter: new SegmentationMeter() };
      const estimate: Scored = { meter: new SegmentationMeter() };
      const byTolerance = tolerances.map(() => new SegmentationMeter());
      let rescaled = 0;
      const modelDiameters: number[] = [];
      for (const pair of pairs) {
        const { image, truth } = transformPair(pair.image, pair.truth, condition);
        const pixels = { ...image, channels: 3 as const };
        const first: SegmentResult = await seg.segment(pixels, { mode: 'crop', cellDiameter: 'native' });
        native.meter.add(first.mask.data, truth.data);
        if (predictor === null) {
          const r = await seg.segment(pixels, { mode: 'crop' });
          estimate.meter.add(r.mask.data, truth.data);
          if (r.modelScale !== first.modelScale) rescaled++;
          if (r.cellDiameter !== null) modelDiameters.push(r.cellDiameter * first.modelScale!);
          continue;
        }
        for (const [k, tolerance] of tolerances.entries()) {
          const r = await rescaleCrop(image, first, predictor, {
            preprocessing: seg.metadata.preprocessing,
            tta: seg.metadata.inference?.tta ?? false,
            classWeights: seg.metadata.inference?.classWeights,
            tolerance,
          });
          byTolerance[k].add(r.finished.mask.data, truth.data);
          if (k === 0 && r.cellDiameter !== null) modelDiameters.push(r.cellDiameter * first.modelScale!);
        }
      }
      const sorted = [...modelDiameters].sort((a, b) => a - b);
      const median = sorted.length === 0 ? null : sorted[sorted.length >> 1];
      const row: Record<string, unknown> = { dataset: split.dataset, condition, images: pairs.length, medianModelDiameter: median, native: native.meter.aggregate().dice };
      let line = `${split.dataset} ${condition.padEnd(5)} (${pairs.length}, cell median ${median?.toFixed(0)} model px): native ${dice(native.meter)}`;
      if (predictor === null) {
        row.estimate = estimate.meter.aggregate().dice;
        row.rescaled = rescaled;
        line += `; estimate ${dice(estimate.meter)} (${rescaled} rescaled)`;
      } else {
        row.byTolerance = Object.fromEntries(tolerances.map((t, k) => [t, byTolerance[k].aggregate().dice]));
        line += tolerances.map((t, k) => `; tol ${t} ${dice(byTolerance[k])}`).join('');
      }
      rows.push(row);
      console.log(line);
    }
  }
  console.log(`${((performance.now() - started) / 1000).toFixed(0)} s`);
  seg.dispose();
  if (opts.json) await writeFile(opts.json, JSON.stringify(out, null, 1));
}

await main();
