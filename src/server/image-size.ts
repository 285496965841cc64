// How many pixels an upload will decode to, read from its header on the server's thread (BMP by
// leukoseg's own header check, the rest by sharp's metadata, which runs on libuv's threads), so the
// pool can keep huge images from being decoded side by side. Never decodes pixels.
import sharp from 'sharp';
import { readBmpHeader } from '../data/bmp.js';
import type { ImageFormat } from './sniff.js';

/** width x height from the header, or 0 when the header is unreadable (the worker then says why, at once). */
export async function headerPixels(bytes: Uint8Array, format: ImageFormat): Promise<number> {
  try {
    if (format === 'bmp') {
      const { width, height } = readBmpHeader(bytes, 'upload');
      return width * height;
    }
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    return (width ?? 0) * (height ?? 0);
  } catch {
    return 0;
  }
}
