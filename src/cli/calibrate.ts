// `leukoseg calibrate`: fits per-class decision weights on a model's validation images and writes
// them into its model.json. The model that ships with the package is never rewritten unless asked:
// `--out DIR` writes a calibrated copy, `--in-place` rewrites the model named.
import { Command } from 'commander';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { initEngine, type EngineBackend } from '../engine/index.js';
import { calibrateModel } from '../infer/evaluate.js';
import { loadModel, recordedSplits, resolveModelDir, saveModel, MODEL_JSON } from '../models/io.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { backendOption } from './options.js';
import { collect, DATA_HELP, DATASET_HELP, datasetSelection, sourcesForModel } from './data-options.js';

export interface CalibrateTargetOptions {
  /** The model named with --model (default: the bundled one). */
  model?: string;
  out?: string;
  inPlace?: boolean;
  dryRun?: boolean;
}

const canonical = (p: string): Promise<string> => realpath(p).catch(() => resolve(p));

/** Whether `modelDir` (a resolved model folder) is the model that ships with the package. */
export async function isBundledModel(modelDir: string): Promise<boolean> {
  return (await canonical(modelDir)) === (await canonical(DEFAULT_MODEL_DIR));
}

/**
 * Where the calibrated model goes (null: nowhere, a dry run), checked before any work is done.
 * Throws when the bundled model would be rewritten without --in-place, and when --out names an
 * existing folder that is not a model folder (saving swaps the whole folder, so its files would go).
 */
export async function calibrationTarget(opts: CalibrateTargetOptions): Promise<{ source: string; target: string | null }> {
  const source = await resolveModelDir(opts.model ?? DEFAULT_MODEL_DIR);
  if (opts.out !== undefined && opts.inPlace) throw new Error('calibrate: give --out DIR or --in-place, not both');
  if (opts.dryRun) return { source, target: null };
  if (opts.out === undefined) {
    if ((await isBundledModel(source)) && !opts.inPlace) {
      throw new Error(
        `calibrate: ${source} is the model bundled with leukoseg; give --out DIR to write a calibrated copy, ` +
          'or --in-place to rewrite the bundled model itself',
      );
    }
    return { source, target: source };
  }
  const out = resolve(opts.out);
  const entries = await readdir(out).catch(() => null);
  const isModelFolder = await stat(join(out, MODEL_JSON)).then((s) => s.isFile(), () => false);
  if (entries !== null && entries.length > 0 && !isModelFolder) {
    throw new Error(`calibrate: --out ${out} exists and is not a model folder (no ${MODEL_JSON}); name a new or empty folder`);
  }
  if (await isBundledModel(out)) {
    throw new Error(`calibrate: --out ${out} is the bundled model's folder; name another folder (--in-place rewrites the bundled model)`);
  }
  return { source, target: out };
}

export function calibrateCommand(positiveInt: (value: string) => number): Command {
  return new Command('calibrate')
    .description("fit per-class decision weights on the model's validation images and store them in its model.json (or a copy: --out)")
    .option('--model <dir>', 'a run folder (runs/<id>) or a model folder (default: the bundled model)')
    .option('--data <dir>', `${DATA_HELP}; default: the folders the model records`, collect)
    .option('--dataset <n>', `${DATASET_HELP} (default: the data sets the model records)`, datasetSelection)
    .option('--out <dir>', 'write the calibrated model to this folder and leave the original as it is')
    .option('--in-place', 'rewrite the model named (needed to rewrite the bundled model itself)')
    .option('--dry-run', 'print the fit without writing it')
    .addOption(backendOption())
    .action(async (opts: CalibrateTargetOptions & { data?: string[]; dataset?: number | number[] | 'all'; backend: EngineBackend }) => {
      const { source, target } = await calibrationTarget(opts);
      await initEngine({ backend: opts.backend });
      const loaded = await loadModel(source);
      try {
        const fit = await calibrateModel(loaded, sourcesForModel(opts, recordedSplits(loaded.metadata)));
        for (const issue of fit.issues) console.error(`skipped ${issue.file}: ${issue.problem}`);
        const row = (d: number[]) => d.map((x) => x.toFixed(4)).join(' / ');
        console.log(`${loaded.dir}: fitted on ${fit.images} validation images at their own size (${fit.pixels} pixels)`);
        console.log(`class weights (background / cytoplasm / nucleus): ${row(fit.classWeights)}`);
        console.log(`validation Dice bg / cyto / nuc, plain argmax: ${row(fit.before)}  (mean ${fit.meanBefore.toFixed(4)})`);
        console.log(`validation Dice bg / cyto / nuc, calibrated:   ${row(fit.after)}  (mean ${fit.meanAfter.toFixed(4)})`);
        if (target === null) return;
        const metadata = { ...loaded.metadata, inference: { tta: loaded.metadata.inference?.tta ?? false, classWeights: fit.classWeights } };
        await saveModel(loaded.model, target, metadata);
        console.log(`written to ${join(target, MODEL_JSON)}`);
      } finally {
        loaded.model.dispose();
      }
    });
}
