// Routes three pieces of tfjs-layers through leukoseg's fused kernels wherever those are registered for
// the active backend: BatchNormalization in training (kernels/batch_norm_training.ts), Conv2D in
// training (kernels/conv_relu_training.ts: the ReLU fused, any other activation applied after as
// tfjs-layers does; every gradient of a layer in one call) and the L2 weight penalty of the L1L2 regularizer
// (kernels/l2_penalty.ts). In training, a 5x5 (or larger) Conv2D whose input is an UpSampling2D's 2x
// nearest output convolves the small image as four phases instead (upsampled_conv.ts; on every
// backend), and a 1x1 one convolves the small image and up-samples its output. Done on the classes themselves
// rather than with classes of our own, so every model (built here, loaded from a file, the study's or
// the U-Nets) trains the same way and saves as plain Keras layers. Inference and the cases the kernels
// do not take (another axis, no centre or scale, an L1 term, other dtypes, dilated or channels-first
// convolutions, other activations) run tfjs-layers' own code.
// Installed only when the engine is initialised for training: importing leukoseg changes nothing.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_TRAINING } from './kernels/batch_norm_training.js';
import { CONV2D_RELU_TRAINING } from './kernels/conv_relu_training.js';
import { L2_PENALTY } from './kernels/l2_penalty.js';
import { nativeModule } from './kernels/native_conv.js';
import { simdKernels } from './kernels/simd.js';
import { activeBackendHas } from './kernels/scratch.js';
import { batchNormPrototype, l1l2Prototype, producedOnActiveTape, upSamplingPrototype, type BatchNormLayer, type L1L2Regularizer, type UpSamplingLayer } from './tfjs-internals.js';
import { phaseBias, phaseFilter, phasesPay, phasesToImage } from './upsampled_conv.js';
import { useClonedSavedTensors, useSharedSavedTensors } from './saved_tensors.js';

type Call = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
type ConvCall = (this: object, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
type UpSamplingCall = (this: object, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
type Apply = (this: L1L2Regularizer, x: tf.Tensor) => tf.Tensor;

function fusedApplies(layer: BatchNormLayer, input: tf.Tensor, kwargs: Record<string, unknown>): boolean {
  const lastAxis = layer.axis === -1 || layer.axis === input.rank - 1;
  return (
    kwargs.training === true &&
    lastAxis &&
    layer.center && layer.scale &&
    input.dtype === 'float32' && input.size > 0 &&
    activeBackendHas(BATCH_NORM_TRAINING) &&
    // Without the addon or the SIMD kernels, the kernel's JS loops took 10.6 ms per Model 3 training
    // image and the step gained nothing over tfjs's WebAssembly kernels (71.0 against 70.4 ms per image).
    (nativeModule() !== null || simdKernels() !== null)
  );
}

function fusedTrainingCall(this: BatchNormLayer, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [y, , , newMovingMean, newMovingVariance] = tf.engine().runKernel(
      BATCH_NORM_TRAINING,
      {
        x: input,
        scale: this.gamma!.read(),
        offset: this.beta!.read(),
        movingMean: this.movingMean.read(),
        movingVariance: this.movingVariance.read(),
      },
      { epsilon: this.epsilon, momentum: this.momentum },
    ) as tf.Tensor[];
    this.movingMean.write(newMovingMean);
    this.movingVariance.write(newMovingVariance);
    return y;
  });
}

/**
 * The fields of a tfjs-layers Conv2D that the fused path reads (protected in tfjs-layers). Checked
 * on every call: where a tfjs release lacks one, the layer runs tfjs-layers' own code.
 */
interface ConvLayer {
  rank: number;
  dataFormat: string;
  padding: string;
  strides: number[];
  dilationRate: number[];
  activation: { getClassName(): string; apply(x: tf.Tensor): tf.Tensor } | null;
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
}

const conv2dPrototype = (): object => Object.getPrototypeOf(tfl.layers.conv2d({ filters: 1, kernelSize: 1 }));

/**
 * Whether the layer is a 2-D, channels-last, undilated Conv2D with the fields a routed call reads
 * (kernel, bias, activation, integer strides; with `unitStride`, stride 1): what every path below needs.
 */
function routableConv(layer: Partial<ConvLayer>, unitStride: boolean): layer is ConvLayer {
  const pair = (v: unknown): v is number[] => Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n));
  return layer.rank === 2 && layer.dataFormat === 'channelsLast' &&
    pair(layer.strides) && (!unitStride || layer.strides.every((s) => s === 1)) &&
    pair(layer.dilationRate) && layer.dilationRate.every((d) => d === 1) &&
    typeof layer.activation?.getClassName === 'function' && typeof layer.activation.apply === 'function' &&
    typeof layer.kernel?.read === 'function' && (layer.bias === null || typeof layer.bias?.read === 'function');
}

/** The layer as a ConvLayer when its call can be the fused kernel's, else null. */
function fusedConv(layer: Partial<ConvLayer>, input: tf.Tensor, kwargs: Record<string, unknown>): ConvLayer | null {
  const ok =
    kwargs.training === true && routableConv(layer, false) && (layer.padding === 'same' || layer.padding === 'valid') &&
    input.dtype === 'float32' && input.rank === 4 && input.size > 0 &&
    activeBackendHas(CONV2D_RELU_TRAINING) &&
    // Only the addon fuses bias and ReLU into the convolution; WebAssembly alone gains nothing.
    nativeModule() !== null;
  return ok ? (layer as ConvLayer) : null;
}

/** The small image of each UpSampling2D output made in training (2x, nearest, channels last), for the Conv2D after it. */
const upSampledFrom = new WeakMap<tf.Tensor, tf.Tensor>();

function recordsUpSampling(layer: Partial<UpSamplingLayer>, input: tf.Tensor, kwargs: Record<string, unknown>): boolean {
  return kwargs.training === true && Array.isArray(layer.size) && layer.size.length === 2 && layer.size.every((n) => n === 2) &&
    layer.interpolation === 'nearest' && layer.dataFormat === 'channelsLast' && input.rank === 4 && input.dtype === 'float32';
}

/** The kernel's square side when the layer is a routable stride-1 Conv2D, else null. */
function unitStrideKernelSide(layer: Partial<ConvLayer>): number | null {
  if (!routableConv(layer, true)) return null;
  const kernel = layer.kernel.read();
  return kernel.rank === 4 && kernel.shape[0] === kernel.shape[1] ? kernel.shape[0] : null;
}

/** The layer as a ConvLayer when it can convolve `small`, the image its input was up-sampled from, as phases; else null. */
function phaseConvLayer(layer: Partial<ConvLayer>, small: tf.Tensor | undefined, kwargs: Record<string, unknown>): ConvLayer | null {
  if (small === undefined || small.isDisposed || kwargs.training !== true || layer.padding !== 'same') return null;
  const side = unitStrideKernelSide(layer);
  return side !== null && phasesPay(side) ? (layer as ConvLayer) : null;
}

/** Whether the layer is a 1x1 convolution with stride 1 (and no dilation: channels last, as UpSampling2D's are). */
function pointwise(layer: Partial<ConvLayer>): boolean {
  return unitStrideKernelSide(layer) === 1;
}

/** The layer's output from the small image, as four phases (see upsampled_conv.ts). */
function phaseConvCall(layer: ConvLayer, small: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const filter = phaseFilter(layer.kernel.read() as tf.Tensor4D);
    const bias = layer.bias ? phaseBias(layer.bias.read() as tf.Tensor1D) : undefined;
    const name = layer.activation!.getClassName();
    const activation = name === 'relu' ? 'relu' : 'linear';
    const x = small as tf.Tensor4D;
    const phases = activeBackendHas(CONV2D_RELU_TRAINING) && nativeModule() !== null
      ? tf.engine().runKernel(
        CONV2D_RELU_TRAINING,
        bias ? { x, filter, bias } : { x, filter },
        { strides: [1, 1], pad: 'same', hasBias: bias !== undefined, inputGradient: producedOnActiveTape(small), activation } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor4D
      : tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation });
    const y = phasesToImage(phases);
    return name === activation ? y : layer.activation!.apply(y);
  });
}

function fusedConvCall(layer: ConvLayer, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const filter = layer.kernel.read();
    const bias = layer.bias?.read();
    const activation = layer.activation!.getClassName();
    const relu = activation === 'relu';
    const y = tf.engine().runKernel(
      CONV2D_RELU_TRAINING,
      bias ? { x: input, filter, bias } : { x: input, filter },
      // A layer whose input came out of the tape (not the image) gets all its gradients in one call.
      {
        strides: layer.strides, pad: layer.padding, hasBias: bias !== undefined, inputGradient: producedOnActiveTape(input),
        activation: relu ? 'relu' : 'linear',
      } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
    return relu || activation === 'linear' ? y : layer.activation!.apply(y);
  });
}

function l2Penalty(this: L1L2Regularizer, x: tf.Tensor, original: Apply): tf.Tensor {
  if (this.hasL1 || x.dtype !== 'float32' || !activeBackendHas(L2_PENALTY)) return original.call(this, x);
  return tf.engine().runKernel(L2_PENALTY, { x }, { l2: this.l2 }) as tf.Tensor;
}

type Method = (this: never, ...args: never[]) => unknown;
type Prototype = Record<string | symbol, unknown>;

// One global symbol per method name, so the original of each patched method is kept apart (two
// methods of one prototype cannot overwrite each other's) and a second copy of this module finds it.
const originalOf = (key: string): symbol => Symbol.for(`leukoseg.engine.original.${key}`);

/** Replaces `proto[key]` by `make(original)` once; the original is kept under a symbol of its own method name. */
export function patch<F extends Method>(proto: object, key: string, make: (original: F) => F): void {
  const p = proto as Prototype;
  const saved = originalOf(key);
  if (Object.prototype.hasOwnProperty.call(p, saved)) return;
  p[saved] = p[key];
  p[key] = make(p[key] as F);
}

/** Puts back the original of `proto[key]`, if patch replaced it. */
export function unpatch(proto: object, key: string): void {
  const p = proto as Prototype;
  const saved = originalOf(key);
  if (!Object.prototype.hasOwnProperty.call(p, saved)) return;
  p[key] = p[saved];
  delete p[saved];
}

/**
 * Installs the fused paths, and the engine's saving of tensors for gradients without clones
 * (saved_tensors.ts), idempotently. initEngine({ training: true }) calls it.
 */
export function useFusedLayers(): void {
  useSharedSavedTensors();
  patch<Call>(batchNormPrototype(), 'call', (original) =>
    function (this: BatchNormLayer, inputs, kwargs) {
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      const single = !Array.isArray(inputs) || inputs.length === 1;
      if (single && fusedApplies(this, input, kwargs ?? {})) return fusedTrainingCall.call(this, input);
      return original.call(this, inputs, kwargs);
    });
  patch<UpSamplingCall>(upSamplingPrototype(), 'call', (original) =>
    function (this: object, inputs, kwargs) {
      const output = original.call(this, inputs, kwargs);
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      if (recordsUpSampling(this as Partial<UpSamplingLayer>, input, kwargs ?? {})) upSampledFrom.set(output, input);
      return output;
    });
  patch<ConvCall>(conv2dPrototype(), 'call', (original) =>
    function call(this: object, inputs, kwargs): tf.Tensor {
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      const single = !Array.isArray(inputs) || inputs.length === 1;
      const small = single ? upSampledFrom.get(input) : undefined;
      const phased = phaseConvLayer(this as Partial<ConvLayer>, small, kwargs ?? {});
      if (phased) return phaseConvCall(phased, small!);
      // A 1x1 convolution (and its activation: per pixel) of an up-sampling is the up-sampling of its
      // output on the small image (each output pixel the same sum of products); its gradients then run
      // on a quarter of the pixels.
      if (small !== undefined && !small.isDisposed && pointwise(this as Partial<ConvLayer>)) {
        const [, h, w] = input.shape;
        return tf.tidy((): tf.Tensor => tf.image.resizeNearestNeighbor(call.call(this, small, kwargs) as tf.Tensor4D, [h!, w!]));
      }
      const layer = single ? fusedConv(this as Partial<ConvLayer>, input, kwargs ?? {}) : null;
      return layer ? fusedConvCall(layer, input) : original.call(this, inputs, kwargs);
    });
  patch<Apply>(l1l2Prototype(), 'apply', (original) =>
    function (this: L1L2Regularizer, x: tf.Tensor) {
      return l2Penalty.call(this, x, original);
    });
}

/** Puts tfjs-layers' own methods and tfjs-core's saving of tensors back (for comparisons). */
export function useLayersAsShipped(): void {
  useClonedSavedTensors();
  unpatch(batchNormPrototype(), 'call');
  unpatch(conv2dPrototype(), 'call');
  unpatch(upSamplingPrototype(), 'call');
  unpatch(l1l2Prototype(), 'apply');
}
