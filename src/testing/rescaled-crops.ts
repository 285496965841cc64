// Crops as a lab at another magnification or framing would give them: an image and its truth rescaled
// (image smoothly, mask nearest) or cut to their centre 60 % of each side. For src/bench/crop-scale.ts
// and the crop-scale tests.
import { resizeSmooth } from '../data/resample.js';
import { resizeNearest } from '../data/resize.js';
import type { LabelMask, RgbImage } from '../data/types.js';

/** How a crop is changed: rescaled by a factor, or its centre 60 % of each side kept. */
export const CONDITIONS = ['0.5x', '0.75x', '1x', '1.5x', '2x', 'tight'] as const;
export type Condition = (typeof CONDITIONS)[number];

/** The image and its truth as a lab at another magnification or framing would have given them. */
export function transformPair(image: RgbImage, truth: LabelMask, condition: Condition): { image: RgbImage; truth: LabelMask } {
  if (condition === 'tight') {
    const cut = <T extends { width: number; height: number; data: Uint8Array }>(g: T, channels: number): T => {
      const x0 = Math.round(g.width * 0.2);
      const y0 = Math.round(g.height * 0.2);
      const w = Math.round(g.width * 0.6);
      const h = Math.round(g.height * 0.6);
      const data = new Uint8Array(w * h * channels);
      for (let y = 0; y < h; y++) data.set(g.data.subarray(((y0 + y) * g.width + x0) * channels, ((y0 + y) * g.width + x0 + w) * channels), y * w * channels);
      return { ...g, width: w, height: h, data };
    };
    return { image: cut(image, 3), truth: cut(truth, 1) };
  }
  const f = Number(condition.slice(0, -1));
  if (f === 1) return { image, truth };
  const w = Math.max(1, Math.round(image.width * f));
  const h = Math.max(1, Math.round(image.height * f));
  return { image: resizeSmooth(image, w, h, 3), truth: resizeNearest(truth, w, h, 1) };
}
