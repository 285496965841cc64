// Lets a replacement wasm kernel call other wasm kernels at backend level and
// frees every intermediate it made, so a kernel leaves only its output behind.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };
export type Info = tf.TensorInfo;
export type Pairs = Array<[number, number]>;

/** The arguments every kernel function receives, with the wasm backend typed. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}

/** The part of a window [start, start + length) of an axis that lies inside it. */
export interface AxisWindow {
  cropStart: number;
  cropLength: number;
  padBefore: number;
  padAfter: number;
}

/**
 * Splits a window over an axis of `size` elements into the in-range part to
 * slice out and the zeros to pad around it. Windows may start before 0 or end
 * past `size`, which is how convolution padding of any kind is expressed here.
 */
export function axisWindow(size: number, start: number, length: number): AxisWindow {
  const cropStart = Math.min(size, Math.max(0, start));
  const cropEnd = Math.max(cropStart, Math.min(size, start + length));
  return {
    cropStart,
    cropLength: cropEnd - cropStart,
    padBefore: cropStart - start,
    padAfter: start + length - cropEnd,
  };
}

/**
 * Whether the active backend serves `kernelName`: the ops and gradients that have a fused kernel of
 * leukoseg's own ask this, and compose tfjs's ops where it is false (any backend but the engine's wasm).
 */
export function activeBackendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

export function assertNHWC(dataFormat: unknown, kernelName: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`leukoseg wasm ${kernelName}: only dataFormat 'NHWC' is supported, got '${String(dataFormat)}'`);
  }
}

export function assertFloat32(infos: Info[], kernelName: string): void {
  for (const info of infos) {
    if (info.dtype !== 'float32') {
      throw new Error(`leukoseg wasm ${kernelName}: only float32 tensors are supported, got ${info.dtype}`);
    }
  }
}

/** Tracks the tensors a kernel creates on the wasm backend. */
export class Scratch {
  private readonly temps: Info[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs whatever kernel is registered for wasm under `kernelName` now. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): Info {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (kernel == null) {
      throw new Error(`leukoseg wasm: kernel '${kernelName}' is not registered for wasm`);
    }
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      throw new Error(`leukoseg wasm: kernel '${kernelName}' returned several tensors`);
    }
    return this.track(out);
  }

  track(info: Info): Info {
    this.temps.push(info);
    return info;
  }

  /** A new float32 tensor whose values the caller will write through `view`. */
  output(shape: number[]): Info {
    return this.track(this.backend.makeOutput(shape, 'float32'));
  }

  /** Heap view of a tensor; re-fetch after any allocation, which may move the heap. */
  view(info: Info): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  zeros(shape: number[]): Info {
    return this.run('Fill', {}, { shape, value: 0, dtype: 'float32' });
  }

  reshape(x: Info, shape: number[]): Info {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: Info, perm: number[]): Info {
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * [b, h, w, c] -> [c, h, w, b], the "channels become the batch" transpose of
   * the conv gradients, as a JS loop on the heap: tfjs-backend-wasm's generic
   * transpose moves one element at a time here and is ~1.6x slower.
   */
  swapBatchAndChannels(x: Info): Info {
    const [b, h, w, c] = x.shape;
    if (b === 1 && c === 1) {
      return this.reshape(x, [c, h, w, b]);
    }
    const out = this.output([c, h, w, b]);
    const src = this.view(x);
    const dst = this.view(out);
    const pixels = h * w;
    const plane = pixels * b;
    // Blocks of pixels keep the c strided write streams within the cache.
    const block = 64;
    for (let p0 = 0; p0 < pixels; p0 += block) {
      const p1 = Math.min(pixels, p0 + block);
      for (let ch = 0; ch < c; ch++) {
        const dstPlane = ch * plane;
        for (let p = p0; p < p1; p++) {
          const o = dstPlane + p * b;
          for (let n = 0; n < b; n++) dst[o + n] = src[(n * pixels + p) * c + ch];
        }
      }
    }
    return out;
  }

  slice(x: Info, begin: number[], size: number[]): Info {
    return this.run('Slice', { x }, { begin, size });
  }

  /** Convolution with explicit NHWC padding: paddings are [[top, bottom], [left, right]]. */
  conv2d(x: Info, filter: Info, strides: [number, number], dilations: [number, number], pads: Pairs): Info {
    const pad = [[0, 0], pads[0], pads[1], [0, 0]] as tf.backend_util.ExplicitPadding;
    return this.run('Conv2D', { x, filter }, { strides, dilations, pad, dataFormat: 'NHWC' });
  }

  /**
   * Cuts the spatial windows out of an NHWC tensor, returning the in-range part
   * and the zero padding that completes each window, for a padded Conv2D.
   */
  window4d(x: Info, rows: AxisWindow, cols: AxisWindow): Info {
    const [b, h, w, c] = x.shape;
    if (rows.cropStart === 0 && rows.cropLength === h && cols.cropStart === 0 && cols.cropLength === w) {
      return x;
    }
    return this.slice(x, [0, rows.cropStart, cols.cropStart, 0], [b, rows.cropLength, cols.cropLength, c]);
  }

  /**
   * Frees every intermediate except `result`, which becomes the kernel output.
   * A result that is one of the kernel's inputs gets its own reference and a
   * new TensorInfo: inputs are engine Tensors, which the engine would hand
   * back as the very same object instead of tracking a new output.
   */
  finish(result: Info): Info {
    let owned = false;
    for (const t of this.temps) {
      if (t === result) {
        owned = true;
      } else {
        this.backend.disposeData(t.dataId);
      }
    }
    this.temps.length = 0;
    if (owned) {
      return result;
    }
    this.backend.incRef(result.dataId);
    return { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
  }

  abandon(): void {
    for (const t of this.temps) {
      this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
  }
}

/** Runs `body` with a scratch space whose intermediates are freed afterwards, even on error. */
export function withScratch(backend: BackendWasm, body: (s: Scratch) => Info): Info {
  const scratch = new Scratch(backend);
  let result: Info;
  try {
    result = body(scratch);
  } catch (err) {
    scratch.abandon();
    throw err;
  }
  return scratch.finish(result);
}
