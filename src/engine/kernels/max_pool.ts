// MaxPool for the wasm backend: the default MaxPooling2D (2x2 windows, stride 2, tiling its input) as
// one threaded native pass when the addon is in use; every other pool, dtype or engine mode keeps the
// shipped XNNPACK kernel. The maximum is the same either way.
import { backend_util, MaxPool } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, MaxPoolAttrs } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/** The pool's geometry when it is a tiling 2x2 stride-2 pool of a non-empty float32 NHWC tensor, else null. */
export function tiling2x2(x: Info, attrs: MaxPoolAttrs): backend_util.Conv2DInfo | null {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode);
  const tiles = info.padInfo.top === 0 && info.padInfo.left === 0 && info.effectiveFilterHeight === 2 && info.effectiveFilterWidth === 2 &&
    info.strideHeight === 2 && info.strideWidth === 2 && info.outHeight * 2 === info.inHeight && info.outWidth * 2 === info.inWidth;
  return tiles && info.batchSize * info.outHeight * info.outWidth * info.inChannels > 0 ? info : null;
}

export function maxPoolWasm(args: WasmKernelArgs): Info {
  const x = args.inputs.x as Info;
  const native = nativeModule();
  const info = native === null ? null : tiling2x2(x, args.attrs as unknown as MaxPoolAttrs);
  if (native === null || info === null) return callOriginal(MaxPool, args, 'the native kernels are off or the pool is not a tiling 2x2 one');
  const { backend } = args;
  const y = backend.makeOutput(info.outShape, 'float32');
  native.maxPool2x2(heapOf(backend), Int32Array.from([
    offsetOf(backend, x), offsetOf(backend, y), info.batchSize * info.outHeight, info.outWidth, info.inWidth * info.inChannels, info.inChannels,
  ]));
  return y;
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: 'wasm',
  kernelFunc: maxPoolWasm as unknown as KernelFunc,
};
