// A convolution layer with bias and ReLU in training as one kernel forward and one (plus the input's
// gradient, when the tape needs it) backward, added under names of leukoseg's own. tfjs runs such a
// layer unfused while a gradient is being recorded (Conv2D, Add, Relu; then the Relu gradient, a Sum
// for the bias, both convolution gradients): here oneDNN applies bias and ReLU inside the forward
// convolution, and one native call masks dy by the ReLU and computes the filter and bias gradients.
// src/engine/fused_layers.ts routes tfjs-layers' Conv2D through it while training, with the addon.
//
//   const y = tf.engine().runKernel(CONV2D_RELU_TRAINING, { x, filter, bias }, { strides, pad });
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D, Sum, util } from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import { conv2DLayerGradNative, conv2DReluFilterGradNative, fusedConv2DNative } from './native_conv.js';
import type { BackendWasm, Info, WasmKernelArgs } from './scratch.js';

export const CONV2D_RELU_TRAINING = 'LeukosegConv2DReluTraining';
export const CONV2D_RELU_TRAINING_GRAD = 'LeukosegConv2DReluTrainingGrad';
export const CONV2D_LAYER_GRAD = 'LeukosegConv2DLayerGrad';

export interface Conv2DReluAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /**
   * Whether the input's gradient will be wanted (the input came from the tape, not from outside it): then
   * the backward computes it in the same call as the filter's. Without it, only when the tape asks.
   */
  inputGradient?: boolean;
  /** 'linear' for a layer without activation (or whose activation tfjs-layers applies after); default 'relu'. */
  activation?: 'relu' | 'linear';
}

function fusedAttrs(attrs: Conv2DReluAttrs): NamedAttrMap {
  return { ...attrs, dataFormat: 'NHWC', dilations: [1, 1], activation: attrs.activation ?? 'relu' } as unknown as NamedAttrMap;
}

/** y = relu(conv(x, filter) + bias) (or without the ReLU), NHWC, dilation 1; the bias is optional. */
export function conv2DReluTrainingWasm(args: WasmKernelArgs): Info {
  const fused = { ...args, attrs: fusedAttrs(args.attrs as unknown as Conv2DReluAttrs) };
  // Outside oneDNN's path the shipped XNNPACK kernel does the same in one call.
  return fusedConv2DNative(fused) ?? callOriginal(FusedConv2D, fused, 'the native kernels are off or cannot take this input');
}

/** The layer's geometry, as tfjs computes it. */
function convInfo(x: Info, filterShape: number[], attrs: Conv2DReluAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
}

/** The same outputs as the native call, from the wasm backend's kernels: for geometries oneDNN does not take. */
function filterGradComposed(backend: BackendWasm, x: Info, dy: Info, y: Info, attrs: Conv2DReluAttrs, filterShape: number[], withBias: boolean): Info[] {
  const g = backend.makeOutput(dy.shape, 'float32');
  const [gv, dyv, yv] = [g, dy, y].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  for (let i = 0; i < gv.length; i++) gv[i] = yv[i] > 0 ? dyv[i] : 0;
  const run = (name: string, inputs: tf.NamedTensorInfoMap, kernelAttrs: object) =>
    tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, backend, attrs: kernelAttrs as NamedAttrMap }) as Info;
  const dw = run(Conv2DBackpropFilter, { x, dy: g }, { ...attrs, dataFormat: 'NHWC', filterShape });
  return withBias ? [g, dw, run(Sum, { x: g }, { axis: [0, 1, 2], keepDims: false })] : [g, dw];
}

/** [g, dFilter, dBias?] from dy, x and y = the forward's output; attrs add filterShape and hasBias. */
export function conv2DReluTrainingGradWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const { x, dy, y } = args.inputs as Record<string, Info>;
  const attrs = args.attrs as unknown as Conv2DReluAttrs & { filterShape: number[]; hasBias: boolean };
  checkGradInputs(CONV2D_RELU_TRAINING_GRAD, x, dy, y);
  const info = convInfo(x, attrs.filterShape, attrs);
  return conv2DReluFilterGradNative(backend, x, dy, y, info, attrs.hasBias) ??
    filterGradComposed(backend, x, dy, y, attrs, attrs.filterShape, attrs.hasBias);
}

function checkGradInputs(kernel: string, x: Info, dy: Info, y: Info): void {
  for (const t of [x, dy, y]) {
    if (t.dtype !== 'float32' || t.shape.length !== 4) throw new Error(`${kernel}: needs float32 NHWC tensors, got ${t.dtype} ${JSON.stringify(t.shape)}`);
  }
  if (!util.arraysEqual(dy.shape, y.shape)) throw new Error(`${kernel}: dy ${JSON.stringify(dy.shape)} and y ${JSON.stringify(y.shape)} differ`);
}

/**
 * [dFilter, dBias?, dx] from dy, x and the filter, and through the ReLU (activation 'relu', the default)
 * y = the forward's output; attrs add hasBias.
 */
export function conv2DLayerGradWasm(args: WasmKernelArgs): Info[] {
  const { backend } = args;
  const { x, dy, filter } = args.inputs as Record<string, Info>;
  const attrs = args.attrs as unknown as Conv2DReluAttrs & { hasBias: boolean };
  const relu = (attrs.activation ?? 'relu') === 'relu';
  const y = relu ? (args.inputs.y as Info) : null;
  checkGradInputs(CONV2D_LAYER_GRAD, x, dy, y ?? dy);
  const info = convInfo(x, filter.shape, attrs);
  const fused = conv2DLayerGradNative(backend, x, dy, y, filter, info, attrs.hasBias);
  if (fused !== null) return fused;
  const run = (name: string, inputs: tf.NamedTensorInfoMap, kernelAttrs: object) =>
    tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, backend, attrs: kernelAttrs as NamedAttrMap }) as Info;
  const geometry = { strides: attrs.strides, pad: attrs.pad, dimRoundingMode: attrs.dimRoundingMode, dataFormat: 'NHWC' };
  const [g, ...filterGrads] = y !== null
    ? filterGradComposed(backend, x, dy, y, attrs, filter.shape, attrs.hasBias)
    : [dy, run(Conv2DBackpropFilter, { x, dy }, { ...geometry, filterShape: filter.shape }),
      ...(attrs.hasBias ? [run(Sum, { x: dy }, { axis: [0, 1, 2], keepDims: false })] : [])];
  const dx = run(Conv2DBackpropInput, { dy: g, filter }, { ...geometry, inputShape: x.shape });
  if (y !== null) backend.disposeData(g.dataId);
  return [...filterGrads, dx];
}

export const conv2DReluTrainingConfig: KernelConfig = {
  kernelName: CONV2D_RELU_TRAINING,
  backendName: 'wasm',
  kernelFunc: conv2DReluTrainingWasm as unknown as KernelFunc,
};

export const conv2DReluTrainingGradConfig: KernelConfig = {
  kernelName: CONV2D_RELU_TRAINING_GRAD,
  backendName: 'wasm',
  kernelFunc: conv2DReluTrainingGradWasm as unknown as KernelFunc,
};

export const conv2DLayerGradConfig: KernelConfig = {
  kernelName: CONV2D_LAYER_GRAD,
  backendName: 'wasm',
  kernelFunc: conv2DLayerGradWasm as unknown as KernelFunc,
};

/**
 * Where the forward said the input's gradient will be wanted (inputGradient), all three gradients come
 * from one call. Otherwise the filter and bias gradients come from one call and the input's (a second
 * call on the masked dy) only when the tape asks for it: never for a network's first layer, whose
 * input is the image.
 */
export const conv2DReluTrainingGradient: GradConfig = {
  kernelName: CONV2D_RELU_TRAINING,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: NamedAttrMap) => {
    const [x, filter, y] = saved;
    const a = attrs as unknown as Conv2DReluAttrs & { hasBias?: boolean };
    const hasBias = a.hasBias === true;
    const geometry = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode };
    const relu = (a.activation ?? 'relu') === 'relu';
    if (a.inputGradient === true) {
      const grads = tf.engine().runKernel(CONV2D_LAYER_GRAD, relu ? { x, dy: dy as tf.Tensor, y, filter } : { x, dy: dy as tf.Tensor, filter },
        { ...geometry, hasBias, activation: relu ? 'relu' : 'linear' } as unknown as NamedAttrMap) as tf.Tensor[];
      const dx = grads[grads.length - 1];
      return { x: () => dx, filter: () => grads[0], ...(hasBias ? { bias: () => grads[1] } : {}) };
    }
    if (!relu) {
      // A first layer without activation: tfjs's gradients of conv2d and the bias's add.
      const convAttrs = { ...geometry, dataFormat: 'NHWC' };
      return {
        x: () => tf.engine().runKernel(Conv2DBackpropInput, { dy: dy as tf.Tensor, filter }, { ...convAttrs, inputShape: x.shape } as unknown as NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(Conv2DBackpropFilter, { x, dy: dy as tf.Tensor }, { ...convAttrs, filterShape: filter.shape } as unknown as NamedAttrMap) as tf.Tensor,
        ...(hasBias ? { bias: () => tf.sum(dy as tf.Tensor, [0, 1, 2]) } : {}),
      };
    }
    // Computed here, not in the closures: the tape runs each closure in a tidy of its own.
    const [g, dFilter, dBias] = tf.engine().runKernel(
      CONV2D_RELU_TRAINING_GRAD,
      { x, dy: dy as tf.Tensor, y },
      { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, filterShape: filter.shape, hasBias } as unknown as NamedAttrMap,
    ) as tf.Tensor[];
    const inputShape = x.shape;
    return {
      x: () => tf.engine().runKernel(Conv2DBackpropInput, { dy: g, filter },
        { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dataFormat: 'NHWC', inputShape } as unknown as NamedAttrMap) as tf.Tensor,
      filter: () => dFilter,
      ...(hasBias ? { bias: () => dBias } : {}),
    };
  },
};
