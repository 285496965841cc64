// Convolutions on oneDNN (see ../native.ts) for the wasm backend, when the engine turned them on:
// Conv2D, FusedConv2D (bias, ReLU), both gradients, and the filter gradient through a ReLU (with the
// bias gradient), in place on the wasm heap, multi-threaded. Anything outside their path (other
// dtypes or layouts, empty tensors, negative implied padding) returns null and the caller goes on
// with the WebAssembly kernels. This module also holds the addon for the other native kernels.
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
const FILTER_GRAD_THROUGH_RELU = 3;
const LAYER_GRAD = 4;

// The heap and tensor offsets are tfjs-backend-wasm internals, read in ../tfjs-internals.ts.
export { heapOf, offsetOf } from '../tfjs-internals.js';
import { heapOf, offsetOf } from '../tfjs-internals.js';

const params = new Int32Array(27);

/** The heap tensors of one call, by the addon's offset letters (see native/conv.cc). */
interface Operands {
  a: Info;
  b: Info;
  c: Info;
  d?: Info;
  e?: Info;
  f?: Info;
  g?: Info;
  h?: Info;
}

/** oneDNN wants the padding after the input to be what the output size implies, [bottom, right]; null when negative. */
function impliedPadding(info: backend_util.Conv2DInfo): [number, number] | null {
  const p = info.padInfo;
  // Negative when the last window stops short of the input's end (tfjs says 0 then), which oneDNN's
  // kernels do not handle safely: such geometries stay on WebAssembly.
  const padBottom = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - p.top;
  const padRight = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - p.left;
  return padBottom < 0 || padRight < 0 || p.top < 0 || p.left < 0 ? null : [padBottom, padRight];
}

/** Whether the native kernels take this geometry (a convolution whose implied padding is not negative). */
export function nativeTakes(info: backend_util.Conv2DInfo): boolean {
  return native !== null && impliedPadding(info) !== null;
}

/**
 * Runs kind on the operands, `outputs` (made by the caller, all among the operands) freed again if
 * oneDNN refuses the geometry (then null: WebAssembly computes it instead).
 */
function runNative(kind: number, backend: BackendWasm, info: backend_util.Conv2DInfo, ops: Operands, outputs: Info[],
  bias: boolean, relu: boolean): boolean {
  const pads = impliedPadding(info);
  const free = () => outputs.forEach((t) => backend.disposeData(t.dataId));
  if (pads === null) {
    free();
    return false;
  }
  const at = (t: Info | undefined) => (t ? offsetOf(backend, t) : 0);
  params.set([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, pads[0], pads[1],
    info.dilationHeight, info.dilationWidth, bias ? 1 : 0, relu ? 1 : 0,
    at(ops.a), at(ops.b), at(ops.c), at(ops.d), at(ops.e), at(ops.f), at(ops.g), at(ops.h),
  ]);
  try {
    // Read the heap after the outputs were made: an allocation may have grown (and replaced) its buffer.
    native!.conv(kind as 0 | 1 | 2 | 3 | 4, heapOf(backend), params);
  } catch (err) {
    free();
    // oneDNN refusing a geometry is not an error of the model: WebAssembly computes it instead.
    if (err instanceof Error && err.message.startsWith('oneDNN:')) return false;
    throw err;
  }
  return true;
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

function forward(args: WasmKernelArgs, info: backend_util.Conv2DInfo, bias: Info | undefined, relu: boolean): Info | null {
  const y = args.backend.makeOutput(info.outShape, 'float32');
  const ops = { a: args.inputs.x as Info, b: args.inputs.filter as Info, c: y, d: bias };
  return runNative(FORWARD, args.backend, info, ops, [y], bias !== undefined, relu) ? y : null;
}

export function conv2DNative(args: WasmKernelArgs): Info | null {
  const info = forwardInfo(args, args.attrs as unknown as Conv2DAttrs);
  return info && forward(args, info, undefined, false);
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
  return forward(args, info, bias, activation === 'relu');
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
  const dx = args.backend.makeOutput(info.inShape, 'float32');
  return runNative(INPUT_GRAD, args.backend, info, { a: dy, b: filter, c: dx }, [dx], false, false) ? dx : null;
}

export function conv2DBackpropFilterNative(args: WasmKernelArgs): Info | null {
  const x = args.inputs.x as Info;
  const dy = args.inputs.dy as Info;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (!usable([x, dy], attrs.dataFormat)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const dw = args.backend.makeOutput(info.filterShape, 'float32');
  return runNative(FILTER_GRAD, args.backend, info, { a: x, b: dy, c: dw }, [dw], false, false) ? dw : null;
}

/**
 * The gradients of y = relu(conv(x, filter) + bias) for the filter and bias, from dy and y:
 * g = dy where y > 0, the filter's gradient from x and g, and the bias's as the sum of g, in one
 * call. Returns [g, dFilter, dBias?] (g for the input's gradient), or null outside the native path.
 */
export function conv2DReluFilterGradNative(backend: BackendWasm, x: Info, dy: Info, y: Info, info: backend_util.Conv2DInfo,
  withBias: boolean): Info[] | null {
  if (!usable([x, dy, y], 'NHWC') || !util.arraysEqual(dy.shape, info.outShape) || !util.arraysEqual(y.shape, info.outShape)) return null;
  const outputs = [
    backend.makeOutput(info.outShape, 'float32'),
    backend.makeOutput(info.filterShape, 'float32'),
    ...(withBias ? [backend.makeOutput([info.outChannels], 'float32')] : []),
  ];
  const [g, dw, db] = outputs;
  const ops = { a: x, b: dy, c: dw, d: db, e: y, f: g };
  return runNative(FILTER_GRAD_THROUGH_RELU, backend, info, ops, outputs, withBias, false) ? outputs : null;
}

/**
 * All the gradients of y = act(conv(x, filter) + bias), act ReLU or none, from dy (and y for the ReLU)
 * in one call: the filter's, the bias's and the input's, through g = dy where y > 0 (a temporary here)
 * or dy itself. Returns [dFilter, dBias?, dx], or null outside the native path.
 */
export function conv2DLayerGradNative(backend: BackendWasm, x: Info, dy: Info, y: Info | null, filter: Info,
  info: backend_util.Conv2DInfo, withBias: boolean): Info[] | null {
  const relu = y !== null;
  if (!usable([x, dy, filter, ...(relu ? [y] : [])], 'NHWC') || !util.arraysEqual(dy.shape, info.outShape) ||
    (relu && !util.arraysEqual(y.shape, info.outShape)) || !util.arraysEqual(filter.shape, info.filterShape)) return null;
  const g = relu ? backend.makeOutput(info.outShape, 'float32') : undefined;
  const outputs = [
    backend.makeOutput(info.filterShape, 'float32'),
    ...(withBias ? [backend.makeOutput([info.outChannels], 'float32')] : []),
    backend.makeOutput(info.inShape, 'float32'),
  ];
  const [dw, db] = outputs;
  const dx = outputs[outputs.length - 1];
  const ops = { a: x, b: dy, c: dw, d: withBias ? db : undefined, e: y ?? undefined, f: g, g: filter, h: dx };
  const ok = runNative(LAYER_GRAD, backend, info, ops, g ? [...outputs, g] : outputs, withBias, relu);
  if (ok && g) backend.disposeData(g.dataId);
  return ok ? outputs : null;
}
