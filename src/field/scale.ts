// The scale a field is segmented at: the white-cell diameter, in model-input pixels, the model was
// trained to see, and the steps that bring a field's cells to it. Pure.
//
//   const scale = scaleForDiameter(132);   // cells of 132 image px -> 0.5 model px per image px
//   windowSide(scale, 128);                // 256: the image pixels one model input covers
//
// The bundled model was trained on Dataset 1 crops (104-120 px, padded unstretched into 128) and
// Dataset 2 crops (300 px, shrunk to 128). Its cells therefore reached it at an equivalent diameter
// of 74.8 px (Dataset 1 median; 5-95 % 54-88) and 66.4 px (Dataset 2: 156 px x 128/300; 47-88).
// On the validation images of both (43), each source segmented with its median cell brought to T
// model px (no resampling within NATIVE_SCALE_TOLERANCE of its own scale, as below) gave a mean
// nucleus/cytoplasm Dice over the two sources of 0.9570, 0.9568, 0.9583, 0.9580, 0.9576, 0.9579 and
// 0.9575 for T = 60, 62, 64, 66, 68, 70 and 75: flat. 66 is chosen, Dataset 2's own,
// so a field at Dataset 2's magnification reaches the model at its crops' scale (and one at Dataset
// 1's at its own resolution). Bringing each cell by its own diameter instead did no better (T = 66
// to 75 without the tolerance: 0.9561-0.9565 per cell, 0.9560-0.9575 per source), so the scale is
// one per field, as each lab's crops were taken at one magnification.

/** Equivalent diameter, in model-input pixels, a field's median white cell is brought to. */
export const WORKING_CELL_DIAMETER = 66;

/**
 * A field whose cells are within this factor of the working diameter is segmented at its own
 * resolution. Resampling by a few percent (nearest, as crops are shrunk) drops or repeats rows and
 * columns of the cell; on Dataset 1 mosaics of validation crops that cost up to 0.02 Dice per cell
 * against each crop segmented alone at a measured diameter 5 % off, and nothing at the image's own
 * scale. 1.3 is the widest factor that keeps such cells (51-86 px) inside the sizes the model was
 * trained on (5-95 %: 47-88 px).
 */
export const NATIVE_SCALE_TOLERANCE = 1.3;

/** Model pixels per image pixel for cells of `diameter` image pixels: 1 when that is within NATIVE_SCALE_TOLERANCE. */
export function scaleForDiameter(diameter: number, working = WORKING_CELL_DIAMETER): number {
  if (!(Number.isFinite(diameter) && diameter > 0)) throw new Error(`cell diameter must be a number of pixels above 0, got ${diameter}`);
  const scale = working / diameter;
  return Math.abs(Math.log(scale)) <= Math.log(NATIVE_SCALE_TOLERANCE) ? 1 : scale;
}

/** Image pixels covered by one model input of `inputSize` at `scale` (a whole number, at least 1). */
export function windowSide(scale: number, inputSize: number): number {
  return Math.max(1, Math.round(inputSize / scale));
}

/**
 * How the cell diameter is found when it is not given: stage 1 first runs at the scale of a
 * PROBE_DIAMETERS[0] px cell (the middle of the 100-200 px a lab camera's white cells span; the
 * pass is cheap, at under half the image's size), and the median diameter of the cells it finds
 * gives the field's own. The bundled model's cell outlines kept their size to within 5 % for cells
 * shown at 33 to 107 model px (the validation crops of Dataset 1 and 2 at 0.7-2x their trained
 * scale), so one probe measures cells of about 75-250 image px; when the
 * measured size is more than REPROBE_RATIO off the working one, stage 1 runs again at the measured
 * scale, and its cells are the ones kept. A probe that finds no cell, none that stage 2 keeps, or
 * mostly "cells" that reach past their windows (parts of far larger cells), is followed by the
 * next, for larger cells (a 400 px cell exceeds an input at the first; a single
 * cell's crop enlarged to 2800 px is found by the last). Smaller cells (under about 70 px, a low
 * magnification) are not looked for: a probe at their scale found "cells" of 27 px in the red cells
 * of a field without any white cell, so they need --cell-diameter.
 */
export const PROBE_DIAMETERS = [150, 400, 1000] as const;
export const REPROBE_RATIO = 1.2;

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
