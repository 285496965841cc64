// Add, Sub, Multiply and RealDiv for wasm when one operand repeats along the
// leading axes (x - mean, dy * gamma in BatchNorm): expand it, then go same-shape.
import { Add, backend_util, Multiply, RealDiv, Sub, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import { withScratch } from './scratch.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/**
 * How many times `small` repeats to fill `full`, when `small` (right-aligned)
 * is 1 on some leading axes and equal to `full` on the rest; else 0.
 */
export function leadingRepeats(small: number[], full: number[]): number {
  const offset = full.length - small.length;
  if (offset < 0) return 0;
  let k = 0;
  while (k < full.length && (k < offset || small[k - offset] === 1)) k++;
  // Past the leading 1s every remaining axis must match exactly.
  for (let i = Math.max(k, offset); i < full.length; i++) {
    if (small[i - offset] !== full[i]) return 0;
  }
  return util.sizeFromShape(full.slice(0, k));
}

const NATIVE_OPS: Record<string, 0 | 1 | 2 | 3> = { [Add]: 0, [Sub]: 1, [Multiply]: 2, [RealDiv]: 3 };

/**
 * With the native kernels: same shapes, a scalar, or one operand repeated along the other's leading
 * axes, in one multi-threaded pass; null for anything else (other dtypes or broadcasts).
 */
function binaryNative(kernelName: string, backend: WasmKernelArgs['backend'], a: Info, b: Info): Info | null {
  const native = nativeModule();
  if (native === null || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const sizeA = util.sizeFromShape(a.shape);
  const sizeB = util.sizeFromShape(b.shape);
  if (sizeA === 0 || sizeB === 0) return null;
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  } catch {
    return null; // the shipped kernel reports the shape error
  }
  const total = util.sizeFromShape(outShape);
  // An operand as large as the output is laid out as the output (broadcasting only adds size); a
  // smaller one must be a scalar or repeat along leading axes, so that index i reads i mod its size.
  const fits = (x: Info, size: number) => size === total || size === 1 || leadingRepeats(x.shape, outShape) > 1;
  if (!(sizeA === total || sizeB === total) || !fits(a, sizeA) || !fits(b, sizeB)) return null;
  const out = backend.makeOutput(outShape, 'float32');
  native.binary(NATIVE_OPS[kernelName], heapOf(backend), Int32Array.from([offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), total, sizeA, sizeB]));
  return out;
}

/**
 * XNNPACK's same-shape binary ops run ~7x faster than tfjs-backend-wasm's
 * broadcasting loop, so writing out the repeated operand (a memcpy doubling
 * on the heap) and running the same-shape op is 2-3x faster overall, and
 * bit-identical. Other broadcasts, scalars (already fast) and non-float32
 * inputs go to the shipped kernel.
 */
function broadcastBinary(kernelName: string): KernelFunc {
  const kernelFunc = (args: WasmKernelArgs): Info => {
    const a = args.inputs.a as Info;
    const b = args.inputs.b as Info;
    const viaNative = binaryNative(kernelName, args.backend, a, b);
    if (viaNative !== null) return viaNative;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || util.arraysEqual(a.shape, b.shape)) {
      return callOriginal(kernelName, args, 'same-shape or non-float32 inputs');
    }
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const expandA = util.arraysEqual(b.shape, outShape);
    const [small, full] = expandA ? [a, b] : [a, b].reverse() as [Info, Info];
    const repeats = util.arraysEqual(full.shape, outShape) ? leadingRepeats(small.shape, outShape) : 0;
    const block = util.sizeFromShape(small.shape);
    if (repeats < 2 || block < 4) {
      return callOriginal(kernelName, args, 'no fast path for this broadcast');
    }
    return withScratch(args.backend, (s) => {
      const expanded = s.output(outShape);
      const dst = s.view(expanded);
      dst.set(s.view(small));
      const total = block * repeats;
      for (let filled = block; filled < total; filled *= 2) {
        dst.copyWithin(filled, 0, Math.min(filled, total - filled));
      }
      const inputs = expandA ? { a: expanded, b } : { a, b: expanded };
      return s.track(callOriginal(kernelName, { ...args, inputs }, 'same-shape inputs'));
    });
  };
  return kernelFunc as unknown as KernelFunc;
}

export const broadcastBinaryConfigs: KernelConfig[] = [Add, Sub, Multiply, RealDiv].map((kernelName) => ({
  kernelName,
  backendName: 'wasm',
  kernelFunc: broadcastBinary(kernelName),
}));
