// Add, Sub, Multiply and RealDiv for wasm when one operand repeats along the
// leading axes (x - mean, dy * gamma in BatchNorm): expand it, then go same-shape.
import { Add, backend_util, Multiply, RealDiv, Sub, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
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
