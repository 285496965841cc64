// The study's Model 3, the reference workload for the engine's speed: a small
// conv encoder-decoder segmenting 3 classes, trained with Adam.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adam } from './adam.js';
import { categoricalCrossentropy } from './ops.js';

/** Study Model 3: all convs 'same', ReLU and l2(0.001) kernel regularisation. */
export function buildModel3(
  size = 128,
  optimizer: tf.Optimizer = adam(),
  loss: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) = categoricalCrossentropy,
): tfl.LayersModel {
  const conv = (filters: number, kernelSize: number, activation: 'relu' | 'softmax', inputShape?: number[]) =>
    tfl.layers.conv2d({
      filters, kernelSize, padding: 'same', activation, inputShape,
      kernelRegularizer: tfl.regularizers.l2({ l2: 0.001 }),
    });
  const model = tfl.sequential();
  model.add(conv(16, 5, 'relu', [size, size, 3]));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(conv(32, 5, 'relu'));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(conv(32, 5, 'relu'));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.upSampling2d({ size: [2, 2] }));
  model.add(conv(16, 5, 'relu'));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.upSampling2d({ size: [2, 2] }));
  model.add(conv(3, 1, 'softmax'));
  model.compile({ optimizer, loss });
  return model;
}

