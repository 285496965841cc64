// What both field stages need from a model: the network's softmax for a batch of prepared square
// inputs. The Node segmenter (ONNX Runtime or TensorFlow.js) and the page each provide one; the
// field code itself never touches a runtime. Types only.

/** Runs the network on `count` NHWC inputs of inputSize x inputSize x 3 (values from pixelsToInput). */
export interface WindowPredictor {
  readonly inputSize: number;
  /**
   * Softmax output, NHWC (count x inputSize x inputSize x classes); with `tta` the mean over the input
   * and its three flips, each flipped back, as the crop path runs it.
   */
  predict(inputs: Float32Array, count: number, tta: boolean): Promise<Float32Array>;
}
