// Conv2D and FusedConv2D for the wasm backend: oneDNN when the native kernels are in use, else the
// shipped XNNPACK ones.
import { Conv2D, FusedConv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { conv2DNative, fusedConv2DNative } from './native_conv.js';
import type { Info, WasmKernelArgs } from './scratch.js';

function nativeOrShipped(kernelName: string, native: (args: WasmKernelArgs) => Info | null): KernelConfig {
  const kernelFunc = (args: WasmKernelArgs): Info =>
    native(args) ?? callOriginal(kernelName, args, 'the native kernels are off or cannot take this input');
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc };
}

export const conv2DConfig = nativeOrShipped(Conv2D, conv2DNative);
export const fusedConv2DConfig = nativeOrShipped(FusedConv2D, fusedConv2DNative);
