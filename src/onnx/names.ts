// The names of the exported graph's input and output, shared by the exporter and every runtime that feeds
// it (onnxruntime-node here, onnxruntime-web in the page). Pure: the page bundles it.
export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'probs';
