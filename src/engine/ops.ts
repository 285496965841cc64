// Ops of the training step that run as one kernel of leukoseg's own where the active backend has it
// (wasm, after initEngine) and as tfjs composes them elsewhere, with the same result either way.
import * as tf from '@tensorflow/tfjs-core';
import { CATEGORICAL_CROSSENTROPY } from './kernels/cross_entropy.js';
import { activeBackendHas } from './kernels/scratch.js';

/**
 * Keras's categorical cross-entropy per pixel (tfjs-layers' 'categoricalCrossentropy' loss): outputs
 * rescaled to sum to 1 over the last axis and clipped to [epsilon, 1 - epsilon].
 */
export function categoricalCrossentropy(target: tf.Tensor, output: tf.Tensor): tf.Tensor {
  const epsilon = tf.backend().epsilon();
  return tf.tidy(() => {
    const t = tf.cast(target, 'float32');
    if (activeBackendHas(CATEGORICAL_CROSSENTROPY) && output.dtype === 'float32') {
      return tf.engine().runKernel(CATEGORICAL_CROSSENTROPY, { target: t, output }, { epsilon }) as tf.Tensor;
    }
    const q = tf.clipByValue(tf.div(output, tf.sum(output, -1, true)), epsilon, 1 - epsilon);
    return tf.neg(tf.sum(tf.mul(t, tf.log(q)), -1));
  });
}
