// POST /api/segment, the work part: take one uploaded image (multipart or raw body), decode it,
// run the shared model through the queue, and answer with a results.json row plus mask/overlay PNGs.
import type { FastifyRequest } from 'fastify';
import { decodeImage } from '../data/decode.js';
import { maskToGray } from '../report/masks.js';
import { encodePng } from '../report/png.js';
import { renderOverlay } from '../report/overlay.js';
import { cellStatsRow } from '../infer/morphometrics.js';
import type { Segmenter } from '../infer/segmenter.js';
import type { SegmentRow } from '../report/results.js';
import { ApiError } from './errors.js';
import type { SerialQueue } from './queue.js';

/** Content types accepted for the raw body and for the multipart file part (the decoder sniffs the bytes). */
export const IMAGE_CONTENT_TYPES = [
  'image/bmp',
  'image/x-bmp',
  'image/x-ms-bmp',
  'image/png',
  'image/jpeg',
  'image/tiff',
  'image/webp',
  'application/octet-stream',
];

export interface SegmentQuery {
  format?: 'json' | 'png';
  image?: 'mask' | 'overlay';
  umPerPx?: number;
  name?: string;
}

/** JSON schema of the query string; fastify answers 400 when it does not match. */
export const SEGMENT_QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { type: 'string', enum: ['json', 'png'] },
    image: { type: 'string', enum: ['mask', 'overlay'] },
    umPerPx: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
    name: { type: 'string', maxLength: 200 },
  },
} as const;

export interface Upload {
  bytes: Buffer;
  /** A label for the response and messages only: never used as a path. */
  fileName: string;
}

/** The last path segment of a client-supplied name, without control characters, at most 200 characters. */
export function cleanFileName(raw: string | undefined): string {
  const last = (raw ?? '').split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return last === '' ? 'upload' : last.slice(0, 200);
}

function checkContentType(type: string): void {
  const mediaType = type.split(';')[0]!.trim().toLowerCase();
  if (!IMAGE_CONTENT_TYPES.includes(mediaType)) {
    throw new ApiError(415, `unsupported file type '${mediaType}': send a BMP, PNG, JPEG, TIFF or WebP image`);
  }
}

/** The image bytes of a request: the first file part of a multipart body, or the raw body. */
export async function readUpload(request: FastifyRequest, query: SegmentQuery): Promise<Upload> {
  if (request.isMultipart()) {
    const part = await request.file();
    if (part === undefined) throw new ApiError(400, 'the form has no file: send the image as a file field (curl -F image=@cell.bmp)');
    checkContentType(part.mimetype);
    const bytes = await part.toBuffer();
    return { bytes, fileName: cleanFileName(query.name ?? part.filename) };
  }
  if (!Buffer.isBuffer(request.body)) throw new ApiError(400, 'no image in the request body');
  checkContentType(request.headers['content-type'] ?? '');
  return { bytes: request.body, fileName: cleanFileName(query.name) };
}

export interface SegmentContext {
  segmenter: Segmenter;
  queue: SerialQueue;
  maxPixels: number;
}

export interface SegmentOutcome {
  row: SegmentRow;
  /** Only the pictures asked for are encoded. */
  maskPng?: Buffer;
  overlayPng?: Buffer;
}

/**
 * Decodes outside the queue (sharp works on its own threads, so uploads decode while the model is
 * busy), runs the model inside it, then encodes outside it again.
 */
export async function segmentUpload(
  ctx: SegmentContext,
  upload: Upload,
  options: { umPerPx?: number; want: { mask: boolean; overlay: boolean }; cancelled?: () => boolean },
): Promise<SegmentOutcome> {
  if (upload.bytes.length === 0) throw new ApiError(422, 'the image is empty (0 bytes)');
  const image = await decodeImage(upload.bytes, upload.fileName, { maxPixels: ctx.maxPixels });
  const result = await ctx.queue.run(
    () => ctx.segmenter.segment({ ...image, channels: 3 }, { umPerPx: options.umPerPx, name: upload.fileName }),
    options.cancelled,
  );
  const row: SegmentRow = {
    file: upload.fileName,
    name: upload.fileName.replace(/\.[^.]*$/, '') || upload.fileName,
    width: result.width,
    height: result.height,
    ...cellStatsRow(result.stats),
    inferenceMs: result.inferenceMs,
  };
  const [maskPng, overlayPng] = await Promise.all([
    options.want.mask ? encodePng({ width: result.width, height: result.height, data: maskToGray(result.mask), channels: 1 }) : undefined,
    options.want.overlay ? encodePng(renderOverlay(result.image, result.mask)) : undefined,
  ]);
  return { row, maskPng, overlayPng };
}
