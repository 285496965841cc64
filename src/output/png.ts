// PNG encoding of raw pixel buffers through sharp, and atomic PNG writes, so figures in a run
// folder are never left half-written.
import sharp from 'sharp';
import type { RgbImage } from '../data/types.js';
import { writeFileAtomic } from '../io/atomic.js';

/** Interleaved 8-bit pixels with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels. */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array;
  channels: 1 | 2 | 3 | 4;
}

/** The same pixels as sharp's raw input; an RgbImage has 3 channels. Checks the buffer size. */
export function toRawInput(img: RgbImage | RawImage): { buffer: Buffer; raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 } } {
  const channels = 'channels' in img ? img.channels : 3;
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`image size must be positive whole numbers, got ${width}x${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new Error(`image data has ${data.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
  // A view, not a copy: sharp only reads it.
  return { buffer: Buffer.from(data.buffer, data.byteOffset, data.byteLength), raw: { width, height, channels } };
}

export async function encodePng(img: RgbImage | RawImage): Promise<Buffer> {
  const { buffer, raw } = toRawInput(img);
  const pipeline = sharp(buffer, { raw });
  // Without this sharp would store gray input as RGB: 3x the size, and no longer a gray mask file.
  if (raw.channels <= 2) pipeline.toColourspace('b-w');
  return pipeline.png().toBuffer();
}

/** Encodes and writes atomically; creates the parent folder. */
export async function writePng(path: string, img: RgbImage | RawImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(img));
}

