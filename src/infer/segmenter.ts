// The one-line public API: `const seg = await loadSegmenter(); const r = await seg.segment('cell.bmp')`.
// Decodes any image, prepares it as the model's metadata says, predicts, maps the result back to the
// image's own size, cleans it up and measures the cell.
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { initEngine } from '../engine/index.js';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../data/decode.js';
import type { LabelMask, RgbImage } from '../data/types.js';
import { upsampleLabels } from '../field/label-field.js';
import { loadModel, resolveModelDir, type ModelMetadata } from '../models/io.js';
import { keepsOneCell, type PostprocessOptions } from './postprocess.js';
import type { CellStats } from './morphometrics.js';
import { predictProbs, probsToImageSize } from '../models/predict.js';
import { squareFitOf } from '../models/preprocessing.js';
import { finishSegmentation, prepareInput } from './pipeline.js';
import { loadOnnxRuntime, OnnxPredictor } from '../onnx/runtime.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DEFAULT_CLASSIFIER_DIR, loadCellClassifier, type CellClassifier } from '../classify/classifier.js';
import type { CellTypeResult } from '../classify/cell-types.js';
import { segmentField, type FieldProgress } from '../field/segment-field.js';
import type { SegmentedCell } from '../field/cells.js';
import type { WindowPredictor } from '../field/predictor.js';
import { chooseMode, cropCells, fieldStats, mainCellIndex, type ModeChoice } from '../field/mode.js';
import type { SegmentMode } from '../output/results.js';
import { windowPredictorOf } from './window-predictor.js';
import { cropFitScale, rescaleCrop, type CellDiameterChoice } from './crop-scale.js';
import { WORKING_CELL_DIAMETER } from '../field/scale.js';

/** A segmented cell with its type from the classifier (null when classification is off or it has no nucleus). */
export type TypedCell = SegmentedCell & { cellType: CellTypeResult | null };

/** What runs the network: ONNX Runtime on leukoseg's own export of the model, or TensorFlow.js. */
export type SegmenterRuntime = 'onnx' | 'tfjs';

/** The model that ships with the package, used when none is named. */
export const DEFAULT_MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'default');

/** Decoded pixels handed over directly: 1 (gray), 3 (RGB) or 4 (RGBA, alpha ignored) bytes per pixel. */
export interface PixelData {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
  channels: 1 | 3 | 4;
}

/** A file path, the bytes of an image file, or decoded pixels. */
export type SegmentInput = string | Uint8Array | PixelData;

export interface SegmenterOptions {
  /** A model folder or a run folder; default: the bundled model. */
  model?: string;
  /** Clean-up of the predicted mask (all on by default); `false` turns it off. */
  postprocess?: boolean | PostprocessOptions;
  backend?: 'wasm' | 'cpu';
  /** Refuse larger images (default 50 megapixels). */
  maxPixels?: number;
  /** Average the predictions of the image and its flips (4 model passes per image); default: as the model's metadata says. */
  tta?: boolean;
  /**
   * Default 'onnx' when onnxruntime-node loads and the model exports (several times faster on CPU),
   * else 'tfjs'. Asking for 'onnx' explicitly throws when it cannot be used. Masks agree with tfjs's
   * (probabilities within 1e-4). The tfjs backend still brings the probabilities back to the image's size.
   */
  runtime?: SegmenterRuntime;
  /** Apply the class weights fitted by `leukoseg calibrate`, when the model has them (default true). */
  calibrated?: boolean;
  /**
   * Type each segmented cell (neutrophil ... basophil, or 'uncertain') with a cell-type classifier:
   * true (the default) the bundled one, a model or run folder, or false for none.
   */
  classify?: boolean | string;
}

export interface SegmentOptions {
  /** Pixel size in micrometres, for areas in µm². */
  umPerPx?: number;
  /** Name used in error messages when the input is not a path. */
  name?: string;
  /**
   * 'auto' (default): field mode for an image larger than a cell crop (longer side FIELD_MIN_SIDE px
   * or more, see src/field/mode.ts), crop mode otherwise; 'crop' / 'field' force one.
   */
  mode?: ModeChoice;
  /**
   * The typical white-cell diameter in image pixels, or 'native'. Absent ('estimate'): a field's is
   * measured on the field (probes); a crop's on a first pass at the model's own fit, and a crop whose
   * cell reached the network more than CROP_SCALE_TOLERANCE off the working diameter is segmented
   * again at that diameter (src/infer/crop-scale.ts). 'native': crops at the model's own fit only
   * (as before the estimate), fields at the image's own resolution (one model pixel per image pixel).
   */
  cellDiameter?: CellDiameterChoice;
  /** Field mode: called as stage 1's tiles and stage 2's cells are done. */
  onProgress?: (progress: FieldProgress) => void;
}

export interface SegmentResult {
  width: number;
  height: number;
  /** The input as RGB, at its own size (the very buffer of RGB pixels handed over as a Uint8Array). */
  image: RgbImage;
  /** Class per pixel (0 background, 1 cytoplasm, 2 nucleus) at the image's own size, after post-processing. */
  mask: LabelMask;
  /** The mask before post-processing (field mode: stage 1's labels over the whole field, at the image's size). */
  rawMask: LabelMask;
  /**
   * The image's one cell in crop mode. In field mode the main cell (the one with the most nucleus, as
   * crop mode picks), with multiple-cells when there are more; no-cell (and a failed image check) when none.
   */
  stats: CellStats;
  /** The main cell's type (the cell `stats` describes: cells[k].cellType of that cell); null when classification is off or there is no cell with a nucleus. */
  cellType: CellTypeResult | null;
  /** Which mode ran. */
  mode: SegmentMode;
  /** Every white cell, numbered 1..n, each with its box, own mask, morphometrics and type (crop mode: at most one). */
  cells: TypedCell[];
  /** 0 where there is no cell, k on the pixels of cells[k - 1], at the image's size. */
  instances: Uint16Array;
  /**
   * The white-cell diameter (image px) the scale was set from, and whether given or estimated (a crop's:
   * its first pass's cell); null with cellDiameter 'native', or when no cell was found.
   */
  cellDiameter: number | null;
  cellDiameterSource: 'given' | 'estimated' | null;
  /** Model pixels per image pixel the cells were segmented at (a crop at the model's fit: e.g. 128/300 for a 300 px crop). */
  modelScale: number | null;
  /** Milliseconds spent in the model alone. */
  inferenceMs: number;
}

export interface Segmenter {
  readonly metadata: ModelMetadata;
  readonly modelDir: string;
  /** The runtime in use (see SegmenterOptions.runtime); optional so that stand-ins in tests need not say. */
  readonly runtime?: SegmenterRuntime;
  /** The cell-type classifier's folder, or null when cells are not typed. */
  readonly classifierDir?: string | null;
  segment(input: SegmentInput, options?: SegmentOptions): Promise<SegmentResult>;
  /** Frees the model's weights; the segmenter cannot be used afterwards. */
  dispose(): void;
}

/** A cell diameter given in image pixels (undefined: estimate it), refusing anything else. */
function cellDiameterOf(choice: CellDiameterChoice | undefined): number | undefined {
  if (choice === undefined || choice === 'estimate') return undefined;
  if (typeof choice !== 'number' || !(Number.isFinite(choice) && choice > 0)) {
    throw new Error(`cellDiameter must be a number of pixels above 0, 'estimate' or 'native', but got '${String(choice)}'`);
  }
  return choice;
}

function isPixelData(input: SegmentInput): input is PixelData {
  return typeof input === 'object' && !(input instanceof Uint8Array) && 'channels' in input;
}

/**
 * Gray/RGB/RGBA pixels as RGB, validating the buffer's length against the stated size. RGB bytes in a
 * Uint8Array are used as they are (no copy: a 4000 x 3000 field is 36 MB); anything else is converted.
 */
export function pixelsToRgb(p: PixelData, name = '<pixels>'): RgbImage {
  const { width, height, channels, data } = p;
  if (![1, 3, 4].includes(channels)) throw new Error(`${name}: channels must be 1, 3 or 4, got ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * channels) {
    throw new Error(`${name}: ${width}x${height} with ${channels} channel(s) needs ${width * height * channels} bytes, got ${data.length}`);
  }
  if (channels === 3 && data instanceof Uint8Array) return { width, height, data };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * channels + (channels === 1 ? 0 : c)];
  }
  return { width, height, data: rgb };
}

class ModelSegmenter implements Segmenter {
  private disposed = false;
  readonly runtime: SegmenterRuntime;
  /** The model as field mode calls it. */
  private readonly windows: WindowPredictor;

  constructor(
    /** The tfjs model, or the ONNX Runtime session made from it. */
    private readonly model: tfl.LayersModel | OnnxPredictor,
    readonly metadata: ModelMetadata,
    readonly modelDir: string,
    private readonly options: SegmenterOptions,
    private readonly classifier: CellClassifier | null,
  ) {
    this.runtime = model instanceof OnnxPredictor ? 'onnx' : 'tfjs';
    this.windows = windowPredictorOf(model, metadata.preprocessing.inputSize);
  }

  /** The model as field mode calls it, each call's time added to `timing.ms` (one per segment call: calls may overlap). */
  private timedWindows(timing: { ms: number }): WindowPredictor {
    const inner = this.windows;
    return {
      inputSize: inner.inputSize,
      predict: async (inputs, count, tta) => {
        const started = performance.now();
        try {
          return await inner.predict(inputs, count, tta);
        } finally {
          timing.ms += performance.now() - started;
        }
      },
    };
  }

  get classifierDir(): string | null {
    return this.classifier?.modelDir ?? null;
  }

  /** Probabilities at the image's own size (HWC) from the prepared model input. */
  private async probsAtSize(input: Float32Array, width: number, height: number): Promise<tf.Tensor3D> {
    const { inputSize } = this.metadata.preprocessing;
    const fit = squareFitOf(this.metadata.preprocessing);
    const tta = this.tta();
    const model = this.model;
    if (model instanceof OnnxPredictor) {
      const p = await model.predictTta(input, 1, inputSize, tta);
      return tf.tidy(() => probsToImageSize(tf.tensor3d(p, [inputSize, inputSize, p.length / inputSize ** 2]), width, height, fit));
    }
    return tf.tidy(() => {
      const p = predictProbs(model, tf.tensor4d(input, [1, inputSize, inputSize, 3]), tta);
      return probsToImageSize(tf.squeeze(p, [0]) as tf.Tensor3D, width, height, fit);
    });
  }

  async segment(input: SegmentInput, options: SegmentOptions = {}): Promise<SegmentResult> {
    if (this.disposed) throw new Error('this segmenter was disposed');
    const name = options.name ?? (typeof input === 'string' ? input : undefined);
    const image = isPixelData(input)
      ? pixelsToRgb(input, name)
      : await decodeImage(input, name, { maxPixels: this.options.maxPixels ?? DEFAULT_MAX_PIXELS });
    const rgb: RgbImage = { width: image.width, height: image.height, data: image.data };
    return chooseMode(options.mode, rgb.width, rgb.height, name) === 'field' ? this.segmentField(rgb, options) : this.segmentCrop(rgb, options);
  }

  /** Flip TTA: as the options say, else as the model's metadata says. */
  private tta(): boolean {
    return this.options.tta ?? this.metadata.inference?.tta ?? false;
  }

  private classWeights(): readonly number[] | undefined {
    return this.options.calibrated === false ? undefined : this.metadata.inference?.classWeights;
  }

  private async segmentCrop(image: RgbImage, options: SegmentOptions): Promise<SegmentResult> {
    const { width, height } = image;
    const prepared = prepareInput(image, this.metadata.preprocessing);
    const started = performance.now();
    const probsTensor = await this.probsAtSize(prepared, width, height);
    const probs = (await probsTensor.data()) as Float32Array;
    probsTensor.dispose();
    const timing = { ms: performance.now() - started };
    const first = finishSegmentation(probs, width, height, {
      postprocess: this.options.postprocess,
      umPerPx: options.umPerPx,
      classWeights: this.classWeights(),
      image,
    });
    const choice = options.cellDiameter ?? 'estimate';
    const scaled = choice === 'native'
      ? { finished: first, cellDiameter: null, cellDiameterSource: null, modelScale: cropFitScale(width, height, this.metadata.preprocessing) }
      : await rescaleCrop(image, first, this.timedWindows(timing), {
        preprocessing: this.metadata.preprocessing,
        tta: this.tta(),
        classWeights: this.classWeights(),
        postprocess: this.options.postprocess,
        umPerPx: options.umPerPx,
        cellDiameter: cellDiameterOf(choice),
      });
    const { mask, rawMask, stats } = scaled.finished;
    const inferenceMs = timing.ms;
    const { cells, instances } = cropCells(mask, stats, keepsOneCell(this.options.postprocess ?? true));
    // The crop's one cell is typed in the crop itself, as the classifier was trained.
    const cellType = this.classifier && cells.length > 0 ? await this.classifier.classify(image, mask, stats) : null;
    const typed: TypedCell[] = cells.map((c) => ({ ...c, cellType }));
    return {
      width, height, image, mask, rawMask, stats, cellType, mode: 'crop', cells: typed, instances,
      cellDiameter: scaled.cellDiameter, cellDiameterSource: scaled.cellDiameterSource, modelScale: scaled.modelScale, inferenceMs,
    };
  }

  private async segmentField(image: RgbImage, options: SegmentOptions): Promise<SegmentResult> {
    const { width, height } = image;
    const timing = { ms: 0 };
    const native = options.cellDiameter === 'native';
    const field = await segmentField(image, this.timedWindows(timing), {
      preprocessing: this.metadata.preprocessing,
      tta: this.tta(),
      classWeights: this.classWeights(),
      postprocess: this.options.postprocess,
      // 'native': one model pixel per image pixel, the scale of a cell of the working diameter.
      cellDiameter: native ? WORKING_CELL_DIAMETER : cellDiameterOf(options.cellDiameter),
      umPerPx: options.umPerPx,
      onProgress: options.onProgress,
    });
    const rawMask: LabelMask = { width, height, data: upsampleLabels(field.working, width, height) };
    const cells: TypedCell[] = [];
    for (const cell of field.cells) cells.push({ ...cell, cellType: this.classifier ? await this.classifier.classifyInField(image, cell) : null });
    const stats = fieldStats(field.cells, field.outOfDistribution, options.umPerPx);
    const main = mainCellIndex(field.cells);
    return {
      width, height, image, mask: field.mask, rawMask, stats, cellType: main === null ? null : cells[main].cellType, mode: 'field',
      cells, instances: field.instances, inferenceMs: timing.ms,
      cellDiameter: native ? null : field.cellDiameter, cellDiameterSource: native ? null : field.cellDiameterSource, modelScale: field.scale,
    };
  }

  dispose(): void {
    if (!this.disposed) {
      void this.model.dispose();
      this.classifier?.dispose();
    }
    this.disposed = true;
  }
}

/** Loads a model (the bundled one by default) and returns a segmenter for any number of images. */
export async function loadSegmenter(options: SegmenterOptions = {}): Promise<Segmenter> {
  await initEngine({ backend: options.backend ?? 'wasm' });
  const dir = await resolveModelDir(options.model ?? DEFAULT_MODEL_DIR);
  const { model, metadata } = await loadModel(dir);
  if (metadata.task === 'cell-type') {
    model.dispose();
    throw new Error(`${dir} is a cell-type classifier, not a segmenter; give it as the classifier (segment --classifier ${dir})`);
  }
  const classifier = options.classify === false ? null : await loadCellClassifier(typeof options.classify === 'string' ? options.classify : DEFAULT_CLASSIFIER_DIR);
  return new ModelSegmenter(await chooseRuntime(model, options.runtime), metadata, dir, options, classifier);
}

/** The ONNX Runtime session for `model` when it can (or must) be used, else the tfjs model itself. */
async function chooseRuntime(model: tfl.LayersModel, runtime: SegmenterRuntime | undefined): Promise<tfl.LayersModel | OnnxPredictor> {
  if (runtime !== undefined && runtime !== 'onnx' && runtime !== 'tfjs') {
    throw new Error(`runtime must be 'onnx' or 'tfjs', but got '${String(runtime)}'`);
  }
  if (runtime === 'tfjs') return model;
  if (runtime === undefined && (await loadOnnxRuntime()) instanceof Error) return model;
  try {
    const predictor = await OnnxPredictor.fromLayersModel(model);
    model.dispose();
    return predictor;
  } catch (err) {
    if (runtime === 'onnx') throw err;
    return model; // a layer the exporter does not know: tfjs runs it
  }
}
