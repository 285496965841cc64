// Pixels in the page: decoding files and mask PNGs with the browser's own decoders, the mask layer
// drawn over the image (fills plus leukoseg's outlines), and PNG files for download.
import { MASK_LEVELS, type LabelMask, type RgbImage } from '../../src/data/types.js';
import { CLASS_COLORS } from '../../src/output/colors.js';
import { maskToGray } from '../../src/output/masks.js';
import { renderOverlay } from '../../src/output/overlay.js';
import { overlayFor, renderCellsOverlay } from '../../src/output/cell-overlay.js';
import { cellsFromInstances } from '../../src/field/cells.js';
import { encodeGray16Png } from '../../src/output/png-gray16.js';
import { FORMAT_NAMES, sniffImageFormat } from '../../src/server/sniff.js';

/** Opacity of the class fills inside the layer; outlines are opaque. The slider fades the whole layer. */
const FILL_ALPHA = 0.45;

export interface LayerOptions {
  nucleus: boolean;
  cytoplasm: boolean;
}

function canvas2d(width: number, height: number): CanvasRenderingContext2D {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx === null) throw new Error('this browser has no 2D canvas');
  return ctx;
}

/**
 * Why the browser could not decode a file, judged from its first bytes: a TIFF is a format browsers
 * do not read (the server does), anything else that looks like an image is damaged or cut short.
 */
async function undecodableReason(blob: Blob): Promise<string> {
  const format = sniffImageFormat(new Uint8Array(await blob.slice(0, 16).arrayBuffer()));
  if (format === 'tiff') return 'Browsers cannot read TIFF images: choose "On the leukoseg server" to segment this one.';
  if (format !== null) return `This ${format.toUpperCase()} file could not be read: it may be damaged or cut short. Try exporting it again.`;
  return `This file is not an image this page can read; use ${FORMAT_NAMES}.`;
}

/** RGBA pixels of an image file, as stored: no colour-profile conversion, no premultiplied alpha. */
async function decodeRgba(blob: Blob, what: string, maxPixels: number): Promise<ImageData> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(await undecodableReason(blob));
  }
  const { width, height } = bitmap;
  if (width * height > maxPixels) {
    bitmap.close();
    throw new Error(`${what}: the image is ${width} × ${height} = ${(width * height).toLocaleString('en-US')} pixels, more than this server's limit of ${maxPixels.toLocaleString('en-US')}.`);
  }
  const ctx = canvas2d(width, height);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

/** An image file as RGB; alpha is dropped without compositing, as the server's decoder does. */
export async function decodeImageFile(file: Blob, name: string, maxPixels: number): Promise<RgbImage> {
  const rgba = await decodeRgba(file, name, maxPixels);
  const pixels = rgba.width * rgba.height;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    rgb[p * 3] = rgba.data[p * 4];
    rgb[p * 3 + 1] = rgba.data[p * 4 + 1];
    rgb[p * 3 + 2] = rgba.data[p * 4 + 2];
  }
  return { width: rgba.width, height: rgba.height, data: rgb };
}

/** A mask PNG from the API (gray 0 / 128 / 255) back to class indices. */
export async function decodeMaskPng(png: Blob, maxPixels: number): Promise<LabelMask> {
  const rgba = await decodeRgba(png, 'mask', maxPixels);
  const data = new Uint8Array(rgba.width * rgba.height);
  for (let p = 0; p < data.length; p++) {
    const gray = rgba.data[p * 4];
    data[p] = gray < (MASK_LEVELS[0] + MASK_LEVELS[1]) / 2 ? 0 : gray < (MASK_LEVELS[1] + MASK_LEVELS[2]) / 2 ? 1 : 2;
  }
  return { width: rgba.width, height: rgba.height, data };
}

export function base64ToBlob(base64: string, type: string): Blob {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

export function rgbToImageData(image: RgbImage): ImageData {
  const out = new ImageData(image.width, image.height);
  for (let p = 0; p < image.width * image.height; p++) {
    out.data[p * 4] = image.data[p * 3];
    out.data[p * 4 + 1] = image.data[p * 3 + 1];
    out.data[p * 4 + 2] = image.data[p * 3 + 2];
    out.data[p * 4 + 3] = 255;
  }
  return out;
}

/** The mask as shown: a hidden nucleus counts as cytoplasm, so the cell's edge stays where it is. */
function shownMask(mask: LabelMask, show: LayerOptions): LabelMask {
  const view = new Uint8Array(mask.data.length);
  for (let p = 0; p < view.length; p++) {
    const c = mask.data[p];
    view[p] = c === 2 ? (show.nucleus ? 2 : show.cytoplasm ? 1 : 0) : c === 1 && show.cytoplasm ? 1 : 0;
  }
  return { width: mask.width, height: mask.height, data: view };
}

/** Translucent class fills under `drawn` (outlines and labels painted on black: every non-black pixel is kept opaque). */
function layerOf(drawn: RgbImage, mask: LabelMask, show: LayerOptions): ImageData {
  const out = new ImageData(mask.width, mask.height);
  const fills = [null, show.cytoplasm ? CLASS_COLORS.cytoplasm : null, show.nucleus ? CLASS_COLORS.nucleus : null];
  for (let p = 0; p < mask.data.length; p++) {
    const r = drawn.data[p * 3], g = drawn.data[p * 3 + 1], b = drawn.data[p * 3 + 2];
    const fill = fills[mask.data[p]];
    if (r !== 0 || g !== 0 || b !== 0) out.data.set([r, g, b, 255], p * 4);
    else if (fill) out.data.set([fill[0], fill[1], fill[2], Math.round(FILL_ALPHA * 255)], p * 4);
  }
  return out;
}

/**
 * The layer drawn over a crop: translucent class fills and, on top, the same cyan cell and yellow
 * nucleus outlines as the overlay PNGs (renderOverlay on a black image leaves exactly the outline
 * pixels non-black).
 */
export function maskLayer(mask: LabelMask, show: LayerOptions): ImageData {
  const { width, height } = mask;
  return layerOf(renderOverlay({ width, height, data: new Uint8Array(width * height * 3) }, shownMask(mask, show)), mask, show);
}

/** The layer over a field: the fills, each cell outlined on its own and numbered, as NAME.overlay.png draws them. */
export function fieldLayer(mask: LabelMask, instances: Uint16Array, show: LayerOptions): ImageData {
  const { width, height } = mask;
  const cells = cellsFromInstances(shownMask(mask, show), instances);
  return layerOf(renderCellsOverlay({ width, height, data: new Uint8Array(width * height * 3) }, cells), mask, show);
}

async function pngOf(image: ImageData): Promise<Blob> {
  const ctx = canvas2d(image.width, image.height);
  ctx.putImageData(image, 0, 0);
  return new Promise((resolve, reject) => {
    ctx.canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}

/** The mask as a PNG of the data set's gray levels (stored as RGB by the canvas; values identical). */
export function maskPngBlob(mask: LabelMask): Promise<Blob> {
  const gray = maskToGray(mask);
  const out = new ImageData(mask.width, mask.height);
  for (let p = 0; p < gray.length; p++) out.data.set([gray[p], gray[p], gray[p], 255], p * 4);
  return pngOf(out);
}

/** The same picture as the CLI's NAME.overlay.png (a field's cells outlined and numbered). */
export function overlayPngBlob(r: Parameters<typeof overlayFor>[0]): Promise<Blob> {
  return pngOf(rgbToImageData(overlayFor(r)));
}

/** NAME.cells.png: the 16-bit cell labels, as the CLI writes them. */
export function cellsPngBlob(width: number, height: number, instances: Uint16Array): Blob {
  return new Blob([encodeGray16Png(width, height, instances) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}
