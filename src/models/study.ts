// The three fully-convolutional networks of the study (Keras Sequential models), layer for layer:
// 5x5 'same' convs with ReLU, BatchNorm after the activation as in the study's listings, 2x pools/upsamplings.
import * as tfl from '@tensorflow/tfjs-layers';
import { NUM_CLASSES } from '../data/types.js';
import type { ModelOptions } from './options.js';

function conv(name: string, filters: number, kernelSize: number, l2: number, seed: number, activation: 'relu' | 'softmax') {
  return tfl.layers.conv2d({
    name,
    filters,
    kernelSize,
    padding: 'same',
    activation,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    kernelRegularizer: l2 > 0 ? tfl.regularizers.l2({ l2 }) : undefined,
  });
}

/** Model 1: Conv5x5(16) - MaxPool2 - Conv5x5(16) - UpSample2 - Conv1x1(3, softmax). */
export function studyModel1(options: ModelOptions): tfl.LayersModel {
  const { inputSize, seed } = options;
  const l2 = options.l2 ?? 0;
  const model = tfl.sequential({ name: 'study_model_1' });
  model.add(tfl.layers.inputLayer({ inputShape: [inputSize, inputSize, 3], name: 'image' }));
  model.add(conv('conv1', 16, 5, l2, seed + 1, 'relu'));
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(conv('conv2', 16, 5, l2, seed + 2, 'relu'));
  model.add(tfl.layers.upSampling2d({ name: 'up1', size: [2, 2] }));
  model.add(conv('head', NUM_CLASSES, 1, l2, seed + 3, 'softmax'));
  return model;
}

/**
 * Model 2: Conv5x5(16)+BN - Pool - Conv5x5(32)+BN - Pool - Conv5x5(32)+BN - Up - Conv5x5(16)+BN - Up - Conv1x1(3).
 * Model 3 is this network with `l2: 0.001` on every conv kernel (the study's `kernel_regularizer=l2(0.001)`).
 */
export function studyModel2(options: ModelOptions): tfl.LayersModel {
  const { inputSize, seed } = options;
  const l2 = options.l2 ?? 0;
  const model = tfl.sequential({ name: l2 > 0 ? 'study_model_3' : 'study_model_2' });
  model.add(tfl.layers.inputLayer({ inputShape: [inputSize, inputSize, 3], name: 'image' }));
  const stages: Array<{ filters: number; after: 'pool' | 'up' }> = [
    { filters: 16, after: 'pool' },
    { filters: 32, after: 'pool' },
    { filters: 32, after: 'up' },
    { filters: 16, after: 'up' },
  ];
  stages.forEach(({ filters, after }, i) => {
    const n = i + 1;
    model.add(conv(`conv${n}`, filters, 5, l2, seed + n, 'relu'));
    // Keras defaults (momentum 0.99, epsilon 1e-3) are also tfjs's; stated so a reader need not check.
    model.add(tfl.layers.batchNormalization({ name: `bn${n}`, momentum: 0.99, epsilon: 1e-3 }));
    model.add(
      after === 'pool'
        ? tfl.layers.maxPooling2d({ name: `pool${n}`, poolSize: 2 })
        : tfl.layers.upSampling2d({ name: `up${n}`, size: [2, 2] }),
    );
  });
  model.add(conv('head', NUM_CLASSES, 1, l2, seed + 9, 'softmax'));
  return model;
}
