// Class labels from class probabilities: the argmax every score and every mask is made of, with the
// optional per-class weights `leukoseg calibrate` fits. Pure.
import { NUM_CLASSES } from '../data/types.js';

/**
 * Index of the largest of each run of `numClasses` values (first wins on ties, like numpy). With
 * `classWeights`, each class's probability is first multiplied by its weight: a decision threshold
 * moved by calibration (see calibrate.ts), the probabilities themselves are left as they are.
 */
export function argmaxLabels(probs: Float32Array, numClasses = NUM_CLASSES, classWeights?: readonly number[]): Uint8Array {
  if (classWeights && classWeights.length !== numClasses) {
    throw new Error(`argmaxLabels: ${classWeights.length} class weights for ${numClasses} classes`);
  }
  const labels = new Uint8Array(probs.length / numClasses);
  for (let p = 0, o = 0; p < labels.length; p++, o += numClasses) {
    let best = 0;
    let bestValue = classWeights ? probs[o] * classWeights[0] : probs[o];
    for (let c = 1; c < numClasses; c++) {
      const value = classWeights ? probs[o + c] * classWeights[c] : probs[o + c];
      if (value > bestValue) {
        bestValue = value;
        best = c;
      }
    }
    labels[p] = best;
  }
  return labels;
}
