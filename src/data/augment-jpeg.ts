// JPEG compression artefacts for augmentation: many lab cameras and slide scanners save JPEG, whose 8x8
// blocks and chroma smearing a model trained on lossless crops has never seen. Pure; a new array out.
// jpeg-js rather than sharp because augmentation runs synchronously inside the batch loop.
import { decode, encode } from 'jpeg-js';
import type { RgbImage } from './types.js';

/** The image encoded as JPEG at `quality` (1..100) and decoded again, same size. */
export function jpegArtefacts(image: RgbImage, quality: number): RgbImage {
  if (!(quality >= 1 && quality <= 100)) throw new Error(`jpeg quality must be within 1..100, got ${quality}`);
  const { width, height } = image;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    rgba[j] = image.data[i * 3];
    rgba[j + 1] = image.data[i * 3 + 1];
    rgba[j + 2] = image.data[i * 3 + 2];
    rgba[j + 3] = 255;
  }
  const jpeg = encode({ width, height, data: rgba }, Math.round(quality));
  const back = decode(jpeg.data, { useTArray: true, formatAsRGBA: false });
  if (back.width !== width || back.height !== height) throw new Error('jpeg round trip changed the image size');
  return { width, height, data: new Uint8Array(back.data.buffer, back.data.byteOffset, width * height * 3).slice() };
}
