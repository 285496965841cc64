// The overlay of a field: every white cell outlined on its own (touching cells keep the border
// between them) with its nucleus, and its number (the row's cellIndex) in a label beside it. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';
import { cellMaskIn, type SegmentedCell } from '../field/cells.js';
import { cropRgb } from '../field/window.js';
import { renderOverlay } from './overlay.js';

/** 3x5 pixel digits, rows top to bottom, 3 bits a row (left = 4). */
const DIGITS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
};

const LABEL_TEXT: readonly [number, number, number] = [255, 255, 255];
const LABEL_BOX: readonly [number, number, number] = [20, 20, 20];

export interface CellOverlayOptions {
  /** Outline thickness (default: 1 px per 80 px of the median cell's equivalent diameter, at least 1). */
  outlineWidth?: number;
  /** Size of a digit's pixel (default: 1 per 30 px of that diameter, at least 2). */
  digitScale?: number;
}

/** Size in pixels of a number's label at `scale`: digits of 3x5 with a 1-unit gap and a 1-unit margin. */
export function labelSize(text: string, scale: number): { width: number; height: number } {
  return { width: (text.length * 4 + 1) * scale, height: 7 * scale };
}

/** Paints `text` (digits) in a dark box with its top-left corner at (x, y), clipped to the image. */
export function drawLabel(image: RgbImage, text: string, x: number, y: number, scale: number): void {
  const { width, height } = labelSize(text, scale);
  const put = (px: number, py: number, rgb: readonly number[]) => {
    if (px < 0 || py < 0 || px >= image.width || py >= image.height) return;
    image.data.set(rgb, (py * image.width + px) * 3);
  };
  for (let dy = 0; dy < height; dy++) for (let dx = 0; dx < width; dx++) put(x + dx, y + dy, LABEL_BOX);
  [...text].forEach((ch, i) => {
    const rows = DIGITS[ch];
    if (!rows) throw new Error(`drawLabel: only digits can be drawn, got '${ch}'`);
    rows.forEach((bits, row) => {
      for (let col = 0; col < 3; col++) {
        if ((bits & (4 >> col)) === 0) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) put(x + (1 + i * 4 + col) * scale + sx, y + (1 + row) * scale + sy, LABEL_TEXT);
        }
      }
    });
  });
}

/** What drawing a cell needs: its number, box and own mask (a SegmentedCell, or one rebuilt from NAME.cells.png). */
export type DrawnCell = Pick<SegmentedCell, 'index' | 'bbox' | 'mask'>;

/** Median equivalent diameter of the cells' own pixels. */
function medianDiameter(cells: readonly DrawnCell[]): number {
  const d = cells.map((c) => Math.sqrt((4 * c.mask.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)) / Math.PI)).sort((a, b) => a - b);
  return d.length === 0 ? 0 : d[d.length >> 1];
}

/**
 * The image with each cell's outline (cyan) and nucleus outline (yellow), drawn as renderOverlay
 * draws one cell but for each cell alone, so two touching cells each keep their own edge, and each
 * cell's number in a white-on-dark label centred above its box (inside it at the image's top).
 */
export function renderCellsOverlay(image: RgbImage, cells: readonly DrawnCell[], options: CellOverlayOptions = {}): RgbImage {
  const diameter = medianDiameter(cells);
  const outlineWidth = options.outlineWidth ?? Math.max(1, Math.round(diameter / 80));
  const scale = options.digitScale ?? Math.max(2, Math.round(diameter / 30));
  const out: RgbImage = { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  for (const cell of cells) {
    // The box grown by the outline's width (within the image), so only the image's edge is an edge here.
    const x0 = Math.max(0, cell.bbox.x - outlineWidth - 1);
    const y0 = Math.max(0, cell.bbox.y - outlineWidth - 1);
    const x1 = Math.min(image.width, cell.bbox.x + cell.bbox.width + outlineWidth + 1);
    const y1 = Math.min(image.height, cell.bbox.y + cell.bbox.height + outlineWidth + 1);
    const w = x1 - x0;
    const h = y1 - y0;
    const rect = { x: x0, y: y0, width: w, height: h };
    const crop = cropRgb(image, rect).data;
    const drawn = renderOverlay({ width: w, height: h, data: crop }, cellMaskIn(cell, rect), { outlineWidth });
    for (let p = 0; p < w * h; p++) {
      const s = p * 3;
      if (drawn.data[s] === crop[s] && drawn.data[s + 1] === crop[s + 1] && drawn.data[s + 2] === crop[s + 2]) continue;
      const d = ((y0 + Math.floor(p / w)) * image.width + x0 + (p % w)) * 3;
      out.data.set(drawn.data.subarray(s, s + 3), d);
    }
  }
  for (const cell of cells) {
    const text = String(cell.index);
    const size = labelSize(text, scale);
    const x = Math.min(Math.max(0, Math.round(cell.bbox.x + cell.bbox.width / 2 - size.width / 2)), Math.max(0, image.width - size.width));
    const above = cell.bbox.y - size.height - 1;
    drawLabel(out, text, x, above >= 0 ? above : cell.bbox.y, scale);
  }
  return out;
}

/** The overlay segment writes as NAME.overlay.png: a crop's one cell as renderOverlay draws it, a field's cells outlined and numbered. */
export function overlayFor(r: { image: RgbImage; mask: LabelMask; mode: 'crop' | 'field'; cells: readonly DrawnCell[] }): RgbImage {
  return r.mode === 'field' ? renderCellsOverlay(r.image, r.cells) : renderOverlay(r.image, r.mask);
}
