// POST /api/segment, the work part, run inside a segmentation worker (never on the server's event
// loop): decode one uploaded image, segment it (crop or field), and build the answer: the image's
// row, one row per cell, and the mask, cell-label and overlay PNGs as JSON, or one PNG.
import { decodeImage } from '../data/decode.js';
import { cellsPng, imageOutputs, maskPng, overlayPng } from '../output/image-outputs.js';
import type { Segmenter } from '../infer/segmenter.js';
import type { ModeChoice } from '../field/mode.js';
import { imageRow, segmentRows } from '../output/results.js';
import type { SegmentResponse } from './api-types.js';

/** What the server hands a worker: the upload's bytes and what to answer with. */
export interface SegmentJob {
  bytes: Uint8Array;
  /** A label for the response and messages only: never used as a path. */
  fileName: string;
  umPerPx?: number;
  mode?: ModeChoice;
  cellDiameter?: number | 'native';
  /** 'json': rows + the PNGs in base64; 'mask' / 'overlay' / 'cells': that PNG alone. */
  answer: 'json' | 'mask' | 'overlay' | 'cells';
}

/**
 * The finished response body as bytes (UTF-8 JSON or PNG), so the server's thread only sends it: a
 * 2800 x 2800 answer is ~10 MB of base64, which would otherwise be copied and encoded on that thread.
 */
export interface SegmentAnswer {
  contentType: 'application/json; charset=utf-8' | 'image/png';
  body: Uint8Array;
}

const PNG_OF = { mask: maskPng, overlay: overlayPng, cells: cellsPng } as const;

export async function segmentJob(segmenter: Segmenter, maxPixels: number, job: SegmentJob): Promise<SegmentAnswer> {
  const image = await decodeImage(job.bytes, job.fileName, { maxPixels });
  const result = await segmenter.segment({ ...image, channels: 3 }, { umPerPx: job.umPerPx, name: job.fileName, mode: job.mode, cellDiameter: job.cellDiameter });
  if (job.answer !== 'json') return { contentType: 'image/png', body: await PNG_OF[job.answer](result) };
  const name = job.fileName.replace(/\.[^.]*$/, '') || job.fileName;
  const pngs = await imageOutputs(result);
  const body: SegmentResponse = {
    ...imageRow(job.fileName, name, result),
    cells: result.cells.length === 0 ? [] : segmentRows(job.fileName, name, result),
    maskPng: pngs.mask.toString('base64'),
    overlayPng: pngs.overlay.toString('base64'),
    cellsPng: pngs.cells.toString('base64'),
  };
  return { contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(body), 'utf8') };
}
