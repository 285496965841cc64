// Loads a folder of image/mask pairs the way the Keras study did (NEAREST resize to size x size, mask
// 0/128/255 -> class 0/1/2), or padded into that square instead (`fit: 'pad'`, see fit-square.ts),
// skipping and reporting each bad pair instead of failing the whole run.
//
//   const { samples, issues } = await loadDataset({ dir: resolveDataDir({ data: opts.data }) });
//   const x = imagesToFloat32(samples, trainIdx); // NHWC / 255
import { decodeImage, decodeMaskLevels } from './decode.js';
import { DataFileError, messageOf } from './errors.js';
import { formatLevels, labelsFromGray } from './masks.js';
import { EXPECTED_LAYOUT, findPairs, type FoundPairs, type ImageMaskPair } from './pairs.js';
import { fitMaskToSquare, fitToSquare, type SquareFit } from './fit-square.js';
import { MASK_LEVELS, NUM_CLASSES, type DataIssue, type Sample } from './types.js';
import { pixelsToInput, type PixelNormalization } from './pixels.js';

export { findPairs, type ImageMaskPair, type FoundPairs } from './pairs.js';
export {
  resolveDataDir,
  resolveSources,
  parseDatasetSelection,
  defaultCacheDir,
  type ResolveDataDirOptions,
  type DataSource,
} from './locate.js';

/** The study's input size. */
export const DEFAULT_IMAGE_SIZE = 128;
/** Files decoded at once: enough to keep sharp's thread pool busy, few enough to bound memory. */
const PARALLEL_DECODES = 8;

export interface LoadSampleOptions {
  /** Output side length in pixels (default 128). */
  size?: number;
  /** How images and masks are fitted into that square (default 'stretch', the study's protocol). */
  fit?: SquareFit;
  /** Mask gray levels within this distance of 0/128/255 are moved to that class (default 32). */
  maxMaskDistance?: number;
  /**
   * Pixels farther than that from every level are moved to the nearest class too (and counted) while
   * they are at most this fraction of the mask (default 0.001: a few anti-aliased border pixels); a
   * mask with more is skipped, since a meaningful share of it cannot be read.
   */
  maxFarFraction?: number;
  /** Pixel limit per file (default DEFAULT_MAX_PIXELS in decode.ts). */
  maxPixels?: number;
}

export interface LoadDatasetOptions extends LoadSampleOptions {
  dir: string;
}

export interface LoadedDataset {
  /** Valid pairs, sorted by id. */
  samples: Sample[];
  /** Files that were skipped, and why. */
  issues: DataIssue[];
  /** Mask pixels moved to the nearest class level, over all samples. */
  strayPixels: number;
  /** The masks that had such pixels, with how many and which gray levels, for the log. */
  strayMasks: Array<{ file: string; pixels: number; levels: number[] }>;
}

/** Default of LoadSampleOptions.maxFarFraction. */
export const DEFAULT_MAX_FAR_FRACTION = 0.001;

/** Loads every valid pair in `dir`; throws (listing the problems) only if none is valid. */
export async function loadDataset(options: LoadDatasetOptions): Promise<LoadedDataset> {
  const { dir } = options;
  let found: FoundPairs;
  try {
    found = await findPairs(dir);
  } catch (err) {
    throw new Error(`Cannot read data folder ${dir} (${messageOf(err)}). It should contain ${EXPECTED_LAYOUT}.`, { cause: err });
  }
  const results = await mapLimited(found.pairs, PARALLEL_DECODES, (pair) => loadSampleOrIssue(pair, options));
  const samples = results.filter((r): r is Sample => 'image' in r);
  const issues = [...found.issues, ...results.filter((r): r is DataIssue => !('image' in r))];
  if (samples.length === 0) throw new Error(noSamplesMessage(dir, found.pairs.length, issues));
  const strayPixels = samples.reduce((sum, s) => sum + s.strayPixels, 0);
  const strayMasks = samples
    .filter((s) => s.strayPixels > 0)
    .map((s) => ({ file: s.maskPath, pixels: s.strayPixels, levels: s.strayLevels ?? [] }));
  return { samples, issues, strayPixels, strayMasks };
}

/** Decodes, checks and resizes one pair; throws DataFileError naming the bad file. */
export async function loadSample(pair: ImageMaskPair, options: LoadSampleOptions = {}): Promise<Sample> {
  const size = options.size ?? DEFAULT_IMAGE_SIZE;
  const fit = options.fit ?? 'stretch';
  const decodeOptions = { maxPixels: options.maxPixels };
  const image = await decodeImage(pair.imagePath, pair.imagePath, decodeOptions);
  const gray = await decodeMaskLevels(pair.maskPath, pair.maskPath, decodeOptions);
  if (gray.width !== image.width || gray.height !== image.height) {
    throw new DataFileError(
      pair.maskPath,
      `size ${gray.width}x${gray.height} does not match image ${image.width}x${image.height} (${pair.imagePath})`,
    );
  }
  // Mapping before resizing gives the same classes (NEAREST and padding only copy pixels; a smooth
  // shrink takes the majority class) and counts stray pixels as they are in the file.
  const { mask, strayPixels, farLevels, farPixels, strayLevels } = labelsFromGray(gray, { maxDistance: options.maxMaskDistance });
  const maxFarFraction = options.maxFarFraction ?? DEFAULT_MAX_FAR_FRACTION;
  const farFraction = farPixels / (gray.width * gray.height);
  if (farLevels.length > 0 && farFraction > maxFarFraction) {
    throw new DataFileError(
      pair.maskPath,
      `mask has unknown gray levels ${formatLevels(farLevels)} (expected ${MASK_LEVELS.join('/')}); ` +
        `${farPixels} pixel(s) (${(100 * farFraction).toFixed(2)} %, more than ${(100 * maxFarFraction).toFixed(2)} %) ` +
        'are too far from every class level to guess their class',
    );
  }
  return {
    id: pair.id,
    imagePath: pair.imagePath,
    maskPath: pair.maskPath,
    image: fitToSquare({ width: image.width, height: image.height, data: image.data }, size, 3, fit),
    mask: fitMaskToSquare(mask, size, fit, NUM_CLASSES),
    originalWidth: image.width,
    originalHeight: image.height,
    originalImage: { width: image.width, height: image.height, data: image.data },
    originalMask: mask,
    // A few far pixels (under maxFarFraction) were moved to their nearest class as well.
    strayPixels: strayPixels + farPixels,
    strayLevels: [...strayLevels, ...farLevels].sort((a, b) => a - b),
  };
}

/**
 * Images of samples[indices] as one NHWC float batch, each turned into the network's values by
 * pixelsToInput (default: the study's image / 255).
 */
export function imagesToFloat32(
  samples: readonly Sample[],
  indices: readonly number[],
  pre: { scale: number; normalize?: PixelNormalization } = { scale: 1 / 255 },
): Float32Array {
  const { width, height } = commonSize(samples, indices, 'imagesToFloat32');
  const perImage = width * height * 3;
  const out = new Float32Array(indices.length * perImage);
  indices.forEach((index, n) => pixelsToInput(samples[index].image.data, pre, out, n * perImage));
  return out;
}

/** Class labels of samples[indices], concatenated (N x H x W). */
export function labelsOf(samples: readonly Sample[], indices: readonly number[]): Uint8Array {
  const { width, height } = commonSize(samples, indices, 'labelsOf');
  const perMask = width * height;
  const out = new Uint8Array(indices.length * perMask);
  indices.forEach((index, n) => out.set(samples[index].mask.data, n * perMask));
  return out;
}

function commonSize(samples: readonly Sample[], indices: readonly number[], caller: string): { width: number; height: number } {
  const first = indices.length > 0 ? samples[indices[0]] : undefined;
  const width = first?.image.width ?? 0;
  const height = first?.image.height ?? 0;
  for (const index of indices) {
    const sample = samples[index];
    if (sample === undefined) throw new Error(`${caller}: index ${index} is outside 0..${samples.length - 1}`);
    const { image, mask } = sample;
    if (image.width !== width || image.height !== height || mask.width !== width || mask.height !== height) {
      throw new Error(
        `${caller}: sample ${sample.id} is ${image.width}x${image.height} (mask ${mask.width}x${mask.height}), ` +
          `expected ${width}x${height} like ${first?.id}; load all samples with the same size`,
      );
    }
  }
  return { width, height };
}

async function loadSampleOrIssue(pair: ImageMaskPair, options: LoadSampleOptions): Promise<Sample | DataIssue> {
  try {
    return await loadSample(pair, options);
  } catch (err) {
    if (err instanceof DataFileError) return err.toIssue();
    throw err;
  }
}

function noSamplesMessage(dir: string, pairCount: number, issues: DataIssue[]): string {
  const shown = issues.slice(0, 10).map((i) => `  ${i.file}: ${i.problem}`);
  if (issues.length > shown.length) shown.push(`  ... and ${issues.length - shown.length} more`);
  const what = pairCount === 0 ? 'no image/mask pairs' : `${pairCount} pair(s), none valid`;
  return [
    `No usable samples in ${dir}: ${what}.`,
    ...(shown.length > 0 ? ['Problems:', ...shown] : []),
    `The folder should contain ${EXPECTED_LAYOUT}. ` +
      'For the segmentation_WBC collection that is its "Dataset 1/" folder.',
  ].join('\n');
}

/** Promise.all over `items` with at most `limit` calls of `fn` in flight; keeps the input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
