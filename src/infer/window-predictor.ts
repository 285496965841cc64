// The Node segmenter's model behind field mode's WindowPredictor: ONNX Runtime (flip TTA as one
// batch) or TensorFlow.js (every tensor freed before returning).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { predictProbs } from '../models/predict.js';
import { OnnxPredictor } from '../onnx/runtime.js';
import type { WindowPredictor } from '../field/predictor.js';

export function windowPredictorOf(model: tfl.LayersModel | OnnxPredictor, inputSize: number): WindowPredictor {
  if (model instanceof OnnxPredictor) {
    return { inputSize, predict: (inputs, count, tta) => model.predictTta(inputs, count, inputSize, tta) };
  }
  return {
    inputSize,
    predict: async (inputs, count, tta) => {
      const out = tf.tidy(() => predictProbs(model, tf.tensor4d(inputs, [count, inputSize, inputSize, 3]), tta));
      const probs = (await out.data()) as Float32Array;
      out.dispose();
      return probs;
    },
  };
}
