// Conv2DBackpropInput for the wasm backend: the shipped one is a naive loop
// (~10x slower than XNNPACK); this one runs as one XNNPACK Conv2D on dy.
import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { assertFloat32, assertNHWC, axisWindow, withScratch } from './scratch.js';
import type { Info, Scratch, WasmKernelArgs } from './scratch.js';
import { conv2DBackpropInputNative } from './native_conv.js';

/**
 * With t = y + padTop the padded row a forward output row o read through tap
 * k = t - o*s, dx[y] = sum over o, k with o*s + k = t of dy[o] * W[k]. Writing
 * t = s*m + p splits the taps by phase p = k mod s: k = s*j + p, o = m - j.
 * Each phase is then a stride-1 correlation of dy with the flipped sub-filter
 * W[s*(n-1-j') + p], n = ceil(k/s). All s*s phases become the output channels
 * of one convolution, interleaved back by a transpose. For stride 1 this is the
 * familiar "conv with the flipped, transposed filter"; for stride s it skips the
 * zeros a dilated-dy formulation would multiply (a 2x2 stride-2 transposed conv
 * becomes a 1x1 convolution).
 */
export function conv2DBackpropInputWasm(args: WasmKernelArgs): Info {
  const { inputs, backend } = args;
  const dy = inputs.dy as Info;
  const filter = inputs.filter as Info;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  assertNHWC(attrs.dataFormat, Conv2DBackpropInput);
  assertFloat32([dy, filter], Conv2DBackpropInput);
  const viaNative = conv2DBackpropInputNative(args);
  if (viaNative !== null) return viaNative;

  const info = backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    strideHeight: sh, strideWidth: sw, filterHeight, filterWidth } = info;
  const expectedDy = [batchSize, outHeight, outWidth, outChannels];
  if (dy.shape.some((d, i) => d !== expectedDy[i])) {
    throw new Error(`leukoseg wasm ${Conv2DBackpropInput}: dy shape ${dy.shape} does not match ${expectedDy}`);
  }

  return withScratch(backend, (s) => {
    if (batchSize * inHeight * inWidth * inChannels === 0) {
      return s.zeros(info.inShape);
    }
    const nh = Math.ceil(filterHeight / sh);
    const nw = Math.ceil(filterWidth / sw);
    // Range of m (t = s*m + p) whose phases cover rows top .. top + inHeight - 1.
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const m0 = Math.floor(top / sh);
    const mCount = Math.floor((top + inHeight - 1) / sh) - m0 + 1;
    const l0 = Math.floor(left / sw);
    const lCount = Math.floor((left + inWidth - 1) / sw) - l0 + 1;

    const rows = axisWindow(outHeight, m0 - (nh - 1), mCount + nh - 1);
    const cols = axisWindow(outWidth, l0 - (nw - 1), lCount + nw - 1);
    if (outHeight * outWidth * outChannels === 0 || rows.cropLength === 0 || cols.cropLength === 0) {
      return s.zeros(info.inShape);
    }
    const phaseFilter = buildPhaseFilter(s, filter, sh, sw, nh, nw);
    const dyWin = s.window4d(dy, rows, cols);
    let dx = s.conv2d(dyWin, phaseFilter, [1, 1], [1, 1],
      [[rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter]]);
    if (sh * sw > 1) {
      // [b, m, l, (ph, pw, c)] -> [b, m, ph, l, pw, c] -> rows t = s*m + ph.
      dx = s.reshape(dx, [batchSize, mCount, lCount, sh, sw, inChannels]);
      dx = s.transpose(dx, [0, 1, 3, 2, 4, 5]);
      dx = s.reshape(dx, [batchSize, mCount * sh, lCount * sw, inChannels]);
    }
    return s.window4d(dx, axisWindow(mCount * sh, top - m0 * sh, inHeight),
      axisWindow(lCount * sw, left - l0 * sw, inWidth));
  });
}

/**
 * F[j', i', co, (ph, pw, ci)] = W[sh*(nh-1-j') + ph, sw*(nw-1-i') + pw, ci, co],
 * zero where the tap falls past the filter. Filters are small (thousands of
 * values), so a JS gather on the heap is cheaper than a chain of kernels.
 */
function buildPhaseFilter(s: Scratch, filter: Info, sh: number, sw: number, nh: number, nw: number): Info {
  const [kh, kw, ci, co] = filter.shape;
  const phaseChannels = sh * sw * ci;
  const out = s.output([nh, nw, co, phaseChannels]);
  const dst = s.view(out);
  const src = s.view(filter);
  dst.fill(0);
  for (let jh = 0; jh < nh; jh++) {
    for (let ph = 0; ph < sh; ph++) {
      const r = sh * (nh - 1 - jh) + ph;
      if (r >= kh) continue;
      for (let jw = 0; jw < nw; jw++) {
        for (let pw = 0; pw < sw; pw++) {
          const c = sw * (nw - 1 - jw) + pw;
          if (c >= kw) continue;
          const srcBase = (r * kw + c) * ci * co;
          const dstBase = (jh * nw + jw) * co * phaseChannels + (ph * sw + pw) * ci;
          for (let i = 0; i < ci; i++) {
            const srcRow = srcBase + i * co;
            for (let o = 0; o < co; o++) {
              dst[dstBase + o * phaseChannels + i] = src[srcRow + o];
            }
          }
        }
      }
    }
  }
  return out;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc,
};
