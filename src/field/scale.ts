// The scale a field is segmented at: the white-cell diameter, in model-input pixels, the model was
// trained to see, and the steps that bring a field's cells to it. Pure.
//
//   const scale = scaleForDiameter(150);   // cells of 150 image px -> 0.5 model px per image px
//   windowSide(scale, 128);                // 256: the image pixels one model input covers
//
// The bundled model was trained on Dataset 1 crops (104-120 px, padded unstretched into 128) and
// Dataset 2 crops (300 px, shrunk to 128). Its cells therefore reached it at an equivalent diameter
// of 74.8 px (Dataset 1 median; 5-95 % 54-88) and 66.4 px (Dataset 2: 156 px x 128/300; 47-88).
// On the validation images of both (43), segmenting each source with its median cell brought to
// 66, 70, 75, 80 or 85 model px gave a mean nucleus/cytoplasm Dice over the two sources of 0.9560,
// 0.9565, 0.9575, 0.9553 and 0.9535, and bringing each cell by its own diameter instead did no
// better (0.9561-0.9565): so a field's median cell is brought to 75 px, one scale for the field, as
// each lab's crops were taken at one magnification.

/** Equivalent diameter, in model-input pixels, a field's median white cell is brought to. */
export const WORKING_CELL_DIAMETER = 75;

/**
 * A field whose cells are within this factor of the working diameter is segmented at its own
 * resolution. Resampling by a few percent (nearest, as crops are shrunk) drops or repeats rows and
 * columns of the cell; on Dataset 1 mosaics of validation crops that cost up to 0.02 Dice per cell
 * against each crop segmented alone at a measured diameter 5 % off, and nothing at the image's own
 * scale, while cells within 20 % of 75 px are well inside the sizes the model was trained on (5-95 %:
 * 47-88 px).
 */
export const NATIVE_SCALE_TOLERANCE = 1.2;

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
 * PROBE_DIAMETERS[0] px cell (small, so the first pass is cheap), and the median diameter of the
 * cells it finds gives the field's own. The bundled model's cell outlines kept their size to within
 * 3 % for cells shown at 37 to 93 model px (Dataset 1 and 2 test crops, 0.8-2x their trained scale),
 * so one probe measures cells of about 75-190 image px; when the measured size is more than
 * REPROBE_RATIO off the working one, stage 1 runs again at the measured scale, and its cells are the
 * ones kept. A probe that finds no cell is repeated at the next diameter (smaller cells: the first
 * probe shows a 40 px cell at 20 model px, too small to be found; larger: a 400 px cell exceeds an input).
 */
export const PROBE_DIAMETERS = [150, 60, 400] as const;
export const REPROBE_RATIO = 1.2;

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
