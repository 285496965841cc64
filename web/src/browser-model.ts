// The model run inside the page, so images never leave the machine: ONNX Runtime Web (WebAssembly, SIMD,
// threads when the page is cross-origin isolated) on the server's ONNX export, or TensorFlow.js on
// WebAssembly (threads too when isolated; CPU fallback) on model.json; both with leukoseg's own pre/post-processing.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LabelMask, RgbImage } from '../../src/data/types.js';
import { predictProbs, probsToImageSize } from '../../src/models/predict.js';
import { finishSegmentation, prepareInput } from '../../src/infer/pipeline.js';
import type { CellStats } from '../../src/infer/morphometrics.js';
import type { ModelMetadata } from '../../src/models/io.js';
import { squareFitOf, type Preprocessing } from '../../src/models/preprocessing.js';
import type { ModelInfo } from '../../src/server/api-types.js';
import { OrtPredictor, threadCount } from './ort-predictor.js';
import { withServedThreadScripts } from './tfjs-threads.js';

import { segmentField, type FieldProgress } from '../../src/field/segment-field.js';
import type { SegmentedCell } from '../../src/field/cells.js';
import type { WindowPredictor } from '../../src/field/predictor.js';
import { chooseMode, cropCells, fieldStats, type ModeChoice } from '../../src/field/mode.js';
import { rescaleCrop } from '../../src/infer/crop-scale.js';
import type { SegmentMode } from '../../src/output/results.js';

export interface BrowserResult {
  mask: LabelMask;
  stats: CellStats;
  mode: SegmentMode;
  cells: SegmentedCell[];
  instances: Uint16Array;
  /** The cell diameter (image px) the scale came from (a crop's: its first pass's cell). */
  cellDiameter: number | null;
  /** Model pixels per image pixel the cells were segmented at. */
  modelScale: number | null;
  /** Milliseconds in the model alone (resizing back included), as the server's inferenceMs. */
  inferenceMs: number;
}

export interface BrowserSegmentOptions {
  mode?: ModeChoice;
  cellDiameter?: number;
  onProgress?: (progress: FieldProgress) => void;
}

/** Which library runs the network in the page. */
export type BrowserRuntime = 'onnx' | 'tfjs';
export const BROWSER_RUNTIMES: readonly BrowserRuntime[] = ['onnx', 'tfjs'];
/**
 * ONNX Runtime Web: faster than TensorFlow.js's wasm backend on the bundled model in Chromium, on one
 * thread and on two (README, "Where the model runs", gives the figures).
 */
export const DEFAULT_BROWSER_RUNTIME: BrowserRuntime = 'onnx';

interface RunSettings {
  preprocessing: Preprocessing;
  /** Flip test-time augmentation, when the model says it is meant to run that way (as the server does). */
  tta: boolean;
  /** The model's calibrated class weights, as the server applies them. */
  classWeights: number[] | undefined;
}

/** What tfjs runs on in the page: 'wasm' (with its threads) or 'cpu' where this browser cannot run WebAssembly. */
interface TfjsSetUp {
  backend: string;
  threads: number;
}

let tfjsBackend: Promise<TfjsSetUp> | null = null;

/** A pthread worker that fails to load leaves tfjs's start-up waiting for ever: give up on threads then. */
const THREADED_START_MS = 30_000;

/**
 * TensorFlow.js on WebAssembly, threaded on a cross-origin isolated page with 4 or more cores (its scripts
 * from the server, see tfjs-threads.ts), single-threaded otherwise or where that does not start, or on the
 * CPU backend; set up once.
 */
function setUpTfjs(info: ModelInfo): Promise<TfjsSetUp> {
  tfjsBackend ??= (async () => {
    setWasmPaths(info.wasmUrlPrefix);
    // ONNX Runtime Web's rule (half the cores, at most 4): on this 2-core machine under load 2 threads
    // took a median 1120 against 542 ms per image (README, "Where the model runs").
    const threads = threadCount();
    if (threads > 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      setThreadsCount(threads);
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), THREADED_START_MS));
      const start = withServedThreadScripts(info.wasmUrlPrefix, threads, () => tf.setBackend('wasm'));
      const started = await Promise.race([start, timeout]).catch(() => false);
      if (started) return { backend: 'wasm', threads: getThreadsCount() };
    }
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
      await tf.ready();
      return { backend: 'wasm', threads: 1 };
    } catch {
      await tf.setBackend('cpu');
      await tf.ready();
      return { backend: 'cpu', threads: 1 };
    }
  })();
  return tfjsBackend;
}

export class BrowserSegmenter {
  private constructor(
    private readonly net: tfl.LayersModel | OrtPredictor,
    private readonly settings: RunSettings,
    /** 'wasm' normally; 'cpu' when this browser cannot run WebAssembly (tfjs only). */
    readonly backend: string,
    /** What ran the network, for people: "ONNX Runtime Web (2 threads)" or "TensorFlow.js". */
    readonly runtimeLabel: string,
    readonly runtime: BrowserRuntime,
    /** Why ONNX Runtime Web was asked for but TensorFlow.js runs instead. */
    readonly fallbackReason?: string,
  ) {}

  /**
   * Loads the model the server serves on `runtime`; when ONNX Runtime Web cannot start (no WebAssembly
   * SIMD, a blocked worker, a failed download) TensorFlow.js runs instead and `fallbackReason` says why.
   */
  static async load(info: ModelInfo, runtime: BrowserRuntime = DEFAULT_BROWSER_RUNTIME): Promise<BrowserSegmenter> {
    const tfjs = await setUpTfjs(info); // also resizes ONNX Runtime's output back, as the server does with tfjs
    const fromApi: RunSettings = { preprocessing: info.preprocessing, tta: info.inference.tta, classWeights: info.inference.classWeights };
    let fallbackReason: string | undefined;
    if (runtime === 'onnx') {
      try {
        const ort = await OrtPredictor.load();
        return new BrowserSegmenter(ort, fromApi, 'wasm', `ONNX Runtime Web (${ort.threads} thread${ort.threads === 1 ? '' : 's'})`, 'onnx');
      } catch (err) {
        fallbackReason = `ONNX Runtime Web did not start (${err instanceof Error ? err.message : String(err)})`;
      }
    }
    const model = await tfl.loadLayersModel(info.modelUrl);
    // The preprocessing travels inside model.json; the API's copy is the fallback for older files.
    const meta = (model.getUserDefinedMetadata() as { leukoseg?: ModelMetadata } | undefined)?.leukoseg;
    const inference = meta?.inference ?? info.inference;
    const settings = { preprocessing: meta?.preprocessing ?? info.preprocessing, tta: inference.tta, classWeights: inference.classWeights };
    const label = tfjs.backend === 'wasm' ? `TensorFlow.js (${tfjs.threads} thread${tfjs.threads === 1 ? '' : 's'})` : 'TensorFlow.js';
    return new BrowserSegmenter(model, settings, tfjs.backend, label, 'tfjs', fallbackReason);
  }

  /** Class probabilities at the image's own size (HWC), from either runtime. */
  private async probsAtImageSize(input: Float32Array, width: number, height: number): Promise<Float32Array> {
    const { inputSize } = this.settings.preprocessing;
    const fit = squareFitOf(this.settings.preprocessing);
    let probsTensor: tf.Tensor3D;
    if (this.net instanceof OrtPredictor) {
      const p = await this.net.predict(input, inputSize, this.settings.tta);
      probsTensor = tf.tidy(() => probsToImageSize(tf.tensor3d(p, [inputSize, inputSize, p.length / inputSize ** 2]), width, height, fit));
    } else {
      const net = this.net;
      probsTensor = tf.tidy(() => {
        const p = predictProbs(net, tf.tensor4d(input, [1, inputSize, inputSize, 3]), this.settings.tta);
        return probsToImageSize(tf.squeeze(p, [0]) as tf.Tensor3D, width, height, fit);
      });
    }
    const probs = (await probsTensor.data()) as Float32Array;
    probsTensor.dispose();
    return probs;
  }

  /** The network as field mode calls it: a batch of inputs, flips included when asked. */
  private windowPredictor(timing: { ms: number }): WindowPredictor {
    const size = this.settings.preprocessing.inputSize;
    const net = this.net;
    const run = (inputs: Float32Array, count: number, tta: boolean): Promise<Float32Array> => {
      if (net instanceof OrtPredictor) return net.predictBatch(inputs, count, size, tta);
      const out = tf.tidy(() => predictProbs(net, tf.tensor4d(inputs, [count, size, size, 3]), tta));
      return out.data().then((d) => (out.dispose(), d as Float32Array));
    };
    return {
      inputSize: size,
      predict: async (inputs, count, tta) => {
        const started = performance.now();
        try {
          return await run(inputs, count, tta);
        } finally {
          timing.ms += performance.now() - started;
        }
      },
    };
  }

  /**
   * The steps of the Node segmenter (src/infer/segmenter.ts), sharing its input preparation and
   * finishing (src/infer/pipeline.ts) for a crop and the whole of field mode (src/field) for a
   * field; only the model call is the page's own.
   */
  async segment(image: RgbImage, umPerPx?: number, options: BrowserSegmentOptions = {}): Promise<BrowserResult> {
    const { width, height } = image;
    const timing = { ms: 0 };
    const windows = this.windowPredictor(timing);
    if (chooseMode(options.mode, width, height) === 'field') {
      const field = await segmentField(image, windows, {
        preprocessing: this.settings.preprocessing,
        tta: this.settings.tta,
        classWeights: this.settings.classWeights,
        cellDiameter: options.cellDiameter,
        umPerPx,
        onProgress: options.onProgress,
      });
      const stats = fieldStats(field.cells, field.outOfDistribution, umPerPx);
      return { mask: field.mask, stats, mode: 'field', cells: field.cells, instances: field.instances, cellDiameter: field.cellDiameter, modelScale: field.scale, inferenceMs: timing.ms };
    }
    const input = prepareInput(image, this.settings.preprocessing);
    const started = performance.now();
    const probs = await this.probsAtImageSize(input, width, height);
    timing.ms += performance.now() - started;
    const first = finishSegmentation(probs, width, height, { umPerPx, classWeights: this.settings.classWeights });
    // A cell far from the working size is segmented again at it, as the Node segmenter does (src/infer/crop-scale.ts).
    const scaled = await rescaleCrop(image, first, windows, {
      preprocessing: this.settings.preprocessing, tta: this.settings.tta, classWeights: this.settings.classWeights, umPerPx, cellDiameter: options.cellDiameter,
    });
    const { mask, stats } = scaled.finished;
    const { cells, instances } = cropCells(mask, stats, true);
    return { mask, stats, mode: 'crop', cells, instances, cellDiameter: scaled.cellDiameter, modelScale: scaled.modelScale, inferenceMs: timing.ms };
  }
}
