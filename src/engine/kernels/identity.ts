// Identity for wasm that shares the input's heap buffer, as the cpu backend
// does, instead of copying it: tfjs clones every tensor saved for backprop.
import { Identity } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/**
 * Tensors are immutable and the wasm backend reference-counts buffers (its
 * Reshape already shares them), so a clone can be another reference. Saves
 * ~190 copies per Model 3 training step. Strings live outside the heap and
 * keep the shipped path.
 */
export function identityWasm(args: WasmKernelArgs): Info {
  const x = args.inputs.x as Info;
  if (x.dtype === 'string') {
    return callOriginal(Identity, args, 'strings are not on the heap');
  }
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identityWasm as unknown as KernelFunc,
};
