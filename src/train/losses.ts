// Training-time metric of the study: Keras-style soft Dice over a batch, all pixels and classes.

import * as tf from '@tensorflow/tfjs-core';

/** 2·Σ(yTrue·yPred) / (Σ yTrue + Σ yPred): the number the study called MeanDice. */
export function softDice(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const intersection = tf.sum(tf.mul(yTrue, yPred));
    const total = tf.add(tf.sum(yTrue), tf.sum(yPred));
    return tf.div(tf.mul(2, intersection), tf.maximum(total, 1e-7));
  });
}
