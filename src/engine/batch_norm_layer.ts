// Routes tfjs-layers' BatchNormalization, in training, through leukoseg's fused kernel (see
// kernels/batch_norm_training.ts) wherever that kernel is registered for the active backend. Done on
// the class itself rather than with a layer class of our own, so every model (built here, loaded from
// a file, the study's or the U-Nets) trains the same way and saves as plain Keras BatchNormalization.
// Inference and the cases the kernel does not take (another axis, no centre or scale, other dtypes)
// go through tfjs-layers' own code unchanged.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_TRAINING } from './kernels/batch_norm_training.js';

/** The parts of tfjs-layers' BatchNormalization that the fused path reads. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Variable } | null;
  beta: { read(): tf.Variable } | null;
  movingMean: { read(): tf.Variable; write(value: tf.Tensor): void };
  movingVariance: { read(): tf.Variable; write(value: tf.Tensor): void };
}

type Call = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
const ORIGINAL = Symbol.for('leukoseg.engine.batchNormOriginalCall');

function layerPrototype(): { call: Call; [ORIGINAL]?: Call } {
  // tfjs-layers exports a factory, not the class: its prototype is the class's.
  return Object.getPrototypeOf(tfl.layers.batchNormalization({})) as { call: Call; [ORIGINAL]?: Call };
}

function fusedApplies(layer: BatchNormLayer, input: tf.Tensor, kwargs: Record<string, unknown>): boolean {
  const lastAxis = layer.axis === -1 || layer.axis === input.rank - 1;
  return (
    kwargs.training === true &&
    lastAxis &&
    layer.center && layer.scale &&
    input.dtype === 'float32' && input.size > 0 &&
    tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined
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

/** Installs the fused training path on BatchNormalization (idempotent). */
export function useFusedBatchNorm(): void {
  const proto = layerPrototype();
  if (proto[ORIGINAL] !== undefined) return;
  const original = proto.call;
  proto[ORIGINAL] = original;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const single = !Array.isArray(inputs) || inputs.length === 1;
    if (single && fusedApplies(this, input, kwargs ?? {})) return fusedTrainingCall.call(this, input);
    return original.call(this, inputs, kwargs);
  };
}

/** Puts tfjs-layers' own BatchNormalization.call back (for comparisons). */
export function useLayersBatchNorm(): void {
  const proto = layerPrototype();
  const original = proto[ORIGINAL];
  if (original === undefined) return;
  proto.call = original;
  delete proto[ORIGINAL];
}
