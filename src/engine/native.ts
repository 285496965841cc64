// The optional native kernels (native/*.cc): oneDNN running tfjs-backend-wasm's convolutions in place
// on its heap, on every core, plus the element-wise work of a training step. Built at install time
// only where oneDNN's headers are present (Debian: libdnnl-dev); everywhere else, and for a build
// whose argument layout is not the one this code expects, the engine keeps its WebAssembly kernels.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/**
 * The layout of the addon's arguments that this code passes (native/addon.cc's kAbiVersion). Bumped
 * with it whenever an entry point's name, arguments or their meaning change.
 */
export const NATIVE_ABI_VERSION = 3;

/** What the addon exports. */
export interface NativeConvModule {
  /** native/addon.cc's kAbiVersion; must equal NATIVE_ABI_VERSION. */
  abiVersion: number;
  /**
   * See native/conv.cc for `kind` (0 forward, 1 input gradient, 2 filter gradient, 3 through a ReLU, 4 a
   * ReLU layer's filter and input gradients at once) and the 27 `params`.
   */
  conv(kind: 0 | 1 | 2 | 3 | 4, heap: ArrayBuffer, params: Int32Array): void;
  /** out[j] = scale * sum over i < n of in[i * c + j]; params [inOffset, outOffset, n, c]. */
  reduceLeading(heap: ArrayBuffer, params: Int32Array, scale: number): void;
  /**
   * out[i] = a[i mod blockA] op b[i mod blockB] (op 0 add, 1 sub, 2 mul, 3 div, 4 a where b > 0 else 0);
   * params [aOffset, bOffset, outOffset, total, blockA, blockB].
   */
  binary(op: 0 | 1 | 2 | 3 | 4, heap: ArrayBuffer, params: Int32Array): void;
  /** A tiling 2x2 stride-2 max pool; params [xOffset, yOffset, rows, outWidth, rowStride, channels]. */
  maxPool2x2(heap: ArrayBuffer, params: Int32Array): void;
  /** Its gradient; params [xOffset, dyOffset, dxOffset, rows, outWidth, rowStride, channels]. */
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
  /** out[0] = scale * sum of x^2 (float64, in order); params [x, out, n]. */
  sumSquares(heap: ArrayBuffer, params: Int32Array, scale: number): void;
  /** out = x * factor (float32); params [x, out, n]. */
  scale(heap: ArrayBuffer, params: Int32Array, factor: number): void;
  /**
   * Adam's step for many variables, in place; params [value, m, v, gradient, size] per variable,
   * hyper [learningRate, beta1, beta2, epsilon, correction1, correction2].
   */
  adamInPlace(heap: ArrayBuffer, params: Int32Array, hyper: Float64Array): void;
  /** oneDNN's version, e.g. "2.6.3". */
  version(): string;
}

/** The functions checkAddon requires. */
export const NATIVE_FUNCTIONS = [
  'conv', 'reduceLeading', 'binary', 'maxPool2x2', 'maxPoolGrad2x2', 'batchNorm', 'batchNormTraining', 'batchNormTrainingGrad',
  'softmax', 'softmaxGrad', 'crossEntropy', 'crossEntropyGrad', 'upsampleNearest', 'sumSquares', 'scale', 'adamInPlace', 'version',
] as const satisfies ReadonlyArray<keyof NativeConvModule>;

/** Where `npm ci` builds the addon; LEUKOSEG_NATIVE_ADDON names another build (e.g. one under test). */
export const NATIVE_ADDON_PATH =
  process.env.LEUKOSEG_NATIVE_ADDON ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'leukoseg_onednn.node');

/**
 * `candidate` (what loading `path` gave) as the addon, or why it cannot be used: built from other
 * sources than this code (another ABI version, or none: a build from before the check) or lacking a
 * function. Calling such a build could read its arguments in another layout, so it is refused.
 */
export function checkAddon(candidate: unknown, path: string): NativeConvModule | Error {
  const rebuild = 'rebuild it with npm run build:native';
  const addon = candidate as Partial<Record<string, unknown>> | null;
  const abi = addon?.abiVersion;
  if (typeof abi !== 'number') {
    return new Error(`${path} is a stale build (it reports no ABI version; this leukoseg needs version ${NATIVE_ABI_VERSION}): ${rebuild}`);
  }
  if (abi !== NATIVE_ABI_VERSION) {
    return new Error(`${path} is a build for ABI version ${abi}, this leukoseg needs version ${NATIVE_ABI_VERSION}: ${rebuild}`);
  }
  const missing = NATIVE_FUNCTIONS.filter((name) => typeof addon?.[name] !== 'function');
  if (missing.length > 0) return new Error(`${path} lacks ${missing.join(', ')} (a broken or stale build): ${rebuild}`);
  return candidate as NativeConvModule;
}

let loaded: NativeConvModule | Error | undefined;

/**
 * The addon, or the reason it cannot be used: not built (no oneDNN at install), turned off with
 * LEUKOSEG_NATIVE=0, failing to load (e.g. libdnnl.so.2 removed since the build), or a stale build.
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
    loaded = checkAddon(createRequire(import.meta.url)(NATIVE_ADDON_PATH), NATIVE_ADDON_PATH);
  } catch (err) {
    loaded = new Error(`${NATIVE_ADDON_PATH} does not load: ${(err as Error).message}`);
  }
  return loaded;
}
