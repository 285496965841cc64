// Convolutions on oneDNN (see ../native.ts) for the wasm backend, when the engine turned them on:
// Conv2D, FusedConv2D (bias, ReLU) and both gradients run in place on the wasm heap, multi-threaded.
// Anything outside their path (other dtypes or layouts, empty tensors, negative implied padding)
// returns null and the caller goes on with the WebAssembly kernels. This module also holds the addon
// for the other native kernels (sums, arithmetic, max-pool gradient, batch norm).
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { Conv2DAttrs, Conv2DBackpropFilterAttrs, Conv2DBackpropInputAttrs, FusedConv2DAttrs } from '@tensorflow/tfjs-core';
import type { NativeConvModule } from '../native.js';
import type { BackendWasm, Info, WasmKernelArgs } from './scratch.js';

let native: NativeConvModule | null = null;

/** Routes convolutions to `module` (null: back to WebAssembly only). */
export function useNativeConv(module: NativeConvModule | null): void {
  native = module;
}

/** The addon while the engine uses it, for the other native kernels. */
export function nativeModule(): NativeConvModule | null {
  return native;
}

const FORWARD = 0;
const INPUT_GRAD = 1;
const FILTER_GRAD = 2;

// The heap and tensor offsets are tfjs-backend-wasm internals, read in ../tfjs-internals.ts.
export { heapOf, offsetOf } from '../tfjs-internals.js';
import { heapOf, offsetOf } from '../tfjs-internals.js';

const params = new Int32Array(23);

function runNative(
  kind: number,
  backend: BackendWasm,
  info: backend_util.Conv2DInfo,
  a: Info,
  b: Info,
  outShape: number[],
  fused: { bias?: Info; relu: boolean } = { relu: false },
): Info | null {
  const p = info.padInfo;
  // oneDNN wants the padding after the input to be what the output size implies. That is negative
  // when the last window stops short of the input's end (tfjs says 0 then), which oneDNN's kernels do
  // not handle safely: such geometries stay on WebAssembly.
  const padBottom = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - p.top;
  const padRight = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - p.left;
  if (padBottom < 0 || padRight < 0 || p.top < 0 || p.left < 0) return null;
  const out = backend.makeOutput(outShape, 'float32');
  params.set([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, p.top, p.left, padBottom, padRight,
    info.dilationHeight, info.dilationWidth, fused.bias ? 1 : 0, fused.relu ? 1 : 0,
    offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), fused.bias ? offsetOf(backend, fused.bias) : 0,
  ]);
  // Read the heap after makeOutput: an allocation may have grown (and replaced) its buffer.
  const heap = heapOf(backend);
  try {
    native!.conv(kind as 0 | 1 | 2, heap, params);
  } catch (err) {
    backend.disposeData(out.dataId);
    // oneDNN refusing a geometry is not an error of the model: WebAssembly computes it instead.
    if (err instanceof Error && err.message.startsWith('oneDNN:')) return null;
    throw err;
  }
  return out;
}

function usable(infos: Info[], dataFormat: unknown): boolean {
  return (
    native !== null &&
    (dataFormat === undefined || dataFormat === 'NHWC') &&
    infos.every((t) => t.dtype === 'float32' && util.sizeFromShape(t.shape) > 0)
  );
}

/** Geometry of a forward convolution the native kernel can take, else null. */
function forwardInfo(args: WasmKernelArgs, attrs: Conv2DAttrs, extra: Info[] = []): backend_util.Conv2DInfo | null {
  const x = args.inputs.x as Info;
  const filter = args.inputs.filter as Info;
  if (!usable([x, filter, ...extra], attrs.dataFormat)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides,
    attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  return info.outHeight > 0 && info.outWidth > 0 ? info : null;
}

export function conv2DNative(args: WasmKernelArgs): Info | null {
  const info = forwardInfo(args, args.attrs as unknown as Conv2DAttrs);
  return info && runNative(FORWARD, args.backend, info, args.inputs.x as Info, args.inputs.filter as Info, info.outShape);
}

/**
 * FusedConv2D (tfjs-layers' conv with bias and activation) when the activation is linear or ReLU:
 * oneDNN adds the bias and applies the ReLU in the same pass. Other activations return null.
 */
export function fusedConv2DNative(args: WasmKernelArgs): Info | null {
  const bias = args.inputs.bias as Info | undefined;
  const attrs = args.attrs as unknown as FusedConv2DAttrs;
  const activation = attrs.activation ?? 'linear';
  if ((activation !== 'linear' && activation !== 'relu') || args.inputs.preluActivationWeights != null) return null;
  const info = forwardInfo(args, attrs, bias ? [bias] : []);
  // A bias broadcast from fewer values than output channels stays with the shipped kernel.
  if (info === null || (bias && util.sizeFromShape(bias.shape) !== info.outChannels)) return null;
  return runNative(FORWARD, args.backend, info, args.inputs.x as Info, args.inputs.filter as Info, info.outShape, {
    bias,
    relu: activation === 'relu',
  });
}

export function conv2DBackpropInputNative(args: WasmKernelArgs): Info | null {
  const dy = args.inputs.dy as Info;
  const filter = args.inputs.filter as Info;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  if (!usable([dy, filter], attrs.dataFormat)) return null;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  if (util.sizeFromShape(info.inShape) === 0) return null;
  return runNative(INPUT_GRAD, args.backend, info, dy, filter, info.inShape);
}

export function conv2DBackpropFilterNative(args: WasmKernelArgs): Info | null {
  const x = args.inputs.x as Info;
  const dy = args.inputs.dy as Info;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (!usable([x, dy], attrs.dataFormat)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  return runNative(FILTER_GRAD, args.backend, info, x, dy, info.filterShape);
}
