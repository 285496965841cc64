// The model run inside the page, so images never leave the machine: TensorFlow.js on WebAssembly
// (CPU fallback), the model and .wasm files from this server, and leukoseg's own pre/post-processing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { resizeNearest } from '../../src/data/resize.js';
import { NUM_CLASSES, type LabelMask, type RgbImage } from '../../src/data/types.js';
import { argmaxLabels, predictProbs, probsToSize } from '../../src/infer/predict.js';
import { postprocessMask } from '../../src/infer/postprocess.js';
import { measureCell, WARNING_MULTIPLE_CELLS, type CellStats } from '../../src/infer/morphometrics.js';
import type { ModelMetadata, Preprocessing } from '../../src/models/io.js';
import type { ModelInfo } from '../../src/server/api-types.js';

export interface BrowserResult {
  mask: LabelMask;
  stats: CellStats;
  /** Milliseconds in the model alone, as the server's inferenceMs. */
  inferenceMs: number;
}

export class BrowserSegmenter {
  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly preprocessing: Preprocessing,
    /** Flip test-time augmentation, when the model says it is meant to run that way (as the server does). */
    private readonly tta: boolean,
    /** 'wasm' normally; 'cpu' when this browser cannot run WebAssembly. */
    readonly backend: string,
  ) {}

  /** Sets up TensorFlow.js once and loads the model the server serves. */
  static async load(info: ModelInfo): Promise<BrowserSegmenter> {
    setWasmPaths(info.wasmUrlPrefix);
    let backend = 'wasm';
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
      await tf.ready();
    } catch {
      backend = 'cpu';
      await tf.setBackend('cpu');
      await tf.ready();
    }
    const model = await tfl.loadLayersModel(info.modelUrl);
    // The preprocessing travels inside model.json; the API's copy is the fallback for older files.
    const meta = (model.getUserDefinedMetadata() as { leukoseg?: ModelMetadata } | undefined)?.leukoseg;
    return new BrowserSegmenter(model, meta?.preprocessing ?? info.preprocessing, meta?.inference?.tta ?? info.inference.tta, backend);
  }

  /**
   * The same steps as ModelSegmenter.segment in src/infer/segmenter.ts (nearest resize to the input
   * size, scale, predict (with flip TTA if the model asks for it), probabilities back to the image
   * size bilinearly, argmax, post-processing, measuring). Keep the two in step: the end-to-end test
   * compares their numbers.
   */
  async segment(image: RgbImage, umPerPx?: number): Promise<BrowserResult> {
    const { width, height } = image;
    const { inputSize, scale } = this.preprocessing;
    const small = resizeNearest({ width, height, data: image.data }, inputSize, inputSize, 3);
    const started = performance.now();
    const probsTensor = tf.tidy(() => {
      const x = tf.mul(tf.tensor4d(Float32Array.from(small.data), [1, inputSize, inputSize, 3]), scale);
      const p = predictProbs(this.model, x as tf.Tensor4D, this.tta);
      return probsToSize(tf.squeeze(p, [0]) as tf.Tensor3D, width, height);
    });
    const probs = (await probsTensor.data()) as Float32Array;
    probsTensor.dispose();
    const inferenceMs = performance.now() - started;
    const rawMask: LabelMask = { width, height, data: argmaxLabels(probs, NUM_CLASSES) };
    const mask = postprocessMask(rawMask).mask;
    const stats = measureCell(mask, { umPerPx, probs });
    // As on the server: post-processing keeps one cell, so "several cells" is judged on the raw output.
    const raw = measureCell(rawMask);
    stats.cellComponents = raw.cellComponents;
    if (raw.warnings.includes(WARNING_MULTIPLE_CELLS) && !stats.warnings.includes(WARNING_MULTIPLE_CELLS)) {
      stats.warnings.push(WARNING_MULTIPLE_CELLS);
    }
    return { mask, stats, inferenceMs };
  }
}
