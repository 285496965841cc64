// Geometric transforms for augmentation on row-major interleaved pixel grids: flips, quarter turns and a
// small affine warp (bilinear for images, nearest for label masks, reflected borders). Pure; new arrays out.
import type { PixelGrid } from './resize.js';

function checkGrid(name: string, img: PixelGrid, channels: number): void {
  const expected = img.width * img.height * channels;
  if (img.data.length !== expected) {
    throw new Error(`${name}: a ${img.width}x${img.height} grid with ${channels} channel(s) needs ${expected} bytes, got ${img.data.length}`);
  }
}

/** Mirrors left-right. */
export function flipHorizontal(img: PixelGrid, channels: number): PixelGrid {
  checkGrid('flipHorizontal', img, channels);
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const src = (row + x) * channels;
      const dst = (row + width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
  }
  return { width, height, data: out };
}

/** Mirrors top-bottom (whole rows move, so one `set` per row). */
export function flipVertical(img: PixelGrid, channels: number): PixelGrid {
  checkGrid('flipVertical', img, channels);
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  const rowBytes = width * channels;
  for (let y = 0; y < height; y++) {
    out.set(data.subarray(y * rowBytes, (y + 1) * rowBytes), (height - 1 - y) * rowBytes);
  }
  return { width, height, data: out };
}

/**
 * Turns by k quarter turns counter-clockwise as seen on screen (numpy.rot90's convention); k may be any
 * integer. Odd k swaps width and height.
 */
export function rotate90(img: PixelGrid, k: number, channels: number): PixelGrid {
  checkGrid('rotate90', img, channels);
  if (!Number.isInteger(k)) throw new Error(`rotate90: k must be a whole number of quarter turns, got ${k}`);
  const turns = ((k % 4) + 4) % 4;
  const { width, height, data } = img;
  if (turns === 0) return { width, height, data: data.slice() };
  if (turns === 2) {
    // Half a turn reverses the pixel order.
    const out = new Uint8Array(data.length);
    const pixels = width * height;
    for (let i = 0; i < pixels; i++) {
      const src = i * channels;
      const dst = (pixels - 1 - i) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
    return { width, height, data: out };
  }
  // Output is height wide and width tall. CCW: out(x', y') = in(x = width-1-y', y = x');
  // CW (k = 3): out(x', y') = in(x = y', y = height-1-x').
  const outWidth = height;
  const outHeight = width;
  const out = new Uint8Array(data.length);
  for (let yo = 0; yo < outHeight; yo++) {
    for (let xo = 0; xo < outWidth; xo++) {
      const xi = turns === 1 ? width - 1 - yo : yo;
      const yi = turns === 1 ? xo : height - 1 - xo;
      const src = (yi * width + xi) * channels;
      const dst = (yo * outWidth + xo) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/** A similarity transform about the image centre, then a shift; see `affine`. */
export interface AffineParams {
  /** Rotation in degrees; positive turns the content clockwise on screen (y points down). */
  angleDegrees: number;
  /** Content size factor: > 1 zooms in. */
  scale: number;
  /** Shift of the content in pixels (right, down); need not be whole. */
  shiftX: number;
  shiftY: number;
}

/** Flips and quarter turns, applied in this order (before any affine part). */
export interface Dihedral {
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Counter-clockwise quarter turns. */
  quarterTurns: number;
}

export const NO_DIHEDRAL: Readonly<Dihedral> = Object.freeze({ flipHorizontal: false, flipVertical: false, quarterTurns: 0 });

export function isIdentityAffine(p: AffineParams): boolean {
  return p.angleDegrees === 0 && p.scale === 1 && p.shiftX === 0 && p.shiftY === 0;
}

/** Row-major 2x2 matrix [a, b, c, d] acting on centred (x, y): (a x + b y, c x + d y). */
type Matrix2 = readonly [number, number, number, number];

function mul2(m: Matrix2, n: Matrix2): Matrix2 {
  return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3]];
}

/**
 * The map from output to source coordinates (both centred) of "flips, then quarter turns, then the
 * similarity": the inverses in reverse order. One counter-clockwise quarter turn reads the output's
 * (x, y) from the source's (-y, x) - the same pixels `rotate90` picks.
 */
function inverseMatrix(p: AffineParams, d: Dihedral): Matrix2 {
  const theta = (p.angleDegrees * Math.PI) / 180;
  const cos = Math.cos(theta) / p.scale;
  const sin = Math.sin(theta) / p.scale;
  let m: Matrix2 = [cos, sin, -sin, cos];
  const turns = ((d.quarterTurns % 4) + 4) % 4;
  for (let i = 0; i < turns; i++) m = mul2([0, -1, 1, 0], m);
  if (d.flipVertical) m = mul2([1, 0, 0, -1], m);
  if (d.flipHorizontal) m = mul2([-1, 0, 0, 1], m);
  return m;
}

/**
 * Reflects a continuous pixel-centre coordinate into [0, n-1] about the edge pixels' centres
 * ("reflect-101": ...c b | a b c d | c b...; OpenCV's BORDER_REFLECT_101, albumentations' default), so the
 * border pixel itself is not doubled.
 */
function reflect(u: number, n: number): number {
  if (u >= 0 && u <= n - 1) return u;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = u - period * Math.floor(u / period);
  return m > n - 1 ? period - m : m;
}

/**
 * Warps by `p`, after the flips and quarter turns of `dihedral` if given (folded into the same single
 * pass; a square grid is needed for odd quarter turns). Each output pixel centre is mapped back into the
 * source (inverse transform) and sampled: bilinear when `interpolation` is 'bilinear' (images), the
 * nearest source pixel when 'nearest' (label masks: class indices must never be blended). Points that fall
 * outside the source are reflected back in rather than filled with black: a cell on a background of red
 * cells continues as red cells at the border, where a black band would be an artefact the net could learn
 * (and that never occurs at inference). With `inside` (one byte a pixel), each output pixel is marked 1
 * where it samples the source itself and 0 where it samples a reflection.
 */
export function affine(
  img: PixelGrid,
  p: AffineParams,
  channels: number,
  interpolation: 'bilinear' | 'nearest',
  dihedral: Dihedral = NO_DIHEDRAL,
  inside?: Uint8Array,
): PixelGrid {
  checkGrid('affine', img, channels);
  if (!(p.scale > 0) || !Number.isFinite(p.angleDegrees + p.shiftX + p.shiftY)) {
    throw new Error(`affine: needs a finite angle and shifts and a positive scale, got ${JSON.stringify(p)}`);
  }
  const { width, height, data } = img;
  if (dihedral.quarterTurns % 2 !== 0 && width !== height) {
    throw new Error(`affine: an odd number of quarter turns needs a square grid, got ${width}x${height}`);
  }
  const [a, b, c, d] = inverseMatrix(p, dihedral);
  const out = new Uint8Array(data.length);
  // Clamped view: stores round half to even and clamp to 0..255, with no per-pixel Math calls.
  const clamped = new Uint8ClampedArray(out.buffer);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const maxX = width - 1;
  const maxY = height - 1;
  for (let y = 0; y < height; y++) {
    const dy = y - cy - p.shiftY;
    for (let x = 0; x < width; x++) {
      const dx = x - cx - p.shiftX;
      let sx = a * dx + b * dy + cx;
      let sy = c * dx + d * dy + cy;
      if (inside) inside[y * width + x] = sx >= -0.5 && sx <= maxX + 0.5 && sy >= -0.5 && sy <= maxY + 0.5 ? 1 : 0;
      if (sx < 0 || sx > maxX) sx = reflect(sx, width);
      if (sy < 0 || sy > maxY) sy = reflect(sy, height);
      const dst = (y * width + x) * channels;
      if (interpolation === 'nearest') {
        const src = (Math.round(sy) * width + Math.round(sx)) * channels;
        for (let ch = 0; ch < channels; ch++) out[dst + ch] = data[src + ch];
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      // At the last row/column the weight of the next one is 0; stepping 0 keeps the index valid.
      const stepX = x0 < maxX ? channels : 0;
      const stepY = y0 < maxY ? width * channels : 0;
      const i00 = (y0 * width + x0) * channels;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let ch = 0; ch < channels; ch++) {
        const i = i00 + ch;
        clamped[dst + ch] = w00 * data[i] + w01 * data[i + stepX] + w10 * data[i + stepY] + w11 * data[i + stepY + stepX];
      }
    }
  }
  return { width, height, data: out };
}

/**
 * The mask with background wherever a cell pixel (non-zero) is not 8-connected through cell pixels
 * to one that `inside` (affine's) marks: the mirror images of a cell that a zoomed-out warp reflects
 * in from beyond the edges, which a crop's truth would not label. A cell reaching the edge touches its
 * reflection, and both stay. New array.
 */
export function dropReflectedCells(mask: PixelGrid, inside: Uint8Array): PixelGrid {
  const { width, height, data } = mask;
  const keep = new Uint8Array(width * height);
  const stack: number[] = [];
  for (let i = 0; i < keep.length; i++) {
    if (inside[i] && data[i] !== 0) {
      keep[i] = 1;
      stack.push(i);
    }
  }
  while (stack.length > 0) {
    const i = stack.pop()!;
    const x = i % width;
    const y = (i - x) / width;
    for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
      for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
        const j = ny * width + nx;
        if (keep[j] === 0 && data[j] !== 0) {
          keep[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < out.length; i++) out[i] = keep[i] ? data[i] : 0;
  return { width, height, data: out };
}
