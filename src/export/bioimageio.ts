// `leukoseg export --format bioimageio`: a model folder -> a bioimage.io model package (format 0.5) that
// QuPath, ilastik, deepImageJ and bioimageio.core read: rdf.yaml, ONNX weights, test tensors, README, cover.
//
//   await exportBioimageio({ modelDir: 'models/default', outDir: 'pkg', image: 'cells/001.bmp', zip: true });
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { zipSync } from 'fflate';
import { loadModel, type ModelMetadata } from '../models/io.js';
import { resolveModelDir } from '../models/io.js';
import { prepareInput } from '../infer/pipeline.js';
import { argmaxLabels } from '../models/predict.js';
import { decodeImage } from '../data/decode.js';
import { fitToSquare } from '../data/fit-square.js';
import { NUM_CLASSES, type RgbImage } from '../data/types.js';
import { squareFitOf } from '../models/preprocessing.js';
import { renderOverlay } from '../output/overlay.js';
import { upscaleNearest } from '../report/grid.js';
import { encodePng } from '../output/png.js';
import { writeFileAtomic } from '../io/atomic.js';
import { exportOnnx, ONNX_OPSET } from '../onnx/export.js';
import { encodeNpy } from './npy.js';
import { buildModelRdf, buildReadme, leukosegConfig, PACKAGE_FILES, type RdfInput } from './bioimageio-rdf.js';
import { checkModelRdf } from './rdf-schema.js';
import { projectInfo } from './project.js';

export interface BioimageioExportOptions {
  /** A model folder or run folder. */
  modelDir: string;
  /** The package folder (created if missing). */
  outDir: string;
  /** The image the test tensors are made from. */
  image: string;
  /** Also write `<outDir>.zip` with the package's files at its root. */
  zip?: boolean;
  /** Author names for rdf.yaml (default: "leukoseg contributors"). */
  authors?: string[];
  /** ISO time stamp for rdf.yaml (default: now). */
  timestamp?: string;
}

export interface BioimageioExport {
  dir: string;
  zip?: string;
  files: string[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The cover: the network's input square and the overlay of its argmax side by side, 2:1, upscaled 2x. */
async function renderCover(square: RgbImage, probs: Float32Array, classWeights?: readonly number[]): Promise<Buffer> {
  const mask = { width: square.width, height: square.height, data: argmaxLabels(probs, NUM_CLASSES, classWeights) };
  const left = upscaleNearest(square, 2);
  const right = upscaleNearest(renderOverlay(square, mask), 2);
  const data = new Uint8Array(left.width * 2 * left.height * 3);
  for (let y = 0; y < left.height; y++) {
    data.set(left.data.subarray(y * left.width * 3, (y + 1) * left.width * 3), y * left.width * 6);
    data.set(right.data.subarray(y * left.width * 3, (y + 1) * left.width * 3), y * left.width * 6 + left.width * 3);
  }
  return encodePng({ width: left.width * 2, height: left.height, data });
}

/** The test tensors: the image fitted into the square (0-255, as float32) and the network's probabilities on it. */
function testTensors(model: tfl.LayersModel, image: RgbImage, metadata: ModelMetadata) {
  const pre = metadata.preprocessing;
  const square = fitToSquare({ width: image.width, height: image.height, data: image.data }, pre.inputSize, 3, squareFitOf(pre));
  const scaled = prepareInput(image, pre);
  const probs = tf.tidy(() => (model.predict(tf.tensor4d(scaled, [1, pre.inputSize, pre.inputSize, 3])) as tf.Tensor).dataSync() as Float32Array);
  return { square: square as RgbImage, input: Float32Array.from(square.data), probs: Float32Array.from(probs) };
}

export async function exportBioimageio(options: BioimageioExportOptions): Promise<BioimageioExport> {
  const modelDir = await resolveModelDir(options.modelDir);
  const { model, metadata } = await loadModel(modelDir);
  try {
    const image = await decodeImage(options.image);
    const size = metadata.preprocessing.inputSize;
    const { square, input, probs } = testTensors(model, image, metadata);
    const shape = (channels: number) => [1, size, size, channels];
    const project = await projectInfo();
    const bytes: Record<string, Uint8Array> = {
      [PACKAGE_FILES.weights]: exportOnnx(model, `leukoseg ${project.version}: ${metadata.architecture} from ${modelDir}`),
      [PACKAGE_FILES.testInput]: encodeNpy(input, shape(3)),
      [PACKAGE_FILES.testOutput]: encodeNpy(probs, shape(metadata.classNames.length)),
      [PACKAGE_FILES.cover]: await renderCover(square, probs, metadata.inference?.classWeights),
    };
    const rdfInput: RdfInput = {
      metadata,
      sha256: { weights: sha256(bytes[PACKAGE_FILES.weights]), testInput: sha256(bytes[PACKAGE_FILES.testInput]), testOutput: sha256(bytes[PACKAGE_FILES.testOutput]) },
      opset: ONNX_OPSET,
      project,
      authors: options.authors?.length ? options.authors : ['leukoseg contributors'],
      testImage: basename(options.image),
      timestamp: options.timestamp ?? new Date().toISOString(),
    };
    const rdf = buildModelRdf(rdfInput);
    checkModelRdf(rdf); // the exporter's own output must satisfy the spec's required fields
    bytes[PACKAGE_FILES.readme] = new TextEncoder().encode(buildReadme(rdfInput));
    bytes[PACKAGE_FILES.rdf] = new TextEncoder().encode(
      `# bioimage.io model description, written by leukoseg ${project.version}\n${stringify({ ...rdf, config: leukosegConfig(metadata) }, { lineWidth: 0 })}`,
    );

    const dir = resolve(options.outDir);
    await mkdir(dir, { recursive: true });
    const stray = (await readdir(dir)).filter((f) => !(f in bytes));
    if (stray.length > 0) throw new Error(`${dir}: already holds other files (${stray.slice(0, 3).join(', ')}); choose an empty or new folder`);
    for (const [file, data] of Object.entries(bytes)) await writeFileAtomic(join(dir, file), data);
    const files = Object.keys(bytes);
    if (!options.zip) return { dir, files };
    const zip = `${dir.replace(/[\\/]+$/, '')}.zip`;
    const entries = Object.fromEntries(await Promise.all(files.map(async (f) => [f, new Uint8Array(await readFile(join(dir, f)))] as const)));
    await writeFileAtomic(zip, zipSync(entries, { level: 6 }));
    return { dir, zip, files };
  } finally {
    model.dispose();
  }
}
