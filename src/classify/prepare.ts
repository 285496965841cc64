// The one path from a segmented cell to the classifier's inputs, used by training (before its
// augmentation), evaluation and `segment`: the crop around the cell (crop.ts), its features
// (features.ts), then the network's values as the model's metadata says. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import { pixelsToInput, type PixelNormalization } from '../data/pixels.js';
import { measureCell, type CellStats } from '../infer/morphometrics.js';
import type { ClassifierInput } from '../config/classifier.js';
import { cellCrop, cellBox, type CellCrop, type CropOptions } from './crop.js';
import { ALL_FEATURE_NAMES, cellFeatures, type FeatureName } from './features.js';
import { cropTexture } from './texture.js';
import { standardizeStain } from './stain.js';

export interface PreparedCell {
  crop: CellCrop;
  /** Every feature of ALL_FEATURE_NAMES, unscaled (NaN where it could not be measured). */
  features: Float32Array;
}

/**
 * The crop and features of the mask's main cell; null when there is no cell with a nucleus to type.
 * `stats` are the cell's measurements when already made (segment makes them), else measured here.
 */
export function prepareCell(image: RgbImage, mask: LabelMask, crop: CropOptions, stats?: CellStats): PreparedCell | null {
  const measured = stats ?? measureCell(mask);
  const found = cellBox(mask, crop.margin);
  if (!found) return null;
  const shape = cellFeatures(image, mask, measured, found.cell);
  if (!shape) return null;
  const cut = cellCrop(image, mask, crop, found)!;
  const seen = crop.stain ? { ...cut, image: standardizeStain(cut.image, cut.mask, crop.stain) } : cut;
  // Texture is measured on the crop as the network sees it (its scale and colours), before augmentation.
  const features = new Float32Array(ALL_FEATURE_NAMES.length);
  features.set(shape);
  features.set(cropTexture(seen.image, seen.mask), shape.length);
  return { crop: seen, features };
}

/** Channels of the network's crop input. */
export function inputChannels(input: ClassifierInput): number {
  return input === 'rgb-mask' ? 5 : 3;
}

/**
 * Writes the network's crop values (HWC floats) at `offset` of `out`: the RGB values as
 * pixelsToInput gives them, then for 'rgb-mask' a nucleus and a cytoplasm channel (0/1); 'masked'
 * sets every channel outside the cell to 0.
 */
export function cropToInput(
  image: RgbImage,
  mask: LabelMask,
  input: ClassifierInput,
  pre: { scale: number; normalize?: PixelNormalization },
  out: Float32Array,
  offset: number,
): void {
  const pixels = image.width * image.height;
  if (mask.data.length !== pixels) throw new Error(`cropToInput: a ${image.width}x${image.height} crop with a mask of ${mask.data.length} pixels`);
  const rgb = pixelsToInput(image.data, pre);
  const channels = inputChannels(input);
  for (let p = 0; p < pixels; p++) {
    const label = mask.data[p];
    const o = offset + p * channels;
    const blank = input === 'masked' && label === 0;
    for (let c = 0; c < 3; c++) out[o + c] = blank ? 0 : rgb[p * 3 + c];
    if (channels === 5) {
      out[o + 3] = label === 2 ? 1 : 0;
      out[o + 4] = label === 1 ? 1 : 0;
    }
  }
}

/** The features the model takes, standardised with its training mean and deviation; unmeasured ones at 0 (the mean). */
export function featureVector(
  raw: Float32Array,
  scaling: { names: readonly FeatureName[]; mean: readonly number[]; std: readonly number[] },
  out: Float32Array,
  offset: number,
): void {
  scaling.names.forEach((name, k) => {
    const v = raw[ALL_FEATURE_NAMES.indexOf(name)];
    out[offset + k] = Number.isFinite(v) ? (v - scaling.mean[k]) / scaling.std[k] : 0;
  });
}

/** Mean and standard deviation of each named feature over `cells` (NaNs left out; a constant feature gets deviation 1). */
export function fitFeatureScaling(cells: readonly Pick<PreparedCell, 'features'>[], names: readonly FeatureName[]) {
  const mean: number[] = [];
  const std: number[] = [];
  for (const name of names) {
    const k = ALL_FEATURE_NAMES.indexOf(name);
    const values = cells.map((c) => c.features[k]).filter(Number.isFinite);
    const m = values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.length < 2 ? 0 : values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1);
    mean.push(m);
    std.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { names: [...names], mean, std };
}
