// The gradient of Relu as one threaded native pass: dy where x > 0, else 0. tfjs-core's is three
// kernels (Step, Cast, Multiply) over the whole activation, and tfjs-layers' convolutions run Relu
// unfused whenever a gradient is being recorded. Registered for every backend, the gradient keeps
// tfjs-core's formula where the addon is not in use.
import * as tf from '@tensorflow/tfjs-core';
import { Relu, util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { heapOf, nativeModule, offsetOf } from './native_conv.js';
import { activeBackendHas, type Info, type WasmKernelArgs } from './scratch.js';

export const RELU_GRAD = 'LeukosegReluGrad';

export function reluGradWasm(args: WasmKernelArgs): Info {
  const { backend } = args;
  const { dy, x } = args.inputs as Record<string, Info>;
  if (!util.arraysEqual(dy.shape, x.shape) || dy.dtype !== 'float32' || x.dtype !== 'float32') {
    throw new Error(`${RELU_GRAD}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} must be float32 of one shape`);
  }
  const native = nativeModule();
  // The gradient below only comes here with the addon; a JS loop lost to tfjs's own kernels.
  if (native === null) throw new Error(`${RELU_GRAD}: needs the native addon (leukoseg's engine with native kernels)`);
  const dx = backend.makeOutput(x.shape, 'float32');
  const total = util.sizeFromShape(x.shape);
  if (total > 0) {
    native.binary(4, heapOf(backend), Int32Array.from([offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, dx), total, total, total]));
  }
  return dx;
}

export const reluGradConfig: KernelConfig = { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGradWasm as unknown as KernelFunc };

export const reluGradient: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    return {
      x: () =>
        // Without the addon a JS loop took 4.1 ms per Model 3 training image, tfjs's three WebAssembly
        // kernels (Step, Cast, Multiply) under 1 ms.
        activeBackendHas(RELU_GRAD) && nativeModule() !== null && x.dtype === 'float32'
          ? (tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor)
          : tf.mul(g, tf.cast(tf.step(x), 'float32')),
    };
  },
};
