// Nearest-neighbour resizing that picks exactly the source pixels PIL's Image.resize(size, NEAREST)
// picks, so images and masks match the Keras study pixel for pixel.
//
//   const small = resizeNearest(image, 128, 128, 3); // image: { width, height, data }
//
// Pillow (ImagingScaleAffine in libImaging/Geometry.c, used by resize() for NEAREST) samples at pixel
// centres: it starts at x = scale/2 with scale = src/dst, adds `scale` once per output pixel in double
// precision and truncates. That running sum is not the same as floor((i + 0.5) * src / dst): when the
// exact centre is an integer the sum can land just below it (e.g. 2 -> 7 px, output 3 reads source 0,
// not 1), so we reproduce the accumulation itself. PIL fills any index outside the source with 0; the
// sum never gets there for the sizes we use, and we clamp to the last pixel instead.

/** Pixel buffers resizeNearest accepts: row-major, `channels` bytes per pixel. */
export interface PixelGrid {
  width: number;
  height: number;
  data: Uint8Array;
}

/** For each output position, the source position PIL's NEAREST resize reads (length dstSize). */
export function nearestIndexTable(srcSize: number, dstSize: number): Int32Array {
  checkSize('source', srcSize);
  checkSize('target', dstSize);
  const table = new Int32Array(dstSize);
  const scale = srcSize / dstSize;
  let centre = scale * 0.5;
  for (let i = 0; i < dstSize; i++) {
    table[i] = Math.min(Math.trunc(centre), srcSize - 1);
    centre += scale;
  }
  return table;
}

/** Resizes with PIL's NEAREST rule; returns a copy of `img` with the new size and pixels. */
export function resizeNearest<T extends PixelGrid>(img: T, width: number, height: number, channels: number): T {
  checkSize('channel count', channels);
  checkGridBytes('resizeNearest', img, channels);
  const data = gatherPixels(img, nearestIndexTable(img.width, width), nearestIndexTable(img.height, height), channels);
  return { ...img, width, height, data };
}

/** Throws, naming `caller` and calling the buffer `what`, unless `grid` holds width x height pixels of `channels` bytes. */
export function checkGridBytes(caller: string, grid: PixelGrid, channels: number, what = 'image'): void {
  const expected = grid.width * grid.height * channels;
  if (grid.data.length !== expected) {
    throw new Error(`${caller}: a ${grid.width}x${grid.height} ${what} with ${channels} channel(s) needs ${expected} bytes, got ${grid.data.length}`);
  }
}

/**
 * A columns.length x rows.length grid whose pixel (x, y) is `src`'s pixel (columns[x], rows[y]): the
 * copy behind both resizing and padding, each of which only chooses the source positions.
 */
export function gatherPixels(src: PixelGrid, columns: Int32Array, rows: Int32Array, channels: number): Uint8Array {
  const width = columns.length;
  const out = new Uint8Array(width * rows.length * channels);
  for (let y = 0; y < rows.length; y++) {
    const srcRow = rows[y] * src.width;
    const dstRow = y * width;
    for (let x = 0; x < width; x++) {
      const s = (srcRow + columns[x]) * channels;
      const d = (dstRow + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = src.data[s + c];
    }
  }
  return out;
}

function checkSize(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`resizeNearest: ${what} must be a positive integer, got ${value}`);
  }
}
