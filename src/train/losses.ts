// Training-time metric of the study: Keras-style soft Dice over a batch, all pixels and classes.

import * as tf from '@tensorflow/tfjs-core';
import { categoricalCrossentropy } from '../engine/ops.js';

export { categoricalCrossentropy };

/** 2·Σ(yTrue·yPred) / (Σ yTrue + Σ yPred): the number the study called MeanDice. */
export function softDice(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const intersection = tf.sum(tf.mul(yTrue, yPred));
    const total = tf.add(tf.sum(yTrue), tf.sum(yPred));
    return tf.div(tf.mul(2, intersection), tf.maximum(total, 1e-7));
  });
}

/** Categorical cross-entropy of softmax outputs, clipped as Keras does, mean over pixels. */
export function crossEntropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const clipped = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.sum(tf.mul(yTrue, tf.log(clipped)), -1)));
  });
}

/** Cross-entropy plus (1 - soft Dice): the Dice term keeps the small classes from being outvoted by background. */
export function diceCrossEntropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(crossEntropy(yTrue, yPred), tf.sub(1, softDice(yTrue, yPred))));
}

/** The loss a run's config names: the study's Keras cross-entropy, or cross-entropy plus Dice. */
export function lossFunction(name: 'crossEntropy' | 'diceCrossEntropy'): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  return name === 'diceCrossEntropy' ? diceCrossEntropy : categoricalCrossentropy;
}
