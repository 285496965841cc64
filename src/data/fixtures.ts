// Tiny synthetic image/mask files for the data tests (BMP via bmp-ts's encoder, PNG via sharp), so
// tests of bad input never need, or copy, real data-set files.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { encode as bmpTsEncode } from 'bmp-ts';
import sharp from 'sharp';
import type { RgbImage } from './types.js';

/** A fresh empty folder under the OS temp dir. */
export function makeTempDir(prefix = 'leukoseg-data-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** An RGB image whose pixel (x, y) is colour(x, y). */
export function rgbImage(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  }
  return { width, height, data };
}

/** 24-bit bottom-up BMP. bmp-ts's encoder takes 4 bytes per pixel in the order A, B, G, R. */
export function encodeBmp24(img: RgbImage): Buffer {
  const abgr = Buffer.alloc(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    abgr[i * 4 + 1] = img.data[i * 3 + 2];
    abgr[i * 4 + 2] = img.data[i * 3 + 1];
    abgr[i * 4 + 3] = img.data[i * 3];
  }
  return bmpTsEncode({ width: img.width, height: img.height, data: abgr, bitPP: 24 }).data;
}

/** PNG with 1 (gray), 3 (RGB) or 4 (RGBA) channels from raw interleaved bytes. */
export function encodePng(width: number, height: number, data: Uint8Array, channels: 1 | 3 | 4): Promise<Buffer> {
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

/** Writes `<dir>/<id>.bmp` (a colour gradient) and `<dir>/<maskName ?? id + '.png'>` (gray levels). */
export async function writePair(
  dir: string,
  id: string,
  options: { width?: number; height?: number; maskWidth?: number; maskHeight?: number; maskLevel?: (x: number, y: number) => number; maskName?: string } = {},
): Promise<{ imagePath: string; maskPath: string }> {
  const width = options.width ?? 6;
  const height = options.height ?? 5;
  const maskWidth = options.maskWidth ?? width;
  const maskHeight = options.maskHeight ?? height;
  const level = options.maskLevel ?? ((x: number) => [0, 128, 255][x % 3]);
  const image = rgbImage(width, height, (x, y) => [x * 40, y * 50, 200]);
  const mask = new Uint8Array(maskWidth * maskHeight);
  for (let y = 0; y < maskHeight; y++) for (let x = 0; x < maskWidth; x++) mask[y * maskWidth + x] = level(x, y);
  const imagePath = join(dir, `${id}.bmp`);
  const maskPath = join(dir, options.maskName ?? `${id}.png`);
  await writeFile(imagePath, encodeBmp24(image));
  await writeFile(maskPath, await encodePng(maskWidth, maskHeight, mask, 1));
  return { imagePath, maskPath };
}
