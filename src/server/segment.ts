// POST /api/segment, the work part, run inside a segmentation worker (never on the server's event
// loop): decode one uploaded image, segment it, and build the answer: a results.json row plus mask
// and overlay PNGs as JSON, or one PNG.
import { decodeImage } from '../data/decode.js';
import { maskToGray } from '../output/masks.js';
import { encodePng } from '../output/png.js';
import { renderOverlay } from '../output/overlay.js';
import { cellStatsRow } from '../infer/morphometrics.js';
import { cellTypeRow } from '../classify/cell-types.js';
import type { Segmenter } from '../infer/segmenter.js';
import type { SegmentRow } from '../output/results.js';
import type { SegmentResponse } from './api-types.js';

/** What the server hands a worker: the upload's bytes and what to answer with. */
export interface SegmentJob {
  bytes: Uint8Array;
  /** A label for the response and messages only: never used as a path. */
  fileName: string;
  umPerPx?: number;
  /** 'json': row + both PNGs in base64; 'mask' / 'overlay': that PNG alone. */
  answer: 'json' | 'mask' | 'overlay';
}

/**
 * The finished response body as bytes (UTF-8 JSON or PNG), so the server's thread only sends it: a
 * 2800 x 2800 answer is ~10 MB of base64, which would otherwise be copied and encoded on that thread.
 */
export interface SegmentAnswer {
  contentType: 'application/json; charset=utf-8' | 'image/png';
  body: Uint8Array;
}

export async function segmentJob(segmenter: Segmenter, maxPixels: number, job: SegmentJob): Promise<SegmentAnswer> {
  const image = await decodeImage(job.bytes, job.fileName, { maxPixels });
  const result = await segmenter.segment({ ...image, channels: 3 }, { umPerPx: job.umPerPx, name: job.fileName });
  const maskPng = (): Promise<Buffer> => encodePng({ width: result.width, height: result.height, data: maskToGray(result.mask), channels: 1 });
  const overlayPng = (): Promise<Buffer> => encodePng(renderOverlay(result.image, result.mask));
  if (job.answer === 'mask') return { contentType: 'image/png', body: await maskPng() };
  if (job.answer === 'overlay') return { contentType: 'image/png', body: await overlayPng() };
  const row: SegmentRow = {
    file: job.fileName,
    name: job.fileName.replace(/\.[^.]*$/, '') || job.fileName,
    width: result.width,
    height: result.height,
    ...cellStatsRow(result.stats),
    ...cellTypeRow(result.cellType),
    inferenceMs: result.inferenceMs,
  };
  const [mask, overlay] = await Promise.all([maskPng(), overlayPng()]);
  const body: SegmentResponse = { ...row, maskPng: mask.toString('base64'), overlayPng: overlay.toString('base64') };
  return { contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(body), 'utf8') };
}
