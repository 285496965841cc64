// Which image format an upload is, from its first bytes: the declared content type is only a hint
// (Python's requests sends file parts without one), and only these five formats go to the decoder.
// Pure (no Node imports): the web page uses it too, to tell a broken file from a TIFF it cannot show.

export type ImageFormat = 'bmp' | 'png' | 'jpeg' | 'tiff' | 'webp';

export const FORMAT_NAMES = 'BMP, PNG, JPEG, TIFF or WebP';

function startsWith(bytes: Uint8Array, signature: number[], at = 0): boolean {
  return bytes.length >= at + signature.length && signature.every((b, i) => bytes[at + i] === b);
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The format whose signature starts `bytes`, or null (GIF, SVG, text ... are null). */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, ascii('BM'))) return 'bmp';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  // Little- and big-endian TIFF, and BigTIFF (43 instead of 42).
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  return null;
}
