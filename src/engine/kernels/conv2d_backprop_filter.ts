// Conv2DBackpropFilter for the wasm backend, which ships without one, so conv
// nets could not train there. Expressed as one matrix product of the patch
// matrix (leukoseg's SIMD kernels), else as one XNNPACK Conv2D plus transposes.
import { backend_util, Conv2DBackpropFilter, util } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { assertFloat32, assertNHWC, axisWindow, withScratch } from './scratch.js';
import type { Info, Scratch, WasmKernelArgs } from './scratch.js';
import { conv2DBackpropFilterNative, offsetOf } from './native_conv.js';
import { simdKernels, type SimdKernels } from './simd.js';

type Conv2DInfo = backend_util.Conv2DInfo;

/**
 * How the gradient is computed: as a matrix product of the patch matrix (im2col, where the SIMD kernels
 * are loaded), or as an XNNPACK Conv2D with dy or x as the filter; 'auto' picks.
 */
export type FilterGradLayout = 'auto' | 'im2col' | 'dy-as-filter' | 'x-as-filter';

/**
 * A patch matrix larger than this many floats (256 MiB) is not made: the Conv2D formulations need no
 * such buffer. A U-Net's widest 3x3 layer at 128 px, batch 2, needs 19 M.
 */
export const MAX_IM2COL_FLOATS = 64 * 2 ** 20;

/**
 * Three formulations of the filter gradient: the patch matrix times dy (im2col),
 * or one XNNPACK Conv2D plus transposes (dyAsFilter, xAsFilter). `layout`
 * exists for tests and benchmarks; x-as-filter only applies to stride 1.
 */
export function conv2DBackpropFilterWasm(args: WasmKernelArgs, layout: FilterGradLayout = 'auto'): Info {
  if (layout === 'auto') {
    const viaNative = conv2DBackpropFilterNative(args);
    if (viaNative !== null) return viaNative;
  }
  const simd = simdKernels();
  if (layout === 'im2col' && simd === null) throw new Error(`leukoseg wasm ${Conv2DBackpropFilter}: im2col needs leukoseg's SIMD kernels (initEngine with training on wasm)`);
  const { inputs, backend } = args;
  const x = inputs.x as Info;
  const dy = inputs.dy as Info;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  assertNHWC(attrs.dataFormat, Conv2DBackpropFilter);
  assertFloat32([x, dy], Conv2DBackpropFilter);

  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize, outHeight, outWidth, outChannels, strideHeight, strideWidth } = info;
  const expectedDy = [batchSize, outHeight, outWidth, outChannels];
  if (dy.shape.some((d, i) => d !== expectedDy[i])) {
    throw new Error(`leukoseg wasm ${Conv2DBackpropFilter}: dy shape ${dy.shape} does not match ${expectedDy}`);
  }

  return withScratch(backend, (s) => {
    if (outHeight === 0 || outWidth === 0 || batchSize === 0) {
      return s.zeros(info.filterShape);
    }
    // A new filter costs tfjs a transpose and XNNPACK a repacking, ~7 ns per
    // value, so the smaller of x and dy should be the filter, unless x has so
    // few channels (Ci becomes the product's width) that XNNPACK's 8-wide
    // microkernels idle: the 3-channel first layer is faster with dy.
    // x-as-filter needs stride 1.
    const patches = info.filterHeight * info.filterWidth * info.inChannels * batchSize * outHeight * outWidth;
    if (simd !== null && (layout === 'im2col' || (layout === 'auto' && patches <= MAX_IM2COL_FLOATS))) return viaPatches(s, simd, x, dy, info);
    const unitStride = strideHeight === 1 && strideWidth === 1;
    const xSmaller = util.sizeFromShape(x.shape) < util.sizeFromShape(dy.shape);
    const useX = layout === 'x-as-filter' || (layout === 'auto' && unitStride && xSmaller && info.inChannels >= 8);
    if (useX && !unitStride) {
      throw new Error(`leukoseg wasm ${Conv2DBackpropFilter}: x-as-filter needs stride 1`);
    }
    return useX ? xAsFilter(s, x, dy, info) : dyAsFilter(s, x, dy, info);
  });
}

/**
 * dW[(i, j, ci), co] = sum over the output pixels p of patches[(i, j, ci), p] * dy[p, co]: the patch
 * matrix (kernels.c's im2col, rows in the filter's own [i, j, ci] order) times dy read as a
 * [pixels, co] matrix, whose product is already the filter's HWIO layout. On Model 3's layers at
 * batch 2 it ran 1.2-5x faster than the Conv2D of dyAsFilter (which reduces over a 128x128 "filter"
 * with the batch as its channels), the copy included (README, Speed).
 */
function viaPatches(s: Scratch, simd: SimdKernels, x: Info, dy: Info, info: Conv2DInfo): Info {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outHeight, outWidth, outChannels, strideHeight, strideWidth } = info;
  const rowsRead = (outHeight - 1) * strideHeight + filterHeight;
  const colsRead = (outWidth - 1) * strideWidth + filterWidth;
  const taps = filterHeight * filterWidth * inChannels;
  const pixels = batchSize * outHeight * outWidth;
  const window = s.output([batchSize * rowsRead * inChannels * colsRead]);
  const patches = s.output([1, taps, pixels]);
  const at = (t: Info) => offsetOf(s.backend, t);
  simd.im2col(Int32Array.from([
    at(x), at(window), at(patches), batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth,
    outHeight, outWidth, info.padInfo.top, info.padInfo.left, strideHeight, strideWidth,
  ]));
  const grad = s.run('BatchMatMul', { a: patches, b: s.reshape(dy, [1, pixels, outChannels]) }, { transposeA: false, transposeB: false });
  return s.reshape(grad, info.filterShape);
}

/**
 * dW[i, j, ci, co] = sum over b, y, x of xPad[b, y*sh + i, x*sw + j, ci] * dy[b, y, x, co].
 *
 * Read with ci as the batch, b as the channel and dy (laid out [y, x, b, co]) as
 * the filter, this is a stride-1 convolution whose filter taps are dilated by
 * the forward stride, giving [ci, i, j, co]. The forward op has no dilation
 * attribute (tfjs rejects gradients of dilated conv2d), so stride is the only
 * spacing to handle and any stride works with the same formulation.
 */
function dyAsFilter(s: Scratch, x: Info, dy: Info, info: Conv2DInfo): Info {
  const { outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  // Rows the forward op read, in x coordinates; outside x they were zeros.
  const rows = axisWindow(info.inHeight, -info.padInfo.top, (outHeight - 1) * strideHeight + filterHeight);
  const cols = axisWindow(info.inWidth, -info.padInfo.left, (outWidth - 1) * strideWidth + filterWidth);
  if (rows.cropLength === 0 || cols.cropLength === 0) {
    return s.zeros(info.filterShape);
  }
  const xT = s.swapBatchAndChannels(s.window4d(x, rows, cols));
  const dyT = s.transpose(dy, [1, 2, 0, 3]);
  const grad = s.conv2d(xT, dyT, [1, 1], [strideHeight, strideWidth],
    [[rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter]]);
  return info.inChannels === 1 ? s.reshape(grad, info.filterShape) : s.transpose(grad, [1, 2, 0, 3]);
}

/**
 * For stride 1 the same sum reads dW[i, j] = sum over r, c of x[r, c] *
 * dy[r + top - i, c + left - j]: a correlation of dy (co as the batch, b as
 * the channel) with x as the filter [r, c, b, ci]. Output row u holds tap
 * i = kh - 1 - u once dy is windowed to start kh - 1 - top rows early.
 */
function xAsFilter(s: Scratch, x: Info, dy: Info, info: Conv2DInfo): Info {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const rows = axisWindow(outHeight, info.padInfo.top - (filterHeight - 1), inHeight + filterHeight - 1);
  const cols = axisWindow(outWidth, info.padInfo.left - (filterWidth - 1), inWidth + filterWidth - 1);
  if (rows.cropLength === 0 || cols.cropLength === 0) {
    return s.zeros(info.filterShape);
  }
  const dyT = s.swapBatchAndChannels(s.window4d(dy, rows, cols));
  const xT = s.transpose(x, [1, 2, 0, 3]);
  const flipped = s.conv2d(dyT, xT, [1, 1], [1, 1],
    [[rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter]]);
  const grad = s.run('Reverse', { x: flipped }, { dims: [1, 2] });
  return s.transpose(grad, [1, 2, 3, 0]);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ((args: WasmKernelArgs) => conv2DBackpropFilterWasm(args)) as unknown as KernelFunc,
};
