// Shared data types: images and label masks as plain typed arrays, independent of the engine,
// so data, metrics, report and inference code can be tested without TensorFlow.

/** The three classes, in the order of the model's output channels. */
export const CLASS_NAMES = ['background', 'cytoplasm', 'nucleus'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];
export const NUM_CLASSES = CLASS_NAMES.length;

/** Gray level of each class in a mask file (index = class). */
export const MASK_LEVELS = [0, 128, 255] as const;

/** 8-bit RGB image, row-major, interleaved: data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One class index (0 background, 1 cytoplasm, 2 nucleus) per pixel, row-major. */
export interface LabelMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An image and its mask, of one size (what augmentation takes apart and puts together). */
export interface ImageMaskPair {
  image: RgbImage;
  mask: LabelMask;
}

/** One image/mask pair, fitted into the model's input square (stretched or padded: data/fit-square.ts). */
export interface Sample {
  id: string;
  imagePath: string;
  maskPath: string;
  image: RgbImage;
  mask: LabelMask;
  /** Size of the image file before resizing. */
  originalWidth: number;
  originalHeight: number;
  /** The pair at the file's own size, for scoring predictions at native resolution. */
  originalImage: RgbImage;
  originalMask: LabelMask;
  /** Mask pixels whose gray level was not exactly 0/128/255 and were moved to the nearest class. */
  strayPixels: number;
  /** Their gray levels, ascending. */
  strayLevels?: number[];
  /** Name of the data source (data/locate.ts DataSource) the pair came from, when loaded as one of several. */
  source?: string;
}

/** A file that was skipped, and why. */
export interface DataIssue {
  file: string;
  problem: string;
}

/** 8-bit single-channel image (a mask file's gray levels before mapping to classes), row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}
