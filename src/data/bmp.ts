// Decodes Windows BMP files (sharp/libvips cannot read them) with bmp-ts, after checking the header
// ourselves so a truncated, huge or exotic file gets a clear message instead of a RangeError.
import { Buffer } from 'node:buffer';
import { decode as bmpTsDecode } from 'bmp-ts';
import { DataFileError, messageOf } from './errors.js';
import type { RgbImage } from './types.js';

/** Info-header sizes bmp-ts understands: BITMAPINFOHEADER (40) and its V2..V5 extensions. */
const SUPPORTED_INFO_HEADER_SIZES = [40, 52, 56, 108, 124];
const FILE_HEADER_BYTES = 14;
const SUPPORTED_BITS_PER_PIXEL = [1, 4, 8, 16, 24, 32];
const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHA_BITFIELDS = 6;

/** True when the bytes start with the BMP magic 'BM' (we never trust the file extension). */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** What the BMP headers say, after validation. */
export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  compression: number;
  infoHeaderSize: number;
  /** Where the pixel rows start in the file. */
  pixelOffset: number;
  /** Where bmp-ts will start reading pixels (it ignores pixelOffset; see decodeBmp). */
  readerOffset: number;
  hasAlphaMask: boolean;
}

/** Parses and checks the BMP headers; throws DataFileError naming `file` on anything unusable. */
export function readBmpHeader(bytes: Uint8Array, file: string): BmpHeader {
  const corrupt = (what: string) => new DataFileError(file, `truncated or corrupt BMP (${what})`);
  const unsupported = (what: string) =>
    new DataFileError(file, `unsupported BMP variant (${what}); re-save it as an uncompressed 24-bit BMP or as PNG`);

  if (bytes.length < FILE_HEADER_BYTES + 4) throw corrupt(`only ${bytes.length} bytes, shorter than the BMP headers`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const infoHeaderSize = view.getUint32(14, true);
  if (!SUPPORTED_INFO_HEADER_SIZES.includes(infoHeaderSize)) {
    throw infoHeaderSize === 12
      ? unsupported('OS/2 bitmap with a 12-byte header')
      : corrupt(`unknown info header size ${infoHeaderSize}`);
  }
  if (bytes.length < FILE_HEADER_BYTES + infoHeaderSize) {
    throw corrupt(`file has ${bytes.length} bytes, its ${infoHeaderSize}-byte info header does not fit`);
  }
  const width = view.getInt32(18, true);
  const signedHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const paletteColors = view.getUint32(46, true);
  if (width <= 0 || signedHeight === 0 || signedHeight === -0x80000000) {
    throw corrupt(`invalid size ${width}x${signedHeight}`);
  }
  const height = Math.abs(signedHeight);
  if (!SUPPORTED_BITS_PER_PIXEL.includes(bitsPerPixel)) throw unsupported(`${bitsPerPixel} bits per pixel`);
  const bitfields = compression === BI_BITFIELDS || compression === BI_ALPHA_BITFIELDS;
  if (compression !== BI_RGB && !(bitfields && (bitsPerPixel === 16 || bitsPerPixel === 32))) {
    const names: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG' };
    throw unsupported(`${names[compression] ?? `compression ${compression}`} compression`);
  }
  // bmp-ts stops after the first row of an odd-width 4-bit image (its scan callback returns false).
  if (bitsPerPixel === 4 && width % 2 === 1) throw unsupported('4 bits per pixel with an odd width');

  // bmp-ts reads pixels right after the header, masks and palette instead of seeking to pixelOffset,
  // so compute where it will be and let decodeBmp close any gap (ICC profiles, padding).
  let readerOffset = FILE_HEADER_BYTES + 40;
  if (infoHeaderSize > 40 || bitfields) readerOffset += 12;
  if (infoHeaderSize > 52 || compression === BI_ALPHA_BITFIELDS) readerOffset += 4;
  if (infoHeaderSize > 56) readerOffset += 108 - 56;
  if (infoHeaderSize > 108) readerOffset += 124 - 108;
  if (bitsPerPixel <= 8 || paletteColors > 0) {
    readerOffset += 4 * (paletteColors === 0 ? 2 ** bitsPerPixel : paletteColors);
  }
  if (readerOffset > pixelOffset) {
    throw corrupt(`pixel data offset ${pixelOffset} lies inside the headers and palette, which end at ${readerOffset}`);
  }
  const rowBytes = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  const needed = pixelOffset + rowBytes * height;
  if (needed > bytes.length) {
    throw corrupt(`${width}x${height} at ${bitsPerPixel} bits needs ${needed} bytes, file has ${bytes.length}`);
  }
  const view32 = infoHeaderSize > 52 || compression === BI_ALPHA_BITFIELDS;
  const hasAlphaMask = bitsPerPixel === 32 && view32 && view.getUint32(FILE_HEADER_BYTES + 52, true) !== 0;
  return { width, height, bitsPerPixel, compression, infoHeaderSize, pixelOffset, readerOffset, hasAlphaMask };
}

/**
 * Decodes a BMP to interleaved RGB (alpha, if any, is dropped like sharp's removeAlpha / PIL's
 * convert("RGB")). `checkSize(width, height)` runs before any pixel buffer is allocated.
 */
export function decodeBmp(
  bytes: Uint8Array,
  file: string,
  checkSize: (width: number, height: number) => void,
): RgbImage & { sourceChannels: number } {
  const header = readBmpHeader(bytes, file);
  checkSize(header.width, header.height);
  let buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.readerOffset < header.pixelOffset) {
    buffer = Buffer.concat([buffer.subarray(0, header.readerOffset), buffer.subarray(header.pixelOffset)]);
  }
  let abgr: Uint8Array;
  try {
    abgr = bmpTsDecode(buffer).data;
  } catch (err) {
    throw new DataFileError(file, `truncated or corrupt BMP (${messageOf(err)})`, { cause: err });
  }
  // Without toRGBA, bmp-ts writes 4 bytes per pixel in the order A, B, G, R for every bit depth
  // (its toRGBA option is not applied consistently to palette images, so we do not use it).
  const pixels = header.width * header.height;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[i * 3] = abgr[i * 4 + 3];
    rgb[i * 3 + 1] = abgr[i * 4 + 2];
    rgb[i * 3 + 2] = abgr[i * 4 + 1];
  }
  return { width: header.width, height: header.height, data: rgb, sourceChannels: header.hasAlphaMask ? 4 : 3 };
}
