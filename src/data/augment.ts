// Training-time augmentation of an image/mask pair: the same geometry on both (mask by nearest neighbour),
// colour changes on the image only; every random choice comes from a seeded generator, so runs repeat.
//
//   const rng = createRng(seed);
//   const { image, mask } = augmentPair(sample.image, sample.mask, AugmentConfigSchema.parse({ enabled: true }), rng);
import { z } from 'zod';
import { affine, dropReflectedCells, flipHorizontal, flipVertical, isIdentityAffine, rotate90, type AffineParams, type Dihedral } from './augment-geometry.js';
import { colorJitter, gaussianBlur3, gaussianNoise, isNeutralJitter, type ColorJitter } from './augment-color.js';
import { jpegArtefacts } from './augment-jpeg.js';
import { addRedCells } from './augment-red-cells.js';
import { isNeutralStain, NEUTRAL_STAIN, stainJitter, type StainJitter } from './augment-stain.js';
import { createRng, randomInt, uniform, type Rng } from './random.js';
import type { ImageMaskPair, LabelMask, RgbImage } from './types.js';

// The training loop takes its generator from here, next to the function that consumes it.
export { createRng, type Rng } from './random.js';

const strength = (max: number) => z.number().min(0).max(max);

export const AugmentConfigSchema = z
  .strictObject({
    /** Master switch; off by default so a preset's results do not change unless it asks for augmentation. */
    enabled: z.boolean().default(false),
    /** Mirror left-right and top-bottom, each with probability 1/2 (cells have no preferred orientation). */
    flip: z.boolean().default(true),
    /** Turn by 0, 1, 2 or 3 quarter turns, equally likely (only 0 or 2 for non-square images, to keep the size). */
    rotate90: z.boolean().default(true),
    /** Extra rotation, uniform in [-rotateDegrees, rotateDegrees] degrees. */
    rotateDegrees: strength(45).default(15),
    /** Content scale factor, uniform in [min, max]; > 1 zooms in. [1, 1] = no scaling. */
    scale: z.tuple([z.number().positive(), z.number().positive()]).default([0.9, 1.1]),
    /** Shift along each axis, uniform in [-shift, shift] times the image side. */
    shift: strength(0.5).default(0.05),
    /** Brightness factor uniform in [1 - brightness, 1 + brightness] (torchvision ColorJitter's meaning). */
    brightness: strength(1).default(0.1),
    /** Contrast factor uniform in [1 - contrast, 1 + contrast], around the image's mean luminance. */
    contrast: strength(1).default(0.1),
    /** Saturation factor uniform in [1 - saturation, 1 + saturation]. */
    saturation: strength(1).default(0.1),
    /** Hue shift uniform in [-hue, hue] turns of the colour wheel (0.02 = 7.2 degrees); small, stains have a hue. */
    hue: strength(0.5).default(0.02),
    /** Gaussian blur with sigma uniform in [0, blur] pixels on a 3x3 kernel; 0 = never blur. */
    blur: strength(1).default(0),
    /** Gaussian noise with standard deviation uniform in [0, noise] x 255 gray levels per image; 0 = none. */
    noise: strength(0.5).default(0),
    /**
     * Stain jitter in haematoxylin/eosin optical-density space (augment-stain.ts): each stain's density
     * times U[1 - stain, 1 + stain] plus U[-stain, stain] x 0.1; 0 = none.
     */
    stain: strength(1).default(0),
    /** Gamma exp(U[-gamma, gamma]) on intensities; 0 = none. */
    gamma: strength(1).default(0),
    /** White balance: R, G and B each times U[1 - whiteBalance, 1 + whiteBalance]; 0 = none. */
    whiteBalance: strength(0.5).default(0),
    /** Probability of re-encoding the image as JPEG (augment-jpeg.ts), at a quality uniform in jpegQuality; 0 = never. */
    jpeg: strength(1).default(0),
    /** [min, max] JPEG quality (1..100) when `jpeg` applies. */
    jpegQuality: z.tuple([z.number().int().min(1).max(100), z.number().int().min(1).max(100)]).default([40, 90]),
    /**
     * Probability of painting synthetic red cells on the background around the white cell
     * (augment-red-cells.ts), as many as `redCellCount` says; 0 = never.
     */
    redCells: strength(1).default(0),
    /** [min, max] red cells when `redCells` applies. */
    redCellCount: z.tuple([z.number().int().min(1).max(30), z.number().int().min(1).max(30)]).default([2, 8]),
    /**
     * Probability of resampling the image's warp by the nearest pixel instead of bilinearly: how 'pad'
     * shrinks a large crop and how a 'pad' model's field windows are sampled, so a cell rescaled by a
     * few percent in a field has been seen rescaled that way in training (bilinear smooths what nearest
     * aliases); 0 = never.
     */
    nearest: strength(1).default(0),
    /**
     * Probability of showing a training square as a field shows a cell (augment-neighbours.ts): a window
     * of it among 8 random squares of its own source, shifted off its centre by up to `neighbourShift`
     * of a side on each axis; 0 = never. Drawn and applied by the training loop, which holds the set.
     */
    neighbours: strength(1).default(0),
    /** Largest shift of the `neighbours` window, as a share of the side. */
    neighbourShift: strength(0.5).default(0.25),
    /**
     * The neighbours' pixels in the mask: 'background', as a crop's truth labels a part of another
     * cell at its edge, so crops and windows teach one thing; or 'kept' (their own labels, as a field
     * holds several cells). Segmentation training only (the classifier refuses `neighbours`).
     */
    neighbourLabels: z.enum(['background', 'kept']).default('background'),
    /**
     * Mirror images of the cell that a zoomed-out warp reflects in from beyond the square's edges:
     * 'kept' labelled as cells (as the reflected mask has them), or 'background', as a crop's truth
     * labels another cell at its edge (a cell reaching the edge keeps the reflection it touches).
     */
    reflectedCells: z.enum(['kept', 'background']).default('kept'),
  })
  .refine((c) => c.scale[0] <= c.scale[1], { message: 'scale must be [min, max] with min <= max', path: ['scale'] })
  .refine((c) => c.jpegQuality[0] <= c.jpegQuality[1], { message: 'jpegQuality must be [min, max] with min <= max', path: ['jpegQuality'] })
  .refine((c) => c.redCellCount[0] <= c.redCellCount[1], { message: 'redCellCount must be [min, max] with min <= max', path: ['redCellCount'] });

export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;
export type AugmentConfigInput = z.input<typeof AugmentConfigSchema>;

/** Every field at its default (augmentation disabled). */
export const DEFAULT_AUGMENT_CONFIG: AugmentConfig = AugmentConfigSchema.parse({});

/** One concrete draw of every random choice for one pair; `applyAugmentation` is deterministic given it. */
export interface AugmentParams extends AffineParams, Dihedral, ColorJitter, StainJitter {
  /** Blur sigma in pixels, 0..1. */
  blurSigma: number;
  /** Noise standard deviation in gray levels. */
  noiseSigma: number;
  /** Seed of the noise pattern. */
  noiseSeed: number;
  /** JPEG quality of a re-encoding, 0 = none. */
  jpegQuality: number;
  /** Whether the image's warp samples the nearest pixel (as the mask's always does) instead of bilinearly. */
  nearestImage: boolean;
  /** Whether cells reflected in from beyond the edges by the warp are labelled background. */
  dropReflections: boolean;
  /** Synthetic red cells to paint, 0 = none, and the seed of their placement and look. */
  redCells: number;
  redCellSeed: number;
}

/**
 * Draws the parameters for one pair of size width x height. Every parameter takes its draws whether or not
 * its transform is enabled, so changing one strength in a config leaves the other draws of a run unchanged.
 */
export function sampleAugmentParams(config: AugmentConfig, rng: Rng, width: number, height: number): AugmentParams {
  const draws = {
    flipH: rng() < 0.5,
    flipV: rng() < 0.5,
    turns: randomInt(rng, 4),
    angle: uniform(rng, -1, 1),
    scale: rng(),
    shiftX: uniform(rng, -1, 1),
    shiftY: uniform(rng, -1, 1),
    brightness: uniform(rng, -1, 1),
    contrast: uniform(rng, -1, 1),
    saturation: uniform(rng, -1, 1),
    hue: uniform(rng, -1, 1),
    blur: rng(),
    noise: rng(),
    noiseSeed: Math.floor(rng() * 4294967296),
  };
  // A quarter turn would swap the sides of a non-square image; only half turns keep its size.
  const turns = width === height ? draws.turns : draws.turns & 2;
  const [scaleMin, scaleMax] = config.scale;
  // Drawn only when asked for: recipes without them keep the random stream (and results) they had.
  const stainOn = config.stain > 0 || config.gamma > 0 || config.whiteBalance > 0;
  const three = (f: () => number) => [f(), f(), f()] as const;
  const stain: StainJitter = stainOn
    ? {
        stainScale: three(() => 1 + uniform(rng, -1, 1) * config.stain),
        stainShift: three(() => uniform(rng, -1, 1) * config.stain * 0.1),
        gamma: Math.exp(uniform(rng, -1, 1) * config.gamma),
        channelGain: three(() => 1 + uniform(rng, -1, 1) * config.whiteBalance),
      }
    : NEUTRAL_STAIN;
  // Likewise drawn only when asked for.
  let jpegQuality = 0;
  if (config.jpeg > 0) {
    const apply = rng() < config.jpeg;
    const quality = Math.round(config.jpegQuality[0] + (config.jpegQuality[1] - config.jpegQuality[0]) * rng());
    jpegQuality = apply ? quality : 0;
  }
  // Likewise.
  let redCells = 0;
  let redCellSeed = 0;
  if (config.redCells > 0) {
    const apply = rng() < config.redCells;
    const [fewest, most] = config.redCellCount;
    const count = fewest + randomInt(rng, most - fewest + 1);
    redCellSeed = Math.floor(rng() * 4294967296);
    redCells = apply ? count : 0;
  }
  // Likewise.
  const nearestImage = config.nearest > 0 && rng() < config.nearest;
  return {
    ...stain,
    nearestImage,
    dropReflections: config.reflectedCells === 'background',
    flipHorizontal: config.flip && draws.flipH,
    flipVertical: config.flip && draws.flipV,
    quarterTurns: config.rotate90 ? turns : 0,
    angleDegrees: draws.angle * config.rotateDegrees,
    scale: scaleMin + (scaleMax - scaleMin) * draws.scale,
    shiftX: draws.shiftX * config.shift * width,
    shiftY: draws.shiftY * config.shift * height,
    brightness: 1 + draws.brightness * config.brightness,
    contrast: 1 + draws.contrast * config.contrast,
    saturation: 1 + draws.saturation * config.saturation,
    hue: draws.hue * config.hue,
    blurSigma: draws.blur * config.blur,
    noiseSigma: draws.noise * config.noise * 255,
    noiseSeed: draws.noiseSeed,
    jpegQuality,
    redCells,
    redCellSeed,
  };
}

/** Parameters that change nothing. */
export const NEUTRAL_PARAMS: Readonly<AugmentParams> = Object.freeze({
  flipHorizontal: false,
  flipVertical: false,
  quarterTurns: 0,
  angleDegrees: 0,
  scale: 1,
  shiftX: 0,
  shiftY: 0,
  brightness: 1,
  contrast: 1,
  saturation: 1,
  hue: 0,
  blurSigma: 0,
  noiseSigma: 0,
  noiseSeed: 0,
  jpegQuality: 0,
  nearestImage: false,
  dropReflections: false,
  redCells: 0,
  redCellSeed: 0,
  ...NEUTRAL_STAIN,
});


/** The mask warped by nearest pixel, with the cell's reflected copies labelled background when drawn so. */
function warpMask(mask: LabelMask, p: AugmentParams, dihedral?: Dihedral): LabelMask {
  if (!p.dropReflections) return affine(mask, p, 1, 'nearest', dihedral);
  const inside = new Uint8Array(mask.width * mask.height);
  return dropReflectedCells(affine(mask, p, 1, 'nearest', dihedral, inside), inside);
}

/**
 * Applies drawn parameters: flips, quarter turns and the affine warp to image (bilinear, or nearest when drawn) and mask (nearest)
 * alike, then synthetic red cells on the background, jitter, blur, noise and JPEG compression to the image. Steps at their neutral value are skipped, so an all-neutral
 * draw returns exact copies. Always returns new arrays.
 */
export function applyAugmentation(image: RgbImage, mask: LabelMask, p: AugmentParams): ImageMaskPair {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(`augment: image is ${image.width}x${image.height} but its mask is ${mask.width}x${mask.height}`);
  }
  let img = image;
  let lab = mask;
  const both = (f: (grid: RgbImage, channels: number) => RgbImage) => {
    img = f(img, 3);
    lab = f(lab, 1);
  };
  const square = image.width === image.height;
  const imageInterpolation = p.nearestImage ? 'nearest' : 'bilinear';
  if (!isIdentityAffine(p) && (square || p.quarterTurns % 2 === 0)) {
    // One resampling pass does flips, turns and warp together: a third of the memory traffic of three.
    img = affine(img, p, 3, imageInterpolation, p);
    lab = warpMask(lab, p, p);
  } else {
    // Exact permutations (also what keeps a non-square grid's odd turn possible before a warp).
    if (p.flipHorizontal) both(flipHorizontal);
    if (p.flipVertical) both(flipVertical);
    if (p.quarterTurns % 4 !== 0) both((g, ch) => rotate90(g, p.quarterTurns, ch));
    if (!isIdentityAffine(p)) {
      img = affine(img, p, 3, imageInterpolation);
      lab = warpMask(lab, p);
    }
  }
  // Before the colour changes, so the red cells take the same stain and camera as the rest of the image.
  if (p.redCells > 0) img = addRedCells(img, lab, p.redCells, p.redCellSeed);
  if (!isNeutralJitter(p)) img = colorJitter(img, p);
  if (!isNeutralStain(p)) img = stainJitter(img, p);
  if (p.blurSigma > 0) img = gaussianBlur3(img, p.blurSigma);
  if (p.noiseSigma > 0) img = gaussianNoise(img, p.noiseSigma, createRng(p.noiseSeed));
  // Last, as a camera compresses what the sensor saw.
  if (p.jpegQuality > 0) img = jpegArtefacts(img, p.jpegQuality);
  // Copy what no step replaced, so callers may always mutate the result.
  return {
    image: img === image ? { width: image.width, height: image.height, data: image.data.slice() } : img,
    mask: lab === mask ? { width: mask.width, height: mask.height, data: mask.data.slice() } : lab,
  };
}

/**
 * Augments one pair with `config`, drawing from `rng`. With `enabled: false` it returns copies and draws
 * nothing, so turning augmentation off does not shift the stream for anything else using `rng`.
 */
export function augmentPair(image: RgbImage, mask: LabelMask, config: AugmentConfig, rng: Rng): ImageMaskPair {
  if (!config.enabled) return applyAugmentation(image, mask, NEUTRAL_PARAMS);
  return applyAugmentation(image, mask, sampleAugmentParams(config, rng, image.width, image.height));
}
