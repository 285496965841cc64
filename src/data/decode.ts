// Turns an image file (path or bytes) into 8-bit RGB or gray pixels: BMP via bmp-ts, everything else
// via sharp. Every failure names the file and says what is wrong with it.
//
//   const img = await decodeImage('Dataset 1/001.bmp');        // { width, height, data: RGBRGB... }
//   const levels = await decodeMaskLevels('Dataset 1/001.png'); // { width, height, data: gray }
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeBmp, isBmp } from './bmp.js';
import { DataFileError, messageOf } from './errors.js';
import type { GrayImage, RgbImage } from './types.js';

/** Largest image we decode by default: far above any microscope crop, small enough to fit in memory. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** A file path, or the file's bytes (Buffer is a Uint8Array). */
export type ImageInput = string | Uint8Array;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

/** Where the pixels came from: container format and channel count in the file (1 gray ... 4 RGBA). */
export interface SourceInfo {
  format: string;
  sourceChannels: number;
}

export type DecodedImage = RgbImage & SourceInfo;
export type DecodedGray = GrayImage & SourceInfo;

/** Decodes any supported file (BMP, PNG, JPEG, TIFF, WebP) to RGB; gray becomes R=G=B, alpha is dropped. */
export async function decodeImage(input: ImageInput, name?: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const { bytes, file } = await readInput(input, name);
  const checkSize = pixelLimitCheck(file, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  if (isBmp(bytes)) return { ...decodeBmp(bytes, file, checkSize), format: 'bmp' };
  return decodeWithSharp(bytes, file, checkSize);
}

/**
 * Decodes a mask file to one gray level per pixel. Masks should be 8-bit gray; an RGB(A) or palette
 * mask is converted with PIL's convert("L") luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16,
 * which leaves gray pixels (R=G=B) unchanged, so such masks load as the Python study would read them.
 */
export async function decodeMaskLevels(input: ImageInput, name?: string, options: DecodeOptions = {}): Promise<DecodedGray> {
  const rgb = await decodeImage(input, name, options);
  return { ...grayFromRgb(rgb), format: rgb.format, sourceChannels: rgb.sourceChannels };
}

/** PIL's RGB -> "L" conversion (ITU-R 601-2 luma, 16-bit fixed point with rounding, as in Pillow's Convert.c). */
export function grayFromRgb(rgb: RgbImage): GrayImage {
  const pixels = rgb.width * rgb.height;
  if (rgb.data.length !== pixels * 3) {
    throw new Error(`grayFromRgb: ${rgb.width}x${rgb.height} RGB needs ${pixels * 3} bytes, got ${rgb.data.length}`);
  }
  const gray = new Uint8Array(pixels);
  const d = rgb.data;
  for (let i = 0; i < pixels; i++) {
    gray[i] = (d[i * 3] * 19595 + d[i * 3 + 1] * 38470 + d[i * 3 + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width: rgb.width, height: rgb.height, data: gray };
}

async function readInput(input: ImageInput, name: string | undefined): Promise<{ bytes: Uint8Array; file: string }> {
  const file = name ?? (typeof input === 'string' ? input : '<buffer>');
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw new DataFileError(file, `cannot read file (${messageOf(err)})`, { cause: err });
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new DataFileError(file, 'empty file (0 bytes)');
  return { bytes, file };
}

function pixelLimitCheck(file: string, maxPixels: number): (width: number, height: number) => void {
  return (width, height) => {
    if (width * height > maxPixels) {
      throw new DataFileError(
        file,
        `image is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels} (maxPixels); ` +
          'blood-cell crops are about 120x120, so check the file, or raise maxPixels if it is right',
      );
    }
  };
}

async function decodeWithSharp(
  bytes: Uint8Array,
  file: string,
  checkSize: (width: number, height: number) => void,
): Promise<DecodedImage> {
  let format: string;
  let sourceChannels: number;
  try {
    // No sharp pixel limit here: checkSize below names leukoseg's own limit instead of "truncated or corrupt".
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format ?? 'unknown';
    sourceChannels = meta.channels ?? 3;
    checkSize(meta.width ?? 0, meta.height ?? 0);
  } catch (err) {
    if (err instanceof DataFileError) throw err;
    const detail = messageOf(err);
    const problem = /unsupported image format/i.test(detail)
      ? `not an image (${detail}; expected BMP, PNG, JPEG, TIFF or WebP)`
      : `truncated or corrupt image (${detail})`;
    throw new DataFileError(file, problem, { cause: err });
  }
  try {
    // toColourspace('srgb') turns gray, gray+alpha, palette and 16-bit files into 8-bit RGB;
    // removeAlpha drops alpha without compositing, as PIL's convert("RGB") does. ignoreIcc keeps the
    // stored values: sharp would otherwise colour-convert files with an embedded profile, PIL does not.
    const { data, info } = await sharp(bytes, { limitInputPixels: false, ignoreIcc: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), format, sourceChannels };
  } catch (err) {
    throw new DataFileError(file, `truncated or corrupt ${format.toUpperCase()} (${messageOf(err)})`, { cause: err });
  }
}
