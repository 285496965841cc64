// Runs leukoseg models on ONNX Runtime (onnxruntime-node, optional): loads the runtime if it is installed,
// builds a session from a tfjs model exported in memory, and predicts NHWC probabilities, flips included.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { InferenceSession } from 'onnxruntime-node';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from './export.js';
import { flipBatch, FLIPS, unflipMean } from './flips.js';

export { flipNhwc } from './flips.js';

type OrtModule = typeof import('onnxruntime-node');

let runtime: Promise<OrtModule | Error> | null = null;

/** onnxruntime-node, or the Error that loading it gave (not installed, no binary for this platform). */
export function loadOnnxRuntime(): Promise<OrtModule | Error> {
  runtime ??= import('onnxruntime-node').then(
    (m) => ((m as { default?: OrtModule }).default ?? m) as OrtModule,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  return runtime;
}

export interface OnnxPredictorOptions {
  /** Threads of ONNX Runtime's intra-op pool; default: its own choice (one per physical core). */
  threads?: number;
  /**
   * Let idle pool threads busy-wait for work (ONNX Runtime's own default). Off by default here: when another
   * process holds a core (a training run beside a server), spinning threads steal it from the one doing the
   * work, and the U-Net's batch-1 time doubled in our measurements; with no other load it changes little.
   */
  spin?: boolean;
}

/**
 * One ONNX Runtime session for one model, fed and read in NHWC like the tfjs model it came from.
 *
 *   const p = await OnnxPredictor.fromLayersModel(model); const probs = await p.predict(x, 1, 128);
 */
export class OnnxPredictor {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
  ) {}

  static async fromBytes(bytes: Uint8Array, options: OnnxPredictorOptions = {}): Promise<OnnxPredictor> {
    const ort = await loadOnnxRuntime();
    if (ort instanceof Error) throw new Error(`ONNX Runtime is not available: ${ort.message}`);
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      extra: { session: { intra_op: { allow_spinning: options.spin ? '1' : '0' } } },
    });
    return new OnnxPredictor(ort, session);
  }

  /** Exports the model to ONNX in memory (nothing is written to disk) and opens a session on it. */
  static fromLayersModel(model: tfl.LayersModel, options: OnnxPredictorOptions = {}): Promise<OnnxPredictor> {
    return OnnxPredictor.fromBytes(exportOnnx(model), options);
  }

  /** Softmax output (NHWC) of `count` NHWC images of `size` x `size` x 3, already scaled. */
  async predict(images: Float32Array, count: number, size: number): Promise<Float32Array> {
    if (images.length !== count * size * size * 3) {
      throw new Error(`OnnxPredictor: ${count} images of ${size}x${size}x3 need ${count * size * size * 3} values, got ${images.length}`);
    }
    return (await this.predictRaw(images, [count, size, size, 3])).data;
  }

  /** The graph's output for an NHWC input of any shape it accepts, with the output's dimensions. */
  async predictRaw(images: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const input = new this.ort.Tensor('float32', images, dims);
    const out = await this.session.run({ [ONNX_INPUT]: input });
    const probs = out[ONNX_OUTPUT];
    input.dispose();
    const result = { data: (probs.data as Float32Array).slice(), dims: [...probs.dims] };
    probs.dispose();
    return result;
  }

  /**
   * Like `predictProbs(model, x, tta)` of infer/predict.ts: with `tta` the mean over the image and its
   * horizontal, vertical and double flips, each prediction flipped back; the four run as one batch.
   */
  async predictTta(images: Float32Array, count: number, size: number, tta: boolean): Promise<Float32Array> {
    if (!tta) return this.predict(images, count, size);
    const probs = await this.predict(flipBatch(images, count, size), count * FLIPS.length, size);
    return unflipMean(probs, count, size, probs.length / (FLIPS.length * count * size * size));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
