// The `leukoseg` command: download, train, evaluate, segment, serve, export. Each subcommand validates
// its flags at the edge, turns them into the typed config, and hands over to the library.
import { Command, InvalidArgumentError, Option } from 'commander';
import { engineInfo, initEngine, type EngineBackend } from '../engine/index.js';
import { mergeOverrides, readConfigOverrides, resolvePreset, PRESET_NAMES } from '../config/presets.js';
import { resolveSources } from '../data/dataset.js';
import { downloadDataset } from '../data/download.js';
import { trainRun } from '../train/run.js';
import { collectCv, crossValidate } from '../train/cv.js';
import { formatCvTable } from '../report/cv.js';
import { evaluateModel, loadModelForEvaluation } from '../infer/evaluate.js';
import { recordedSplits } from '../models/io.js';
import { collect, DATA_HELP, DATASET_HELP, datasetSelection, sourcesForModel } from './data-options.js';
import { formatMetricsTable } from '../metrics/format.js';
import type { SegmentationMetrics } from '../metrics/scores.js';
import { batchProgressBar } from './progress.js';
import { segmentCommand } from './segment-command.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { backendOption, positiveInt } from './options.js';
import { serveCommand } from './serve.js';
import { calibrateCommand } from './calibrate.js';
import { exportCommand } from '../export/command.js';
import { collectClassifierCvCommand, cvClassifierCommand, evaluateClassifierCommand, isClassifierCvDir, MASK_CHOICES, trainClassifierCommand } from './classify.js';
import { isCellTypeModel } from '../classify/model-info.js';
import type { MaskChoice } from '../classify/evaluate.js';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The overrides of a --config file, checked on their own first so that an error names the file, not the preset. */
async function configFileOverrides(preset: string, file: string | undefined) {
  if (!file) return {};
  const overrides = await readConfigOverrides(file);
  resolvePreset(preset, overrides, `config file ${file}`);
  return overrides;
}

/** What the training runs on, e.g. " (convolutions on oneDNN 3.6.2)" or " (WebAssembly only, 2 threads)". */
function engineSummary(): string {
  const info = engineInfo();
  if (info.backend !== 'wasm') return '';
  if (info.native !== null) return ` (convolutions on ${info.native})`;
  return ` (WebAssembly only, ${info.threads} thread${info.threads === 1 ? '' : 's'}; LEUKOSEG_WASM_THREADS sets them)`;
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
    .option('--data <dir>', DATA_HELP, collect)
    .option('--dataset <n>', DATASET_HELP, datasetSelection)
    .option('--init [modelDir]', 'start from the weights of a trained model (fine-tuning; default: the bundled model)')
    .option('--epochs <n>', 'number of epochs (default: the preset\'s)', positiveInt)
    .option('--batch-size <n>', 'images per batch (default: the preset\'s)', positiveInt)
    .option('--seed <n>', 'seed of initialisation and shuffling', nonNegativeInt)
    .option('--split-seed <n>', 'seed of the train/test split', nonNegativeInt)
    .option('--size <n>', 'model input side in pixels', positiveInt)
    .option('--out <dir>', 'parent folder of run folders', 'runs')
    .option('--resume <runDir>', 'continue a stopped run from its last checkpoint')
    .option('--config <file.json>', 'JSON overrides of the preset, by section (e.g. {"train": {"loss": "crossEntropy"}}); flags win over it')
    .addOption(backendOption())
    .action(async (opts: {
      preset: string; data?: string[]; dataset?: number | number[] | 'all'; init?: string | true; epochs?: number; batchSize?: number; seed?: number;
      splitSeed?: number; size?: number; out: string; resume?: string; config?: string; backend: EngineBackend;
    }) => {
      const config = resolvePreset(opts.preset, mergeOverrides(await configFileOverrides(opts.preset, opts.config), {
        data: { dataset: opts.dataset, size: opts.size, splitSeed: opts.splitSeed },
        train: { epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed },
      }));
      const backend = await initEngine({ backend: opts.backend, training: true });
      // A resumed run reads the folders its split.json records unless --data says otherwise.
      const sources = opts.resume && opts.data === undefined ? undefined : resolveSources({ data: opts.data, dataset: config.data.dataset });
      const bar = batchProgressBar();
      const started = performance.now();
      console.log(`leukoseg train: preset ${config.preset} on ${backend}${engineSummary()}`);
      if (config.classifier) {
        const log = (line: string) => (bar.stop(), console.log(line));
        await trainClassifierCommand(config, { sources: sources!, out: opts.out, resume: opts.resume, init: opts.init }, { onBatch: bar.update, log });
        bar.stop();
        return;
      }
      const result = await trainRun(config, {
        sources,
        initModelDir: opts.init === true ? DEFAULT_MODEL_DIR : opts.init,
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
    .option('--fold <k>', 'run only fold K (1..folds) into the CV folder, e.g. as one job of a batch array; then cv --collect', positiveInt)
    .option('--collect <cvDir>', 'merge the finished folds of a CV folder into cv.json and cv.html (trains nothing)')
    .option('--allow-missing', 'with --collect: report the folds that finished even if some have not')
    .option('--cv-dir <dir>', 'the CV folder (default: <out>/cv-<preset>-<time>; with --fold: <out>/cv-<preset>-<k>fold, shared by every fold job)')
    .option('--data <dir>', DATA_HELP, collect)
    .option('--dataset <n>', DATASET_HELP, datasetSelection)
    .option('--epochs <n>', "number of epochs per fold (default: the preset's)", positiveInt)
    .option('--out <dir>', 'parent folder of the cross-validation folder', 'runs')
    .option('--config <file.json>', 'JSON overrides of the preset, by section; flags win over it')
    .action(async (opts: {
      preset: string; folds: number; fold?: number; collect?: string; allowMissing?: boolean; cvDir?: string;
      data?: string[]; dataset?: number | number[] | 'all'; epochs?: number; out: string; config?: string;
    }) => {
      if (opts.collect && (await isClassifierCvDir(opts.collect))) return collectClassifierCvCommand(opts.collect, opts.allowMissing);
      if (opts.collect) {
        const summary = await collectCv(opts.collect, { allowMissing: opts.allowMissing });
        const of = summary.missing.length > 0 ? ` (${summary.folds} of ${summary.of} folds)` : '';
        console.log(`\n${summary.of}-fold cross-validation of ${summary.preset}${of}, Dice mean ± sd:`);
        console.log(formatCvTable(summary));
        return;
      }
      if (opts.folds < 2) throw new Error(`--folds must be at least 2, got ${opts.folds}`);
      const config = resolvePreset(
        opts.preset,
        mergeOverrides(await configFileOverrides(opts.preset, opts.config), { data: { dataset: opts.dataset }, train: { epochs: opts.epochs } }),
      );
      await initEngine({ training: true });
      const sources = resolveSources({ data: opts.data, dataset: config.data.dataset });
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const cvDir = resolve(opts.cvDir ?? join(opts.out, opts.fold ? `cv-${config.preset}-${opts.folds}fold` : `cv-${config.preset}-${stamp}`));
      const bar = batchProgressBar();
      if (config.classifier) {
        const log = (line: string) => (bar.stop(), console.log(line));
        await cvClassifierCommand(config, { sources, cvDir, folds: opts.folds, fold: opts.fold }, { onBatch: bar.update, log });
        bar.stop();
        return;
      }
      const summary = await crossValidate(config, {
        sources,
        cvDir,
        folds: opts.folds,
        fold: opts.fold,
        onBatch: bar.update,
        log: (line) => {
          bar.stop();
          console.log(line);
        },
      });
      bar.stop();
      if (!summary) {
        console.log(`fold ${opts.fold} of ${opts.folds} written to ${join(cvDir, `fold-${opts.fold}`)}; when all folds are done: leukoseg cv --collect ${cvDir}`);
        return;
      }
      console.log(`\n${opts.folds}-fold cross-validation of ${config.preset}, Dice mean ± sd:`);
      console.log(formatCvTable(summary));
    });

  program
    .command('evaluate')
    .description("score a model on each data set's test split recorded with it (or every image with --all); per-class Dice and IoU")
    .option('--model <dir>', 'a run folder (runs/<id>) or a model folder (default: the bundled model)')
    .option('--data <dir>', `${DATA_HELP}; default: the folders the model records`, collect)
    .option('--dataset <n>', `${DATASET_HELP} (default: the data sets the model records)`, datasetSelection)
    .option('--all', "score every image/mask pair of the data, not the model's recorded test split (e.g. another lab's annotated images)")
    .option('--seeded-split <seed>', "score each data set on the test part of its seeded 70/30 split (what training with that --split-seed records), e.g. a model trained on Dataset 1 on Dataset 2's test images", nonNegativeInt)
    .option('--json', 'print one JSON object instead of the table')
    .option('--tta', "average the predictions of each image and its flips (default: as the model's metadata says)")
    .option('--no-tta', 'no test-time augmentation')
    .option('--no-calibration', "plain argmax, ignoring the class weights fitted by 'leukoseg calibrate'")
    .addOption(new Option('--masks <kind>', 'a cell-type classifier: cut the cells out with the annotated masks (truth, the default) or with the masks the segmenter predicts').choices(MASK_CHOICES))
    .option('--segmenter <dir>', 'with --masks predicted: the segmenter (default: the bundled model)')
    .addOption(backendOption())
    .action(async (opts: { model?: string; data?: string[]; dataset?: number | number[] | 'all'; all?: boolean; seededSplit?: number; json?: boolean; tta?: boolean; calibration: boolean; masks?: MaskChoice; segmenter?: string; backend: EngineBackend }) => {
      if (opts.all && opts.seededSplit !== undefined) throw new Error('--all and --seeded-split name different images; give one of them');
      await initEngine({ backend: opts.backend });
      const loaded = await loadModelForEvaluation(opts.model ?? DEFAULT_MODEL_DIR);
      if (isCellTypeModel(loaded.metadata)) {
        try {
          return await evaluateClassifierCommand(loaded, sourcesForModel(opts, recordedSplits(loaded.metadata)), opts);
        } finally {
          loaded.model.dispose();
        }
      }
      if (opts.masks !== undefined || opts.segmenter !== undefined) {
        loaded.model.dispose();
        throw new Error('--masks and --segmenter are for a cell-type classifier; this model is a segmenter');
      }
      let result;
      const tta = opts.tta ?? loaded.metadata.inference?.tta ?? false;
      try {
        const sources = sourcesForModel(opts, recordedSplits(loaded.metadata));
        result = await evaluateModel(loaded, sources, { tta, calibrated: opts.calibration, all: opts.all, seededSplit: opts.seededSplit });
      } finally {
        loaded.model.dispose();
      }
      for (const issue of result.issues) console.error(`skipped ${issue.file}: ${issue.problem}`);
      const summary = (x: SegmentationMetrics) => {
        const { confusion: _confusion, pixels: _pixels, ...rest } = x;
        return rest;
      };
      if (opts.json) {
        const datasets = result.sources.map((s) => ({ dataset: s.dataset, dir: s.dir, scope: s.scope, ...summary(s.metrics), native: summary(s.native) }));
        console.log(JSON.stringify({ ...summary(result.metrics), native: summary(result.native), datasets, scope: result.scope, tta, classWeights: result.classWeights }));
        return;
      }
      const size = loaded.metadata.preprocessing.inputSize;
      const weights = result.classWeights ? `, calibrated class weights ${result.classWeights.map((w) => w.toFixed(3)).join('/')}` : '';
      console.log(`${loaded.dir}${tta ? ', flip TTA' : ''}${weights}`);
      for (const s of result.sources) {
        const scope = opts.seededSplit !== undefined ? `the test part of its seeded split (seed ${opts.seededSplit})` : s.scope === 'test-split' ? 'the test split recorded with the model' : 'all images';
        console.log(`\n${s.dataset} (${s.dir}): ${s.native.images} images, ${scope}`);
        console.log(`at the model's input size, ${size}x${size}:`);
        console.log(formatMetricsTable(s.metrics));
        console.log(`at each image's own size (probabilities brought back to it, original masks):`);
        console.log(formatMetricsTable(s.native));
      }
      if (result.sources.length > 1) {
        console.log(`\nall ${result.native.images} images pooled, at each image's own size:`);
        console.log(formatMetricsTable(result.native));
      }
    });

  program.addCommand(calibrateCommand(positiveInt));

  program.addCommand(segmentCommand());
  program.addCommand(serveCommand());
  program.addCommand(exportCommand());

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
