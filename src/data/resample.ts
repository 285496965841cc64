// Smooth resizing of 8-bit images (any channel count) with a triangle filter widened by the scale
// factor when shrinking, as PIL's Image.resize(BILINEAR) does: every source pixel contributes, so a
// 300 px crop shrunk to 64 px keeps its average colour and texture instead of aliasing.
//
//   const small = resizeSmooth(image, 64, 64, 3); // image: { width, height, data }
import { checkGridBytes, type PixelGrid } from './resize.js';

/** For one axis: per output position, the first source index and the normalised weights from there. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  /** count[i] weights for output i at offset i * stride. */
  weights: Float64Array;
  stride: number;
}

function axisWeights(src: number, dst: number): AxisWeights {
  const scale = src / dst;
  const filterScale = Math.max(1, scale);
  const support = filterScale; // triangle of radius 1, widened when shrinking
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float64Array(dst * stride);
  for (let i = 0; i < dst; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(src, Math.ceil(centre + support));
    let total = 0;
    let n = 0;
    for (let j = lo; j < hi && n < stride; j++, n++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / filterScale));
      weights[i * stride + n] = w;
      total += w;
    }
    if (total === 0) {
      // Only when the source is one pixel wide at the edge: take the nearest pixel.
      weights[i * stride] = 1;
      total = 1;
      n = Math.max(n, 1);
    }
    for (let k = 0; k < n; k++) weights[i * stride + k] /= total;
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, stride };
}

/** Resizes `img` to width x height with the scale-aware triangle filter; returns a copy with the new size. */
export function resizeSmooth<T extends PixelGrid>(img: T, width: number, height: number, channels: number): T {
  for (const [what, v] of [['width', width], ['height', height], ['channel count', channels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`resizeSmooth: ${what} must be a positive integer, got ${v}`);
  }
  checkGridBytes('resizeSmooth', img, channels);
  const xs = axisWeights(img.width, width);
  const ys = axisWeights(img.height, height);
  // Horizontal pass into floats, then vertical into bytes. Each source row is filtered horizontally
  // once, when the first output row needs it, into a ring of as many rows as one output row reads
  // (output rows read source rows in increasing order): memory is a few rows, not the whole image,
  // so a 4000x3000 field shrinks without a float copy of itself.
  const rowLength = width * channels;
  const ring = new Float64Array(ys.stride * rowLength);
  const ringRow = new Int32Array(ys.stride).fill(-1);
  const filteredRow = (y: number): number => {
    const slot = y % ys.stride;
    const base = slot * rowLength;
    if (ringRow[slot] === y) return base;
    ringRow[slot] = y;
    ring.fill(0, base, base + rowLength);
    for (let x = 0; x < width; x++) {
      const out = base + x * channels;
      for (let k = 0; k < xs.count[x]; k++) {
        const w = xs.weights[x * xs.stride + k];
        const s = (y * img.width + xs.start[x] + k) * channels;
        for (let c = 0; c < channels; c++) ring[out + c] += w * img.data[s + c];
      }
    }
    return base;
  };
  const data = new Uint8Array(width * height * channels);
  const acc = new Float64Array(channels);
  const taps = new Int32Array(ys.stride);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < ys.count[y]; k++) taps[k] = filteredRow(ys.start[y] + k);
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      for (let k = 0; k < ys.count[y]; k++) {
        const w = ys.weights[y * ys.stride + k];
        const s = taps[k] + x * channels;
        for (let c = 0; c < channels; c++) acc[c] += w * ring[s + c];
      }
      const out = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) data[out + c] = Math.min(255, Math.max(0, Math.round(acc[c])));
    }
  }
  return { ...img, width, height, data };
}

/**
 * A label mask (one class index per pixel, below `classes`) resized to width x height with the same
 * filter: each output pixel takes the class that covers the largest weighted share of the source
 * pixels resizeSmooth would average there (ties to the lower class). The labels that belong to an
 * image shrunk by resizeSmooth: each model pixel is labelled by what most of its pixels show.
 */
export function resizeLabelsSmooth<T extends PixelGrid>(mask: T, width: number, height: number, classes: number): T {
  if (!Number.isInteger(classes) || classes < 1 || classes > 255) throw new Error(`resizeLabelsSmooth: classes must be 1..255, got ${classes}`);
  checkGridBytes('resizeLabelsSmooth', mask, 1, 'mask');
  const best = new Uint8Array(width * height);
  const share = new Uint8Array(width * height);
  const indicator = new Uint8Array(mask.data.length);
  for (let k = 0; k < classes; k++) {
    // Each pixel's class is checked on the first pass only; the later ones would find the same.
    for (let i = 0; i < indicator.length; i++) {
      const v = mask.data[i];
      if (k === 0 && v >= classes) throw new Error(`resizeLabelsSmooth: pixel ${i} has class ${v}, expected 0..${classes - 1}`);
      indicator[i] = v === k ? 255 : 0;
    }
    const shares = resizeSmooth({ width: mask.width, height: mask.height, data: indicator }, width, height, 1).data;
    for (let i = 0; i < shares.length; i++) {
      if (k === 0 || shares[i] > share[i]) {
        share[i] = shares[i];
        best[i] = k;
      }
    }
  }
  return { ...mask, width, height, data: best };
}
