// Concat and SplitV for the wasm backend as row copies on the heap. The shipped kernels copy one
// innermost row at a time through a new subarray each (SplitV through Slice): a U-Net's skip
// connections, joined along channels and split again in the gradient, took 6.4 ms (SplitV) and 2.3 ms
// (Concat) per training image at 128x128 on WebAssembly alone, for a few MB of copying. Rows go
// through the SIMD module's copy_rows when it is loaded (JS loops over rows of 16-64 values were
// hardly faster than tfjs's), else through copyRows below.
import { backend_util, Concat, SplitV, util } from '@tensorflow/tfjs-core';
import type { ConcatAttrs, KernelConfig, KernelFunc, SplitVAttrs } from '@tensorflow/tfjs-core';
import { offsetOf } from '../tfjs-internals.js';
import { callOriginal } from './originals.js';
import type { BackendWasm, Info, WasmKernelArgs } from './scratch.js';
import { simdKernels } from './simd.js';

type Heap = Float32Array | Int32Array;

/**
 * Copies `rows` rows of `width` values from `from` (rows `fromStride` apart, starting at `fromStart`)
 * to `to` (rows `toStride` apart, from `toStart`).
 */
export function copyRows(from: Heap, fromStart: number, fromStride: number, to: Heap, toStart: number, toStride: number, rows: number, width: number): void {
  if (width === fromStride && width === toStride) {
    to.set(from.subarray(fromStart, fromStart + rows * width), toStart);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const f = fromStart + r * fromStride;
    const t = toStart + r * toStride;
    for (let j = 0; j < width; j++) to[t + j] = from[f + j];
  }
}

const onHeap = (dtype: string) => dtype === 'float32' || dtype === 'int32';

/** copyRows from tensor `from` to tensor `to` (starts and strides in values), by the SIMD module when loaded. */
function copyTensorRows(backend: BackendWasm, from: Info, fromStart: number, fromStride: number, to: Info, toStart: number, toStride: number, rows: number, width: number): void {
  if (rows * width === 0) return;
  const simd = simdKernels();
  if (simd !== null) {
    simd.copyRows(Int32Array.from([offsetOf(backend, from) + 4 * fromStart, fromStride, offsetOf(backend, to) + 4 * toStart, toStride, rows, width]));
    return;
  }
  copyRows(backend.typedArrayFromHeap(from) as Heap, fromStart, fromStride, backend.typedArrayFromHeap(to) as Heap, toStart, toStride, rows, width);
}

export function concatWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const inputs = args.inputs as unknown as Info[];
  const { axis } = args.attrs as unknown as ConcatAttrs;
  if (inputs.length < 2 || !inputs.every((t) => t.dtype === inputs[0].dtype && onHeap(t.dtype))) {
    return callOriginal(Concat, args, 'not two or more float32 or int32 tensors of one dtype');
  }
  const $axis = util.parseAxisParam(axis, inputs[0].shape)[0];
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), $axis);
  const outShape = backend_util.computeOutShape(inputs.map((t) => t.shape), $axis);
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const rows = util.sizeFromShape(outShape.slice(0, $axis));
  const widths = inputs.map((t) => util.sizeFromShape(t.shape.slice($axis)));
  const outWidth = widths.reduce((a, b) => a + b, 0);
  let offset = 0;
  inputs.forEach((t, i) => {
    copyTensorRows(backend, t, 0, widths[i], out, offset, outWidth, rows, widths[i]);
    offset += widths[i];
  });
  return out;
}

export function splitVWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const x = args.inputs.x as Info;
  const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
  if (!onHeap(x.dtype)) return callOriginal(SplitV, args, `dtype ${x.dtype} is not on the heap`) as unknown as Info[];
  const $axis = util.parseAxisParam(axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const rows = util.sizeFromShape(x.shape.slice(0, $axis));
  const inner = util.sizeFromShape(x.shape.slice($axis + 1));
  const xWidth = x.shape[$axis] * inner;
  const outs = sizes.map((s) => {
    const shape = [...x.shape];
    shape[$axis] = s;
    return backend.makeOutput(shape, x.dtype);
  });
  let offset = 0;
  outs.forEach((out, i) => {
    const width = sizes[i] * inner;
    copyTensorRows(backend, x, offset, xWidth, out, 0, width, rows, width);
    offset += width;
  });
  return outs;
}

export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'wasm',
  kernelFunc: concatWasm as unknown as KernelFunc,
};

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'wasm',
  kernelFunc: splitVWasm as unknown as KernelFunc,
};
