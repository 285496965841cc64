// ResizeNearestNeighbor and its gradient for the wasm backend, for the integer up-scaling of
// UpSampling2D: copies forward and block sums backward, natively on both cores when the addon is in
// use, else as leukoseg's SIMD kernel of the same passes when it is loaded (training); without either
// the forward is the shipped kernel and the gradient XNNPACK's average pooling.
import { ResizeNearestNeighbor, ResizeNearestNeighborGrad } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, ResizeNearestNeighborAttrs, ResizeNearestNeighborGradAttrs } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { offsetOf } from './native_conv.js';
import { assertFloat32, withScratch } from './scratch.js';
import { heapPasses, type HeapPasses } from './heap_passes.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/** Runs the up-sampling (forward) or block sum (backward) between `small` and `large` with `passes`. */
function upsample(passes: HeapPasses, args: WasmKernelArgs, small: Info, large: Info, out: Info, backward: boolean): void {
  const [batch, height, width, channels] = small.shape;
  const at = (t: Info) => offsetOf(args.backend, t);
  passes.upsampleNearest(Int32Array.from([
    at(backward ? out : small), at(backward ? large : out), batch, height, width, channels,
    large.shape[1] / height, large.shape[2] / width, backward ? 1 : 0,
  ]));
}

/** Forward: without alignCorners, output pixel y of an f-times up-scaling reads input floor(y / f). */
export function resizeNearestNeighborWasm(args: WasmKernelArgs): Info {
  const images = args.inputs.images as Info;
  const { alignCorners, size } = args.attrs as unknown as ResizeNearestNeighborAttrs;
  const [batch, inHeight, inWidth, channels] = images.shape;
  const [outHeight, outWidth] = size;
  const integerScale = !alignCorners && images.dtype === 'float32' && images.shape.length === 4 &&
    batch * inHeight * inWidth * channels > 0 && outHeight % inHeight === 0 && outWidth % inWidth === 0;
  const passes = heapPasses(args.backend);
  if (!integerScale || passes === null) {
    return callOriginal(ResizeNearestNeighbor, args, 'neither the native nor the SIMD kernels are in use, or the scale is not a whole number');
  }
  const out = args.backend.makeOutput([batch, outHeight, outWidth, channels], 'float32');
  upsample(passes, args, images, { ...out, shape: [batch, outHeight, outWidth, channels] }, out, false);
  return out;
}

/**
 * Without alignCorners and with an output f times the input, output pixel y
 * came from input pixel floor(y / f) (also under halfPixelCenters, since
 * (r + 0.5) / f < 1 for r < f), so dx is the sum of each f x f block of dy.
 * Average pooling computes it; the scale back is exact for power-of-two f.
 */
export function resizeNearestNeighborGradWasm(args: WasmKernelArgs): Info {
  const { inputs, backend } = args;
  const images = inputs.images as Info;
  const dy = inputs.dy as Info;
  const { alignCorners } = args.attrs as unknown as ResizeNearestNeighborGradAttrs;
  const [batch, inHeight, inWidth, channels] = images.shape;
  const [, outHeight, outWidth] = dy.shape;
  const integerScale = !alignCorners && inHeight > 0 && inWidth > 0 &&
    outHeight % inHeight === 0 && outWidth % inWidth === 0 && dy.dtype === 'float32';
  if (!integerScale) {
    return callOriginal(ResizeNearestNeighborGrad, args, 'only integer up-scaling has a fast path');
  }
  assertFloat32([dy], ResizeNearestNeighborGrad);
  const fh = outHeight / inHeight;
  const fw = outWidth / inWidth;
  const passes = heapPasses(backend);
  if (passes !== null && batch * channels > 0) {
    const dx = backend.makeOutput(images.shape, 'float32');
    upsample(passes, args, images, dy, dx, true);
    return dx;
  }
  return withScratch(backend, (s) => {
    if (batch * channels === 0) {
      return s.zeros(images.shape);
    }
    const mean = s.run('AvgPool', { x: dy }, { filterSize: [fh, fw], strides: [fh, fw], pad: 'valid' });
    if (fh * fw === 1) {
      return mean;
    }
    const scale = s.track(backend.makeOutput([], 'float32', undefined, Float32Array.of(fh * fw)));
    return s.run('Multiply', { a: mean, b: scale });
  });
}

export const resizeNearestNeighborGradConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGradWasm as unknown as KernelFunc,
};

export const resizeNearestNeighborConfig: KernelConfig = {
  kernelName: ResizeNearestNeighbor,
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborWasm as unknown as KernelFunc,
};
