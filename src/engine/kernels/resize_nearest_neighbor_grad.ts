// ResizeNearestNeighborGrad for the wasm backend: for the integer up-scaling of
// UpSampling2D the gradient is a block sum, done by XNNPACK average pooling.
import { ResizeNearestNeighborGrad } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, ResizeNearestNeighborGradAttrs } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { assertFloat32, withScratch } from './scratch.js';
import type { Info, WasmKernelArgs } from './scratch.js';

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
