// The `leukoseg` command: download, train, evaluate, segment, serve, export. Each subcommand validates
// its flags at the edge, turns them into the typed config, and hands over to the library.
import { Command, InvalidArgumentError } from 'commander';
import { initEngine } from '../engine/index.js';
import { mergeOverrides, readConfigOverrides, resolvePreset, PRESET_NAMES } from '../config/presets.js';
import { resolveDataDir } from '../data/dataset.js';
import { downloadDataset } from '../data/download.js';
import { trainRun } from '../train/run.js';
import { crossValidate } from '../train/cv.js';
import { formatCvTable } from '../report/cv.js';
import { calibrateModel, evaluateModel, loadModelForEvaluation } from '../infer/evaluate.js';
import { saveModel } from '../models/io.js';
import { formatMetricsTable } from '../metrics/format.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { batchProgressBar, countProgressBar } from './progress.js';
import { expandInputs, segmentFiles, SEGMENT_EXTENSIONS } from './segment.js';
import { DEFAULT_MODEL_DIR, loadSegmenter } from '../infer/segmenter.js';
import { serveCommand } from './serve.js';
import { exportCommand } from '../export/command.js';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return n;
}

/** The version in the package.json of this installation (two folders above dist/cli/). */
export function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${file}: no "version" string`);
  return version;
}

export function buildProgram(): Command {
  const program = new Command('leukoseg')
    .description('Segment white blood cell images into nucleus, cytoplasm and background')
    .version(packageVersion(), '-V, --version', 'print the version of leukoseg and exit')
    .showHelpAfterError();

  program
    .command('download')
    .description('fetch the public segmentation_WBC archive into the cache (needs network)')
    .option('--cache <dir>', 'cache folder (default: $LEUKOSEG_CACHE or ~/.cache/leukoseg)')
    .option('--force', 'download again even when the data is already there')
    .action(async (opts: { cache?: string; force?: boolean }) => {
      const dir = await downloadDataset({ cacheDir: opts.cache, force: opts.force });
      console.log(`data ready in ${dir}`);
    });

  program
    .command('train')
    .description('train a model from a preset; writes a run folder with metrics, checkpoints, pictures and report.html')
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'study-model-3')
    .option('--data <dir>', 'data-set root or folder of image/mask pairs (default: $LEUKOSEG_DATA, then the download cache)')
    .option('--dataset <n>', 'which "Dataset N" of the collection root', positiveInt)
    .option('--epochs <n>', 'number of epochs (default: the preset\'s)', positiveInt)
    .option('--batch-size <n>', 'images per batch (default: the preset\'s)', positiveInt)
    .option('--seed <n>', 'seed of initialisation and shuffling', nonNegativeInt)
    .option('--split-seed <n>', 'seed of the train/test split', nonNegativeInt)
    .option('--size <n>', 'model input side in pixels', positiveInt)
    .option('--out <dir>', 'parent folder of run folders', 'runs')
    .option('--resume <runDir>', 'continue a stopped run from its last checkpoint')
    .option('--config <file.json>', 'JSON overrides of the preset, by section (e.g. {"train": {"loss": "crossEntropy"}}); flags win over it')
    .option('--backend <name>', 'wasm (fast) or cpu (reference)', 'wasm')
    .action(async (opts: {
      preset: string; data?: string; dataset?: number; epochs?: number; batchSize?: number; seed?: number;
      splitSeed?: number; size?: number; out: string; resume?: string; config?: string; backend: string;
    }) => {
      const config = resolvePreset(opts.preset, mergeOverrides(opts.config ? await readConfigOverrides(opts.config) : {}, {
        data: { dataset: opts.dataset, size: opts.size, splitSeed: opts.splitSeed },
        train: { epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed },
      }));
      const backend = await initEngine({ backend: opts.backend === 'cpu' ? 'cpu' : 'wasm' });
      const dataDir = resolveDataDir({ data: opts.data, dataset: config.data.dataset });
      const bar = batchProgressBar();
      const started = performance.now();
      console.log(`leukoseg train: preset ${config.preset} on ${backend}`);
      const result = await trainRun(config, {
        dataDir,
        outDir: opts.out,
        resumeDir: opts.resume,
        resumeEpochs: opts.resume ? opts.epochs : undefined,
        onBatch: bar.update,
        log: (line) => {
          bar.stop();
          console.log(line);
        },
      });
      bar.stop();
      const seconds = (performance.now() - started) / 1000;
      console.log(`\nbest epoch ${result.best.epoch} (test split):`);
      console.log(formatMetricsTable(result.best.test));
      console.log(`\nwall time ${seconds.toFixed(0)} s; run folder ${result.runDir} (open report.html)`);
    });

  program
    .command('cv')
    .description('k-fold cross-validation of a preset over every image; writes cv.json and cv.html')
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'study-model-3')
    .option('--folds <k>', 'number of folds', positiveInt, 5)
    .option('--data <dir>', 'data-set root or folder of pairs (default: $LEUKOSEG_DATA, then the download cache)')
    .option('--dataset <n>', 'which "Dataset N" of the collection root', positiveInt)
    .option('--epochs <n>', "number of epochs per fold (default: the preset's)", positiveInt)
    .option('--out <dir>', 'parent folder of the cross-validation folder', 'runs')
    .option('--config <file.json>', 'JSON overrides of the preset, by section; flags win over it')
    .action(async (opts: { preset: string; folds: number; data?: string; dataset?: number; epochs?: number; out: string; config?: string }) => {
      if (opts.folds < 2) throw new Error(`--folds must be at least 2, got ${opts.folds}`);
      const config = resolvePreset(
        opts.preset,
        mergeOverrides(opts.config ? await readConfigOverrides(opts.config) : {}, { data: { dataset: opts.dataset }, train: { epochs: opts.epochs } }),
      );
      await initEngine();
      const dataDir = resolveDataDir({ data: opts.data, dataset: config.data.dataset });
      const bar = batchProgressBar();
      const summary = await crossValidate(config, {
        dataDir,
        outDir: opts.out,
        folds: opts.folds,
        onBatch: bar.update,
        log: (line) => {
          bar.stop();
          console.log(line);
        },
      });
      bar.stop();
      console.log(`\n${opts.folds}-fold cross-validation of ${config.preset}, Dice mean ± sd:`);
      console.log(formatCvTable(summary));
    });

  program
    .command('evaluate')
    .description("score a model on the test split recorded with it; per-class Dice and IoU")
    .option('--model <dir>', 'a run folder (runs/<id>) or a model folder (default: the bundled model)')
    .option('--data <dir>', 'data-set root or folder of pairs (default: $LEUKOSEG_DATA, then the download cache)')
    .option('--dataset <n>', 'which "Dataset N" of the collection root', positiveInt)
    .option('--json', 'print one JSON object instead of the table')
    .option('--tta', "average the predictions of each image and its flips (default: as the model's metadata says)")
    .option('--no-tta', 'no test-time augmentation')
    .option('--no-calibration', "plain argmax, ignoring the class weights fitted by 'leukoseg calibrate'")
    .option('--backend <name>', 'wasm (fast) or cpu (reference)', 'wasm')
    .action(async (opts: { model?: string; data?: string; dataset?: number; json?: boolean; tta?: boolean; calibration: boolean; backend: string }) => {
      await initEngine({ backend: opts.backend === 'cpu' ? 'cpu' : 'wasm' });
      const loaded = await loadModelForEvaluation(opts.model ?? DEFAULT_MODEL_DIR);
      const dataDir = resolveDataDir({ data: opts.data, dataset: opts.dataset ?? loaded.metadata.split?.dataset ?? 1 });
      const tta = opts.tta ?? loaded.metadata.inference?.tta ?? false;
      const result = await evaluateModel(loaded, dataDir, { tta, calibrated: opts.calibration });
      loaded.model.dispose();
      for (const issue of result.issues) console.error(`skipped ${issue.file}: ${issue.problem}`);
      const m = result.metrics;
      if (opts.json) {
        const summary = (x: SegmentationMetrics) => {
          const { confusion: _confusion, pixels: _pixels, ...rest } = x;
          return rest;
        };
        console.log(JSON.stringify({ ...summary(m), native: summary(result.native), tta, classWeights: result.classWeights }));
      } else {
        const size = loaded.metadata.preprocessing.inputSize;
        const weights = result.classWeights ? `, calibrated class weights ${result.classWeights.map((w) => w.toFixed(3)).join('/')}` : '';
        console.log(`${loaded.dir}: ${m.images} images (${result.scope === 'test-split' ? 'the test split recorded with the model' : 'all images: the model records no split'})${tta ? ', flip TTA' : ''}${weights}`);
        console.log(`\nat the model's input size, ${size}x${size}:`);
        console.log(formatMetricsTable(m));
        console.log(`\nat each image's own size (probabilities brought back to it, original masks):`);
        console.log(formatMetricsTable(result.native));
      }
    });

  program
    .command('calibrate')
    .description("fit per-class decision weights on the model's validation images and store them in its model.json")
    .option('--model <dir>', 'a run folder (runs/<id>) or a model folder (default: the bundled model)')
    .option('--data <dir>', 'data-set root or folder of pairs (default: $LEUKOSEG_DATA, then the download cache)')
    .option('--dataset <n>', 'which "Dataset N" of the collection root', positiveInt)
    .option('--dry-run', 'print the fit without writing it')
    .option('--backend <name>', 'wasm (fast) or cpu (reference)', 'wasm')
    .action(async (opts: { model?: string; data?: string; dataset?: number; dryRun?: boolean; backend: string }) => {
      await initEngine({ backend: opts.backend === 'cpu' ? 'cpu' : 'wasm' });
      const loaded = await loadModelForEvaluation(opts.model ?? DEFAULT_MODEL_DIR);
      try {
        const dataDir = resolveDataDir({ data: opts.data, dataset: opts.dataset ?? loaded.metadata.split?.dataset ?? 1 });
        const fit = await calibrateModel(loaded, dataDir);
        for (const issue of fit.issues) console.error(`skipped ${issue.file}: ${issue.problem}`);
        const row = (d: number[]) => d.map((x) => x.toFixed(4)).join(' / ');
        console.log(`${loaded.dir}: fitted on ${fit.images} validation images at their own size (${fit.pixels} pixels)`);
        console.log(`class weights (background / cytoplasm / nucleus): ${row(fit.classWeights)}`);
        console.log(`validation Dice bg / cyto / nuc, plain argmax: ${row(fit.before)}  (mean ${fit.meanBefore.toFixed(4)})`);
        console.log(`validation Dice bg / cyto / nuc, calibrated:   ${row(fit.after)}  (mean ${fit.meanAfter.toFixed(4)})`);
        if (opts.dryRun) return;
        const metadata = { ...loaded.metadata, inference: { tta: loaded.metadata.inference?.tta ?? false, classWeights: fit.classWeights } };
        await saveModel(loaded.model, loaded.dir, metadata);
        console.log(`written to ${join(loaded.dir, 'model.json')}`);
      } finally {
        loaded.model.dispose();
      }
    });

  program
    .command('segment')
    .description('segment images (files, folders, globs) with the bundled model or --model; writes masks, overlays and results.csv/json')
    .argument('<inputs...>', 'image files, folders (searched recursively) or glob patterns')
    .option('--out <dir>', 'output folder', 'results')
    .option('--model <dir>', 'a model folder or run folder (default: the bundled model)')
    .option('--um-per-px <x>', 'pixel size in micrometres, for areas in µm²', positiveNumber)
    .option('--no-postprocess', 'keep the raw model output (no cell selection or hole filling)')
    .option('--max-pixels <n>', 'refuse larger images', positiveInt)
    .option('--runtime <name>', 'onnx (ONNX Runtime, the default when it loads) or tfjs')
    .option('--backend <name>', 'wasm (fast) or cpu (reference) for tfjs', 'wasm')
    .action(async (inputs: string[], opts: { out: string; model?: string; umPerPx?: number; postprocess: boolean; maxPixels?: number; runtime?: string; backend: string }) => {
      if (opts.runtime !== undefined && opts.runtime !== 'onnx' && opts.runtime !== 'tfjs') {
        throw new Error(`--runtime must be onnx or tfjs, got "${opts.runtime}"`);
      }
      const { files, missing, skippedMasks } = await expandInputs(inputs);
      for (const m of missing) console.error(`${m}: no such file, folder or matching pattern`);
      if (skippedMasks > 0) console.error(`skipped ${skippedMasks} mask file(s) (NNN.png beside an image NNN.bmp/.jpg/.tif)`);
      if (files.length === 0) throw new Error(`no images to segment in ${inputs.join(' ')} (looked for ${SEGMENT_EXTENSIONS.join(' ')})`);
      const segmenter = await loadSegmenter({
        model: opts.model,
        postprocess: opts.postprocess,
        backend: opts.backend === 'cpu' ? 'cpu' : 'wasm',
        maxPixels: opts.maxPixels,
        runtime: opts.runtime as 'onnx' | 'tfjs' | undefined,
      });
      const bar = countProgressBar(files.length, 'images');
      const result = await segmentFiles(segmenter, files, opts.out, {
        umPerPx: opts.umPerPx,
        maxPixels: opts.maxPixels,
        onImage: (done, file, error) => {
          if (error) {
            bar.interrupt(() => console.error(error.startsWith(file) ? error : `${file}: ${error}`));
          }
          bar.update(done);
        },
      });
      bar.stop();
      segmenter.dispose();
      const ok = result.rows.length;
      console.log(`${ok} of ${files.length} image(s) segmented in ${result.seconds.toFixed(1)} s (${(ok / result.seconds).toFixed(1)} images/s) with ${segmenter.modelDir} on ${segmenter.runtime ?? 'tfjs'}; results in ${resolve(opts.out)}`);
      if (ok === 1 && files.length === 1) {
        const r = result.rows[0];
        console.log(`cell ${r.cellAreaPx} px, nucleus ${r.nucleusAreaPx} px, cytoplasm ${r.cytoplasmAreaPx} px, N:C ${r.ncRatio === null ? '-' : Number(r.ncRatio).toFixed(2)}, lobes ${r.nucleusLobes}${r.warnings ? `, warnings: ${r.warnings}` : ''}`);
      }
      if (result.failed.length > 0 || missing.length > 0) {
        console.error(`${result.failed.length + missing.length} input(s) failed`);
        process.exitCode = 1;
      }
    });

  program.addCommand(serveCommand());
  program.addCommand(exportCommand());

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
