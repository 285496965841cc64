// Conv2D and FusedConv2D for the wasm backend: oneDNN when the native kernels are in use, else the
// shipped XNNPACK ones.
import { Conv2D, FusedConv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { conv2DNative, fusedConv2DNative } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';

export function conv2DWasm(args: WasmKernelArgs): Info {
  return conv2DNative(args) ?? callOriginal(Conv2D, args, 'the native kernels are off or cannot take this input');
}

export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'wasm',
  kernelFunc: conv2DWasm as unknown as KernelFunc,
};

export function fusedConv2DWasm(args: WasmKernelArgs): Info {
  return fusedConv2DNative(args) ?? callOriginal(FusedConv2D, args, 'the native kernels are off or cannot take this input');
}

export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'wasm',
  kernelFunc: fusedConv2DWasm as unknown as KernelFunc,
};
