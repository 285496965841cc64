// Keeps the shipped wasm kernels that leukoseg replaces, so a replacement can
// hand inputs outside its fast path back to the original implementation.
import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { Info, WasmKernelArgs } from './scratch.js';

const originals = new Map<string, KernelFunc>();

export function keepOriginal(kernelName: string, kernelFunc: KernelFunc | undefined): void {
  if (kernelFunc == null) {
    originals.delete(kernelName);
  } else {
    originals.set(kernelName, kernelFunc);
  }
}

export function callOriginal(kernelName: string, args: WasmKernelArgs, why: string): Info {
  const kernelFunc = originals.get(kernelName);
  if (kernelFunc == null) {
    throw new Error(`leukoseg wasm ${kernelName}: ${why}, and no shipped kernel is registered to fall back on`);
  }
  return kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as Info;
}
