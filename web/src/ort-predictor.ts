// ONNX Runtime Web in the page: the WebAssembly build loaded at run time from this server (never bundled,
// so its thread workers load its own loader script), and one session on the server's ONNX export.
import type * as Ort from 'onnxruntime-web';
import { ONNX_MODEL_URL, ORT_MODULE_URL, ORT_URL_PREFIX } from '../../src/server/asset-urls.js';
import { ONNX_INPUT, ONNX_OUTPUT } from '../../src/onnx/names.js';
import { FLIPS, flipBatch, unflipMean } from '../../src/onnx/flips.js';

type OrtModule = typeof Ort;

/**
 * Threads for the wasm backend. They need SharedArrayBuffer, which only a cross-origin isolated page has
 * (`leukoseg serve` sends the COOP/COEP headers); then half the cores, at most 4, as ONNX Runtime Web
 * itself would choose: on a 2-core machine shared with other work, 2 threads were slower than 1
 * (README, "Where the model runs"). TensorFlow.js's threaded build in the page takes the same number.
 */
export function threadCount(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)));
}

export class OrtPredictor {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly threads: number,
  ) {}

  static async load(): Promise<OrtPredictor> {
    // A run-time URL, so esbuild leaves the import alone and the server's copy is what runs.
    const ort = (await import(/* webpackIgnore: true */ ORT_MODULE_URL)) as OrtModule;
    ort.env.wasm.wasmPaths = ORT_URL_PREFIX;
    const threads = threadCount();
    ort.env.wasm.numThreads = threads;
    const response = await fetch(ONNX_MODEL_URL);
    if (!response.ok) throw new Error(`${ONNX_MODEL_URL}: ${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return new OrtPredictor(ort, session, threads);
  }

  /** Softmax output (NHWC) for one scaled `size` x `size` x 3 image; with `tta` the mean over its flips. */
  predict(image: Float32Array, size: number, tta: boolean): Promise<Float32Array> {
    return this.predictBatch(image, 1, size, tta);
  }

  /** The same for `count` images at once (a field's tiles or cells), the flips of all of them in one run. */
  async predictBatch(images: Float32Array, count: number, size: number, tta: boolean): Promise<Float32Array> {
    const batch = tta ? count * FLIPS.length : count;
    const input = new this.ort.Tensor('float32', tta ? flipBatch(images, count, size) : images, [batch, size, size, 3]);
    try {
      const out = await this.session.run({ [ONNX_INPUT]: input });
      const probs = out[ONNX_OUTPUT];
      const data = (probs.data as Float32Array).slice();
      probs.dispose();
      return tta ? unflipMean(data, count, size, data.length / (batch * size * size)) : data;
    } finally {
      input.dispose();
    }
  }
}
