// Public entry of the metrics folder: confusion matrices, the accumulating meter, scores and
// their terminal formatting, all free of TensorFlow so they test on plain typed arrays.
export * from './confusion.js';
export * from './scores.js';
export * from './format.js';
