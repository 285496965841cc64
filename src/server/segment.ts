// POST /api/segment, the work part: take one uploaded image (multipart or raw body), decode it,
// run the shared model through the queue, and answer with a results.json row plus mask/overlay PNGs.
import { decodeImage } from '../data/decode.js';
import { maskToGray } from '../report/masks.js';
import { encodePng } from '../report/png.js';
import { renderOverlay } from '../report/overlay.js';
import { cellStatsRow } from '../infer/morphometrics.js';
import type { Segmenter } from '../infer/segmenter.js';
import type { SegmentRow } from '../report/results.js';
import type { SerialQueue } from './queue.js';
import { checkImageBytes, type Upload } from './upload.js';

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
  checkImageBytes(upload);
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
