// `leukoseg segment`: its flags, checked at the edge (commander), and what it prints: the run's
// totals, and for one image each cell it found. The work itself is segmentFiles (segment.ts).
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import type { EngineBackend } from '../engine/index.js';
import { loadSegmenter, type SegmenterRuntime } from '../infer/segmenter.js';
import type { ModeChoice } from '../field/mode.js';
import type { SegmentRow } from '../output/results.js';
import { backendOption, positiveInt, positiveNumber, runtimeOption } from './options.js';
import { segmentProgress } from './progress.js';
import { differentialSummary, expandInputs, segmentFiles, SEGMENT_EXTENSIONS } from './segment.js';
import { catchStopSignals } from './signals.js';

interface SegmentCommandOptions {
  out: string;
  model?: string;
  umPerPx?: number;
  postprocess: boolean;
  maxPixels?: number;
  runtime?: SegmenterRuntime;
  backend: EngineBackend;
  field?: boolean;
  crop?: boolean;
  cellDiameter?: number | 'native';
  crops?: string;
  classifier?: string;
  classify: boolean;
}

/** One cell (or an image's no-cell row) in a sentence. */
export function describeRow(r: SegmentRow): string {
  const where = r.cellIndex === null ? '' : `cell ${r.cellIndex} at ${Math.round(Number(r.centroidX))},${Math.round(Number(r.centroidY))}: `;
  const nc = r.ncRatio === null ? '-' : Number(r.ncRatio).toFixed(2);
  const warnings = r.warnings ? `, warnings: ${r.warnings}` : '';
  const type = r.cellType ? `, ${r.cellType} (${Number(r.cellTypeConfidence).toFixed(2)})` : '';
  const ood = r.outOfDistribution ? ` (${r.outOfDistribution}, score ${Number(r.outOfDistributionScore).toPrecision(3)})` : '';
  return `${where}cell ${r.cellAreaPx} px, nucleus ${r.nucleusAreaPx} px, cytoplasm ${r.cytoplasmAreaPx} px, N:C ${nc}, lobes ${r.nucleusLobes}${type}${warnings}${ood}`;
}

/** --cell-diameter: a number of pixels above 0, or 'native'. */
function cellDiameterArgument(value: string): number | 'native' {
  if (value === 'native') return 'native';
  try {
    return positiveNumber(value);
  } catch {
    throw new InvalidArgumentError(`expected a number of pixels above 0 or 'native', got "${value}"`);
  }
}

export function segmentCommand(): Command {
  return new Command('segment')
    .description('segment images (files, folders, globs) with the bundled model or --model; writes masks, cell labels, overlays and results.csv/json (one row per white cell)')
    .argument('<inputs...>', 'image files, folders (searched recursively) or glob patterns')
    .option('--out <dir>', 'output folder', 'results')
    .option('--model <dir>', 'a model folder or run folder (default: the bundled model)')
    .option('--um-per-px <x>', 'pixel size in micrometres, for areas in µm²', positiveNumber)
    .addOption(new Option('--field', 'treat every image as a field of many cells (default: images 400 px or more a side)').conflicts('crop'))
    .addOption(new Option('--crop', "treat every image as one cell's crop, as the model was trained (default: smaller images)").conflicts('field'))
    .option('--cell-diameter <px|native>', "the white cells' typical diameter in pixels (default: measured on each field, and on a first pass of each crop, whose cell is brought to the model's working size when far off it); 'native': every image at the model's own fit (crops) or resolution (fields)", cellDiameterArgument)
    .option('--crops <dir>', "also write each cell's crop and mask there (NAME.cellK.png, NAME.cellK.mask.png)")
    .option('--no-postprocess', 'keep the raw model output (no cell selection or hole filling)')
    .option('--max-pixels <n>', 'refuse larger images', positiveInt)
    .option('--classifier <dir>', 'the cell-type classifier (default: the bundled one)')
    .option('--no-classify', 'do not type the cells (cellType columns left empty)')
    .addOption(runtimeOption())
    .addOption(backendOption('for --runtime tfjs'))
    .action(async (inputs: string[], opts: SegmentCommandOptions) => {
      const { files, missing, skippedMasks } = await expandInputs(inputs);
      for (const m of missing) console.error(`${m}: no such file, folder or matching pattern`);
      if (skippedMasks > 0) console.error(`skipped ${skippedMasks} mask file(s) (NNN.png beside an image NNN.bmp/.jpg/.tif)`);
      if (!opts.classify && opts.classifier !== undefined) throw new Error('--classifier and --no-classify contradict each other; give one');
      if (files.length === 0) throw new Error(`no images to segment in ${inputs.join(' ')} (looked for ${SEGMENT_EXTENSIONS.join(' ')})`);
      const mode: ModeChoice = opts.field ? 'field' : opts.crop ? 'crop' : 'auto';
      const segmenter = await loadSegmenter({
        model: opts.model,
        postprocess: opts.postprocess,
        backend: opts.backend,
        maxPixels: opts.maxPixels,
        runtime: opts.runtime,
        classify: opts.classify ? (opts.classifier ?? true) : false,
      });
      const bars = segmentProgress(files.length);
      const stop = catchStopSignals((name) => bars.log(`${name}: stopping after the current image (again to quit at once)`));
      const result = await segmentFiles(segmenter, files, opts.out, {
        umPerPx: opts.umPerPx,
        maxPixels: opts.maxPixels,
        mode,
        cellDiameter: opts.cellDiameter,
        cropsDir: opts.crops,
        signal: stop.signal,
        onField: (file, p) => bars.field(file, p.stage, p.done, p.total),
        onImage: (done, file, error) => {
          bars.endImage();
          if (error) bars.log(error.startsWith(file) ? error : `${file}: ${error}`);
          bars.image(done);
        },
      }).finally(() => stop.dispose());
      bars.stop();
      segmenter.dispose();
      const ok = new Set(result.rows.map((r) => r.file)).size;
      const cells = result.rows.filter((r) => r.cellIndex !== null).length;
      console.log(`${ok} of ${files.length} image(s) segmented in ${result.seconds.toFixed(1)} s (${(ok / result.seconds).toFixed(1)} images/s), ${cells} white cell(s), with ${segmenter.modelDir} on ${segmenter.runtime ?? 'tfjs'}; results in ${resolve(opts.out)}`);
      if (ok === 1 && files.length === 1) {
        const first = result.rows[0];
        if (first.mode === 'field') {
          console.log(`field of ${first.width}x${first.height}: ${cells} white cell(s)${first.fieldCellDiameterPx === null ? '' : `, cell diameter ${Number(first.fieldCellDiameterPx).toFixed(0)} px${opts.cellDiameter === undefined ? ' (measured)' : ''}`}`);
        } else if (first.cellDiameterPx !== null && first.modelScale !== null) {
          console.log(`crop of ${first.width}x${first.height}: cell diameter ${Number(first.cellDiameterPx).toFixed(0)} px${opts.cellDiameter === undefined ? ' (measured)' : ''}, segmented at ${Number(first.modelScale).toFixed(2)} model px per image px`);
        }
        for (const r of result.rows) console.log(describeRow(r));
      }
      if (segmenter.classifierDir) console.log(differentialSummary(result.rows));
      if (result.failed.length > 0 || missing.length > 0) {
        console.error(`${result.failed.length + missing.length} input(s) failed`);
        process.exitCode = 1;
      }
      if (result.interruptedBy !== null) {
        console.error(`interrupted by ${result.interruptedBy}: ${files.length - ok - result.failed.length} image(s) not processed; results.csv/json hold the ${ok} finished`);
        process.exitCode = stop.exitCode() ?? 1;
      }
    });
}
