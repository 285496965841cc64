// `leukoseg export`: a model folder as an ONNX file (--format onnx) or as a bioimage.io model package
// (--format bioimageio, optionally zipped). Flags are checked here; the work is in onnx/ and bioimageio.ts.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { initEngine } from '../engine/index.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { findPairs, resolveDataDir } from '../data/dataset.js';
import { loadModel, recordedSplits, resolveModelDir } from '../models/io.js';
import { exportOnnx } from '../onnx/export.js';
import { writeFileAtomic } from '../io/atomic.js';
import { exportBioimageio } from './bioimageio.js';

export const EXPORT_FORMATS = ['onnx', 'bioimageio'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface ExportFlags {
  format: string;
  model?: string;
  out: string;
  zip?: boolean;
  image?: string;
  data?: string;
  author?: string[];
}

/** The image for the test tensors: the first test image of the model's recorded split, else the first pair. */
async function defaultTestImage(modelDir: string, data: string | undefined): Promise<string> {
  const { model, metadata } = await loadModel(modelDir);
  model.dispose();
  // The first source the model records (e.g. "Dataset 1"), and its first test image.
  const [split] = recordedSplits(metadata);
  const datasetNumber = Number(/^Dataset (\d+)$/.exec(split?.dataset ?? '')?.[1] ?? 1);
  const dir = split?.dir && data === undefined ? split.dir : resolveDataDir({ data, dataset: datasetNumber });
  const { pairs } = await findPairs(dir).catch((err: Error) => {
    throw new Error(`no --image given, and the data set for the test tensors is not at hand (${err.message}); pass --image FILE or --data DIR`);
  });
  const wanted = split?.testIds[0];
  const pair = pairs.find((p) => p.id === wanted) ?? pairs[0];
  if (!pair) throw new Error(`${dir}: no image/mask pairs for the test tensors; pass --image FILE`);
  return pair.imagePath;
}

async function runExport(flags: ExportFlags): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
    throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${flags.format}"`);
  }
  const format = flags.format as ExportFormat;
  if (format === 'onnx') {
    const misplaced = (['zip', 'image', 'data', 'author'] as const).filter((k) => flags[k] !== undefined);
    if (misplaced.length > 0) throw new Error(`--${misplaced.join(', --')}: only for --format bioimageio`);
  }
  await initEngine();
  const modelDir = await resolveModelDir(flags.model ?? DEFAULT_MODEL_DIR);
  if (format === 'onnx') {
    const { model } = await loadModel(modelDir);
    try {
      await writeFileAtomic(resolve(flags.out), exportOnnx(model, `leukoseg: ${model.name} from ${modelDir}`));
    } finally {
      model.dispose();
    }
    console.log(`ONNX (input 'image' NHWC float32, output 'probs') written to ${resolve(flags.out)}`);
    return;
  }
  const image = flags.image ?? (await defaultTestImage(modelDir, flags.data));
  const result = await exportBioimageio({ modelDir, outDir: flags.out, image, zip: flags.zip, authors: flags.author });
  console.log(`bioimage.io package (${result.files.join(', ')}) written to ${result.dir}${result.zip ? `, zipped to ${result.zip}` : ''}; test tensors from ${image}`);
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write a model as ONNX (--format onnx) or as a bioimage.io model package (--format bioimageio)')
    .requiredOption('--format <name>', EXPORT_FORMATS.join(' or '))
    .requiredOption('--out <path>', 'the .onnx file (onnx) or the package folder (bioimageio)')
    .option('--model <dir>', 'a model folder or run folder (default: the bundled model)')
    .option('--zip', 'bioimageio: also write <out>.zip, the package as one file')
    .option('--image <file>', "bioimageio: the image the test tensors are made from (default: the first test image of the model's split)")
    .option('--data <dir>', 'bioimageio: where that split\'s images are (default: $LEUKOSEG_DATA, then the download cache)')
    .option('--author <name...>', 'bioimageio: author names for rdf.yaml (default: "leukoseg contributors")')
    .action((flags: ExportFlags) => runExport(flags));
}
