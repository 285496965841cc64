// 16-bit gray PNGs (NAME.cells.png: one cell label per pixel), written and read without sharp or a
// canvas (a canvas keeps only 8 of the 16 bits), so `segment`, the server and the page make and
// read the same file. Pure (fflate deflates and inflates).
import { unzlibSync, zlibSync } from 'fflate';

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** A 16-bit gray PNG of `data` (row-major, one sample a pixel; no row filter: label images are flat). */
export function encodeGray16Png(width: number, height: number, data: Uint16Array): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`16-bit PNG size must be positive whole numbers, got ${width}x${height}`);
  if (data.length !== width * height) throw new Error(`16-bit image data has ${data.length} values, expected ${width}x${height} = ${width * height}`);
  const raw = new Uint8Array(height * (width * 2 + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (width * 2 + 1);
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x];
      raw[row + 1 + x * 2] = v >> 8;
      raw[row + 2 + x * 2] = v & 255;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([16, 0, 0, 0, 0], 8);
  const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlibSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (png.set(p, at), at + p.length), 0);
  return png;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** The Paeth predictor of the PNG specification. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** A non-interlaced 16-bit grayscale PNG's samples; anything else is refused with what it is. */
export function decodeGray16Png(png: Uint8Array): { width: number; height: number; data: Uint16Array } {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (png.length < 33 || signature.some((v, i) => png[i] !== v)) throw new Error('not a PNG file');
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const length = u32(png, at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = u32(body, 0);
      height = u32(body, 4);
      const [depth, colour, , , interlace] = body.subarray(8, 13);
      if (depth !== 16 || colour !== 0 || interlace !== 0) throw new Error(`expected a 16-bit gray, non-interlaced PNG; this one has bit depth ${depth}, colour type ${colour}, interlace ${interlace}`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (width === 0 || height === 0) throw new Error('PNG without an image header');
  const joined = new Uint8Array(idat.reduce((n, b) => n + b.length, 0));
  idat.reduce((at, b) => (joined.set(b, at), at + b.length), 0);
  let raw: Uint8Array;
  try {
    raw = unzlibSync(joined);
  } catch (err) {
    throw new Error(`PNG image data is damaged or cut short (${err instanceof Error ? err.message : String(err)})`);
  }
  const stride = width * 2;
  if (raw.length < height * (stride + 1)) throw new Error(`PNG data ends early: ${raw.length} bytes for ${width}x${height}`);
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= 2 ? rows[dst + i - 2] : 0;
      const b = y > 0 ? rows[dst - stride + i] : 0;
      const c = i >= 2 && y > 0 ? rows[dst - stride + i - 2] : 0;
      const v = raw[src + i];
      const predicted = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth(a, b, c) : -1;
      if (predicted < 0) throw new Error(`PNG row ${y} has an unknown filter ${filter}`);
      rows[dst + i] = (v + predicted) & 255;
    }
  }
  const data = new Uint16Array(width * height);
  for (let p = 0; p < data.length; p++) data[p] = (rows[p * 2] << 8) | rows[p * 2 + 1];
  return { width, height, data };
}
