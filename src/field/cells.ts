// One white cell as segment() reports it: where it is (bounding box, centroid, in image pixels),
// its own mask and its morphometrics from src/infer/morphometrics.ts, measured on the cell alone.
// Shared by field mode and crop mode, so every cell is described the same way. Pure.
import type { LabelMask } from '../data/types.js';
import { NUM_CLASSES } from '../data/types.js';
import { measureCell, WARNING_TOUCHES_BORDER, type CellStats } from '../infer/morphometrics.js';
import type { PixelRect } from './window.js';

export interface SegmentedCell {
  /** 1..n in the image (reading order of the centroids in a field). */
  index: number;
  /** Bounding box of the cell's pixels, image pixels. */
  bbox: PixelRect;
  /** Mean position of the cell's pixels, image pixels. */
  centroidX: number;
  centroidY: number;
  /** Class per pixel of the bounding box (0 background, 1 cytoplasm, 2 nucleus), this cell's pixels only. */
  mask: LabelMask;
  /** Measured on this cell alone, at the image's resolution; `touches-border` means the image's border. */
  stats: CellStats;
}

/** Where a cell lies in a region of the image: its pixels' box and centroid (null when it has none). */
export function cellPlace(mask: LabelMask, origin: { x: number; y: number }): { bbox: PixelRect; centroidX: number; centroidY: number; area: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  let sx = 0;
  let sy = 0;
  let area = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x] === 0) continue;
      area++;
      sx += x;
      sy += y;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (area === 0) return null;
  return {
    bbox: { x: origin.x + x0, y: origin.y + y0, width: x1 - x0 + 1, height: y1 - y0 + 1 },
    centroidX: origin.x + sx / area,
    centroidY: origin.y + sy / area,
    area,
  };
}

/** The rectangle `rect` of a region's HWC values (`channels` per pixel); rect is in region coordinates. */
export function cutRect<T extends Uint8Array | Float32Array>(values: T, regionWidth: number, rect: PixelRect, channels: number, make: (n: number) => T): T {
  const out = make(rect.width * rect.height * channels);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * regionWidth + rect.x) * channels;
    out.set(values.subarray(from, from + rect.width * channels), y * rect.width * channels);
  }
  return out;
}

/**
 * Describes the one cell in `mask` (a region of the image at `region`, only this cell's pixels set):
 * measured by measureCell on its bounding box grown by a pixel (so the measuring never sees a cut
 * the box made), with `probs` over the region for the confidences. `touches-border` is set when the
 * cell reaches the image's border (imageWidth x imageHeight), and only then.
 */
export function describeCell(
  mask: LabelMask,
  region: PixelRect,
  image: { width: number; height: number },
  index: number,
  options: { probs?: Float32Array; umPerPx?: number } = {},
): SegmentedCell | null {
  const place = cellPlace(mask, region);
  if (place === null) return null;
  const { bbox } = place;
  const local: PixelRect = {
    x: Math.max(0, bbox.x - region.x - 1),
    y: Math.max(0, bbox.y - region.y - 1),
    width: 0,
    height: 0,
  };
  local.width = Math.min(region.width, bbox.x - region.x + bbox.width + 1) - local.x;
  local.height = Math.min(region.height, bbox.y - region.y + bbox.height + 1) - local.y;
  const measured: LabelMask = { width: local.width, height: local.height, data: cutRect(mask.data, region.width, local, 1, (n) => new Uint8Array(n)) };
  const probs = options.probs && cutRect(options.probs, region.width, local, NUM_CLASSES, (n) => new Float32Array(n));
  const stats = measureCell(measured, { umPerPx: options.umPerPx, probs });
  const touchesBorder = bbox.x === 0 || bbox.y === 0 || bbox.x + bbox.width === image.width || bbox.y + bbox.height === image.height;
  // measureCell also flags a cell reaching the edge of a field's window; only the image's border counts.
  if (!touchesBorder) stats.warnings = stats.warnings.filter((w) => w !== WARNING_TOUCHES_BORDER);
  const own: PixelRect = { x: bbox.x - region.x, y: bbox.y - region.y, width: bbox.width, height: bbox.height };
  return { index, bbox, centroidX: place.centroidX, centroidY: place.centroidY, mask: { width: bbox.width, height: bbox.height, data: cutRect(mask.data, region.width, own, 1, (n) => new Uint8Array(n)) }, stats };
}

/** The cell's own mask laid into `rect` of the image: its classes on its pixels, 0 everywhere else. */
export function cellMaskIn(cell: Pick<SegmentedCell, 'bbox' | 'mask'>, rect: PixelRect): LabelMask {
  const out: LabelMask = { width: rect.width, height: rect.height, data: new Uint8Array(rect.width * rect.height) };
  for (let y = 0; y < rect.height; y++) {
    const cy = rect.y + y - cell.bbox.y;
    if (cy < 0 || cy >= cell.bbox.height) continue;
    for (let x = 0; x < rect.width; x++) {
      const cx = rect.x + x - cell.bbox.x;
      if (cx >= 0 && cx < cell.bbox.width) out.data[y * rect.width + x] = cell.mask.data[cy * cell.bbox.width + cx];
    }
  }
  return out;
}

/**
 * Each cell's number, box and own mask rebuilt from a semantic mask and its instance labels (as
 * NAME.cells.png stores them), for drawing a field whose masks came back as files.
 */
export function cellsFromInstances(mask: LabelMask, instances: Uint16Array): Array<Pick<SegmentedCell, 'index' | 'bbox' | 'mask'>> {
  const { width, height } = mask;
  if (instances.length !== width * height) throw new Error(`cell labels have ${instances.length} pixels, the mask ${width}x${height}`);
  const boxes = new Map<number, { x0: number; y0: number; x1: number; y1: number }>();
  for (let p = 0; p < instances.length; p++) {
    const k = instances[p];
    if (k === 0) continue;
    const x = p % width;
    const y = (p - x) / width;
    const b = boxes.get(k);
    if (!b) boxes.set(k, { x0: x, y0: y, x1: x, y1: y });
    else {
      b.x0 = Math.min(b.x0, x);
      b.x1 = Math.max(b.x1, x);
      b.y1 = y;
    }
  }
  return [...boxes.entries()].sort((a, b) => a[0] - b[0]).map(([index, b]) => {
    const bbox = { x: b.x0, y: b.y0, width: b.x1 - b.x0 + 1, height: b.y1 - b.y0 + 1 };
    const data = new Uint8Array(bbox.width * bbox.height);
    for (let y = 0; y < bbox.height; y++) {
      for (let x = 0; x < bbox.width; x++) {
        const p = (bbox.y + y) * width + bbox.x + x;
        if (instances[p] === index) data[y * bbox.width + x] = mask.data[p];
      }
    }
    return { index, bbox, mask: { width: bbox.width, height: bbox.height, data } };
  });
}
