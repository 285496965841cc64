// The PNG files of one segmented image, as `segment` writes them and the API returns them:
// NAME.mask.png (0 / 128 / 255 at the image's size), NAME.cells.png (16-bit cell labels) and
// NAME.overlay.png (see overlayFor).
import type { LabelMask, RgbImage } from '../data/types.js';
import type { SegmentedCell } from '../field/cells.js';
import { overlayFor } from './cell-overlay.js';
import { maskToGray } from './masks.js';
import { encodePng } from './png.js';
import { encodeGray16Png } from './png-gray16.js';

export interface ImagePngs {
  mask: Buffer;
  cells: Buffer;
  overlay: Buffer;
}

export interface SegmentedImage {
  width: number;
  height: number;
  image: RgbImage;
  mask: LabelMask;
  instances: Uint16Array;
  mode: 'crop' | 'field';
  cells: readonly SegmentedCell[];
}

export function maskPng(r: SegmentedImage): Promise<Buffer> {
  return encodePng({ width: r.width, height: r.height, data: maskToGray(r.mask), channels: 1 });
}

export async function cellsPng(r: SegmentedImage): Promise<Buffer> {
  const png = encodeGray16Png(r.width, r.height, r.instances);
  return Buffer.from(png.buffer, png.byteOffset, png.byteLength);
}

export function overlayPng(r: SegmentedImage): Promise<Buffer> {
  return encodePng(overlayFor(r));
}

export async function imageOutputs(r: SegmentedImage): Promise<ImagePngs> {
  const [mask, cells, overlay] = await Promise.all([maskPng(r), cellsPng(r), overlayPng(r)]);
  return { mask, cells, overlay };
}
