// FusedBatchNorm (normalising with a given mean and variance) for the wasm backend: native on both
// cores when the addon is in use and each per-channel input holds one value per channel or one for
// all; the shipped single-threaded kernel otherwise.
import { FusedBatchNorm, util } from '@tensorflow/tfjs-core';
import type { FusedBatchNormAttrs, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';

export function fusedBatchNormWasm(args: WasmKernelArgs): Info {
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, Info | undefined>;
  const { varianceEpsilon } = args.attrs as unknown as FusedBatchNormAttrs;
  const channels = x!.shape.length > 0 ? x!.shape[x!.shape.length - 1] : 1;
  const total = util.sizeFromShape(x!.shape);
  const inputs = [mean, variance, offset, scale];
  const sizes = inputs.map((t) => (t === undefined ? 0 : util.sizeFromShape(t.shape)));
  const handled =
    x!.dtype === 'float32' && total > 0 && channels > 0 &&
    inputs.every((t, k) => t === undefined || (t.dtype === 'float32' && (sizes[k] === channels || sizes[k] === 1)));
  const native = nativeModule();
  if (!handled || native === null) {
    return callOriginal(FusedBatchNorm, args, 'the native kernels are off or the inputs have other shapes');
  }
  const { backend } = args;
  const out = backend.makeOutput(x!.shape, 'float32');
  const at = (t: Info | undefined) => (t === undefined ? -1 : offsetOf(backend, t));
  native.batchNorm(
    heapOf(backend),
    Int32Array.from([at(x), at(mean), at(variance), at(offset), at(scale), offsetOf(backend, out), total, channels, ...sizes]),
    varianceEpsilon,
  );
  return out;
}

export const batchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: 'wasm',
  kernelFunc: fusedBatchNormWasm as unknown as KernelFunc,
};
