// The model run inside the page, so images never leave the machine: TensorFlow.js on WebAssembly
// (CPU fallback), the model and .wasm files from this server, and leukoseg's own pre/post-processing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LabelMask, RgbImage } from '../../src/data/types.js';
import { predictProbs, probsToImageSize } from '../../src/infer/predict.js';
import { finishSegmentation, prepareInput } from '../../src/infer/pipeline.js';
import type { CellStats } from '../../src/infer/morphometrics.js';
import type { ModelMetadata } from '../../src/models/io.js';
import { squareFitOf, type Preprocessing } from '../../src/models/preprocessing.js';
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
    /** The model's calibrated class weights, as the server applies them. */
    private readonly classWeights: number[] | undefined,
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
    const inference = meta?.inference ?? info.inference;
    return new BrowserSegmenter(model, meta?.preprocessing ?? info.preprocessing, inference.tta, inference.classWeights, backend);
  }

  /**
   * The steps of the Node segmenter (src/infer/segmenter.ts), sharing its input preparation and
   * finishing (src/infer/pipeline.ts); only the model call is the page's own.
   */
  async segment(image: RgbImage, umPerPx?: number): Promise<BrowserResult> {
    const { width, height } = image;
    const { inputSize } = this.preprocessing;
    const input = prepareInput(image, this.preprocessing);
    const started = performance.now();
    const probsTensor = tf.tidy(() => {
      const p = predictProbs(this.model, tf.tensor4d(input, [1, inputSize, inputSize, 3]), this.tta);
      return probsToImageSize(tf.squeeze(p, [0]) as tf.Tensor3D, width, height, squareFitOf(this.preprocessing));
    });
    const probs = (await probsTensor.data()) as Float32Array;
    probsTensor.dispose();
    const inferenceMs = performance.now() - started;
    const { mask, stats } = finishSegmentation(probs, width, height, { umPerPx, classWeights: this.classWeights });
    return { mask, stats, inferenceMs };
  }
}
