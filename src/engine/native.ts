// The optional native kernels (native/onednn_conv.cc): oneDNN running tfjs-backend-wasm's convolutions
// in place on its heap, on every core, plus the element-wise work of a training step (sums over
// leading axes, broadcast arithmetic). Built at install time only where oneDNN's headers
// are present (Debian: libdnnl-dev); everywhere else the engine keeps its WebAssembly kernels.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** What the addon exports. */
export interface NativeConvModule {
  /** See native/onednn_conv.cc for `kind` and the 20 `params`. */
  conv(kind: 0 | 1 | 2, heap: ArrayBuffer, params: Int32Array): void;
  /** out[j] = scale * sum over i < n of in[i * c + j]; params [inOffset, outOffset, n, c]. */
  reduceLeading(heap: ArrayBuffer, params: Int32Array, scale: number): void;
  /**
   * out[i] = a[i mod blockA] op b[i mod blockB] (op 0 add, 1 sub, 2 mul, 3 div, 4 a where b > 0 else 0);
   * params [aOffset, bOffset, outOffset, total, blockA, blockB].
   */
  binary(op: 0 | 1 | 2 | 3 | 4, heap: ArrayBuffer, params: Int32Array): void;
  /** Gradient of a tiling 2x2 stride-2 max pool; params [xOffset, dyOffset, dxOffset, rows, outWidth, rowStride, channels]. */
  maxPoolGrad2x2(heap: ArrayBuffer, params: Int32Array): void;
  /** Per-channel normalisation; params [x, mean, variance, offset (-1 none), scale (-1 none), out, total, channels, and the four inputs' sizes (channels or 1)]. */
  batchNorm(heap: ArrayBuffer, params: Int32Array, epsilon: number): void;
  /**
   * A BatchNormalization layer's training forward pass; params [x, scale, offset, movingMean,
   * movingVariance, y, mean, variance, newMovingMean, newMovingVariance, rows, channels].
   */
  batchNormTraining(heap: ArrayBuffer, params: Int32Array, epsilon: number, momentum: number): void;
  /** Its gradient; params [dy, x, mean, variance, scale, dx, dScale, dOffset, rows, channels]. */
  batchNormTrainingGrad(heap: ArrayBuffer, params: Int32Array, epsilon: number): void;
  /** Softmax over the last axis; params [logits, out, rows, classes]. */
  softmax(heap: ArrayBuffer, params: Int32Array): void;
  /** dx = y (dy - sum(dy y)) per row; params [dy, y, dx, rows, classes]. */
  softmaxGrad(heap: ArrayBuffer, params: Int32Array): void;
  /** Keras's categorical cross-entropy per pixel; params [target, output, loss, pixels, classes]. */
  crossEntropy(heap: ArrayBuffer, params: Int32Array, epsilon: number): void;
  /** Its gradient for the output; params [dy, target, output, dOutput, pixels, classes]. */
  crossEntropyGrad(heap: ArrayBuffer, params: Int32Array, epsilon: number): void;
  /**
   * Nearest up-sampling of NHWC x by whole factors into y (backward 0), or y's block sums into x
   * (backward 1); params [x, y, batch, height, width, channels, fh, fw, backward] (sizes of x).
   */
  upsampleNearest(heap: ArrayBuffer, params: Int32Array): void;
  /** oneDNN's version, e.g. "2.6.3". */
  version(): string;
}

/** Where `npm ci` builds the addon; LEUKOSEG_NATIVE_ADDON names another build (e.g. one under test). */
export const NATIVE_ADDON_PATH =
  process.env.LEUKOSEG_NATIVE_ADDON ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'leukoseg_onednn.node');

let loaded: NativeConvModule | Error | undefined;

/**
 * The addon, or the reason it cannot be used: not built (no oneDNN at install), turned off with
 * LEUKOSEG_NATIVE=0, or failing to load (e.g. libdnnl.so.2 removed since the build).
 */
export function loadNativeConv(): NativeConvModule | Error {
  if (process.env.LEUKOSEG_NATIVE === '0') return new Error('turned off by LEUKOSEG_NATIVE=0');
  if (loaded !== undefined) return loaded;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loaded = new Error(`not built (${NATIVE_ADDON_PATH} is missing: oneDNN's headers were not there at install; on Debian: apt install libdnnl-dev, then npm run build:native)`);
    return loaded;
  }
  // OpenMP threads that spin while waiting made a training step 14x slower (45 -> 639 ms per image)
  // when another process held one of the two cores; sleeping costs ~15 % on an idle machine. libgomp
  // reads this once, when the addon loads it; a user's own setting wins.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.OMP_WAIT_POLICY = 'PASSIVE';
  }
  try {
    loaded = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeConvModule;
  } catch (err) {
    loaded = new Error(`${NATIVE_ADDON_PATH} does not load: ${(err as Error).message}`);
  }
  return loaded;
}
