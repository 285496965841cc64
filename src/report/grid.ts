// Prediction figures like the study's: one row per test image with image | truth | prediction
// panels, the image id and its mean Dice beside each row, column headers and a class legend.
import sharp, { type OverlayOptions } from 'sharp';
import { CLASS_NAMES, type LabelMask, type RgbImage } from '../data/types.js';
import { confusionMatrix } from '../metrics/confusion.js';
import { computeMetrics } from '../metrics/scores.js';
import { CLASS_COLORS, rgbToHex } from '../output/colors.js';
import { maskToRgb } from '../output/masks.js';
import { escapeXml, FONT_MONO, FONT_SANS, MONO_CHAR_WIDTH, truncate } from './svg.js';

export interface GridRow {
  id: string;
  image: RgbImage;
  truth: LabelMask;
  pred: LabelMask;
}

export interface GridOptions {
  /** Integer nearest-neighbour upscale of every panel, default 2 (model inputs are small). */
  scale?: number;
  title?: string;
}

export const COLUMN_HEADERS = ['image', 'truth', 'prediction'] as const;

// Layout constants in output pixels.
const MARGIN = 16;
const TITLE_HEIGHT = 30;
const HEADER_HEIGHT = 24;
const PANEL_GAP = 8;
const ROW_GAP = 10;
const LEGEND_HEIGHT = 34;
const ID_FONT_SIZE = 13;
const LABEL_MIN_WIDTH = 120;
const LABEL_MAX_CHARS = 28;

export interface GridLayout {
  width: number;
  height: number;
  scale: number;
  panelWidth: number;
  panelHeight: number;
  labelWidth: number;
  /** Left edge of each of the three panel columns. */
  columnLeft: [number, number, number];
  /** Top edge of the first row of panels. */
  rowsTop: number;
  /** Ids as drawn (long ones truncated). */
  labels: string[];
}

/** Where everything goes; pure, so the figure's size can be known (and tested) without rendering. */
export function layoutPredictionGrid(rows: readonly GridRow[], options: GridOptions = {}): GridLayout {
  if (rows.length === 0) throw new Error('a prediction grid needs at least one row');
  const scale = options.scale ?? 2;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new Error(`scale must be a whole number 1..16, got ${scale}`);
  for (const row of rows) {
    const { width, height, data } = row.image;
    if (data.length !== width * height * 3) throw new Error(`${row.id}: image data has ${data.length} bytes, expected ${width}x${height}x3`);
    for (const [name, img] of [['truth', row.truth], ['pred', row.pred]] as const) {
      if (img.data.length !== img.width * img.height) throw new Error(`${row.id}: ${name} has ${img.data.length} labels for ${img.width}x${img.height}`);
      if (img.width !== row.image.width || img.height !== row.image.height) {
        throw new Error(`${row.id}: ${name} is ${img.width}x${img.height} but the image is ${row.image.width}x${row.image.height}`);
      }
    }
  }
  const panelWidth = Math.max(...rows.map((r) => r.image.width)) * scale;
  const panelHeight = Math.max(...rows.map((r) => r.image.height)) * scale;
  const labels = rows.map((r) => truncate(r.id, LABEL_MAX_CHARS));
  const longest = Math.max(...labels.map((l) => Array.from(l).length));
  const labelWidth = Math.max(LABEL_MIN_WIDTH, Math.ceil(longest * ID_FONT_SIZE * MONO_CHAR_WIDTH) + 16);
  const left = MARGIN + labelWidth;
  const columnLeft: [number, number, number] = [left, left + panelWidth + PANEL_GAP, left + 2 * (panelWidth + PANEL_GAP)];
  const rowsTop = MARGIN + (options.title ? TITLE_HEIGHT : 0) + HEADER_HEIGHT;
  const width = columnLeft[2] + panelWidth + MARGIN;
  const height = rowsTop + rows.length * panelHeight + (rows.length - 1) * ROW_GAP + LEGEND_HEIGHT + MARGIN;
  return { width, height, scale, panelWidth, panelHeight, labelWidth, columnLeft, rowsTop, labels };
}

/** Integer nearest-neighbour upscale, so mask pixels stay crisp blocks instead of blurred edges. */
export function upscaleNearest(img: RgbImage, scale: number): RgbImage {
  if (scale === 1) return img;
  const width = img.width * scale;
  const height = img.height * scale;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const srcRow = Math.floor(y / scale) * img.width;
    for (let x = 0; x < width; x++) {
      const src = (srcRow + Math.floor(x / scale)) * 3;
      const dst = (y * width + x) * 3;
      data[dst] = img.data[src]!;
      data[dst + 1] = img.data[src + 1]!;
      data[dst + 2] = img.data[src + 2]!;
    }
  }
  return { width, height, data };
}

function meanDice(row: GridRow): number {
  return computeMetrics(confusionMatrix(row.pred.data, row.truth.data), { images: 1 }).dice.mean;
}

/** Text, panel frames and legend, drawn over the composited panels. */
function overlaySvg(rows: readonly GridRow[], layout: GridLayout, title: string | undefined): string {
  const { width, height, panelWidth, panelHeight, columnLeft, rowsTop } = layout;
  const parts: string[] = [];
  if (title) {
    parts.push(
      `<text x="${MARGIN}" y="${MARGIN + 18}" font-family="${FONT_SANS}" font-size="16" font-weight="bold" fill="#111">${escapeXml(title)}</text>`,
    );
  }
  COLUMN_HEADERS.forEach((header, col) => {
    parts.push(
      `<text x="${columnLeft[col] + panelWidth / 2}" y="${rowsTop - 8}" text-anchor="middle" font-family="${FONT_SANS}" font-size="14" font-weight="bold" fill="#222">${header}</text>`,
    );
  });
  rows.forEach((row, i) => {
    const top = rowsTop + i * (panelHeight + ROW_GAP);
    const middle = top + panelHeight / 2;
    parts.push(
      `<text x="${MARGIN}" y="${middle - 2}" font-family="${FONT_MONO}" font-size="${ID_FONT_SIZE}" fill="#111">${escapeXml(layout.labels[i]!)}</text>`,
      `<text x="${MARGIN}" y="${middle + 15}" font-family="${FONT_SANS}" font-size="11" fill="#555">mean Dice ${meanDice(row).toFixed(3)}</text>`,
    );
    for (const left of columnLeft) {
      const w = row.image.width * layout.scale;
      const h = row.image.height * layout.scale;
      const x = left + (panelWidth - w) / 2;
      const y = top + (panelHeight - h) / 2;
      parts.push(`<rect x="${x - 0.5}" y="${y - 0.5}" width="${w + 1}" height="${h + 1}" fill="none" stroke="#999" stroke-width="1"/>`);
    }
  });
  // Legend: a swatch and name per class, on one line under the panels.
  const legendY = height - MARGIN - LEGEND_HEIGHT / 2 + 4;
  let x = columnLeft[0];
  for (const name of CLASS_NAMES) {
    parts.push(
      `<rect x="${x}" y="${legendY - 7}" width="14" height="14" rx="2" fill="${rgbToHex(CLASS_COLORS[name])}" stroke="#777" stroke-width="1"/>`,
      `<text x="${x + 20}" y="${legendY + 5}" font-family="${FONT_SANS}" font-size="13" fill="#222">${name}</text>`,
    );
    x += 20 + name.length * 8 + 24;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** Renders the grid to PNG bytes. Throws if rows is empty or a row's masks differ in size from its image. */
export async function renderPredictionGrid(rows: readonly GridRow[], options: GridOptions = {}): Promise<Buffer> {
  const layout = layoutPredictionGrid(rows, options);
  const panels: OverlayOptions[] = [];
  rows.forEach((row, i) => {
    const top = layout.rowsTop + i * (layout.panelHeight + ROW_GAP);
    const images = [row.image, maskToRgb(row.truth), maskToRgb(row.pred)];
    images.forEach((img, col) => {
      const big = upscaleNearest(img, layout.scale);
      panels.push({
        input: Buffer.from(big.data.buffer, big.data.byteOffset, big.data.byteLength),
        raw: { width: big.width, height: big.height, channels: 3 },
        left: layout.columnLeft[col]! + Math.floor((layout.panelWidth - big.width) / 2),
        top: top + Math.floor((layout.panelHeight - big.height) / 2),
      });
    });
  });
  panels.push({ input: Buffer.from(overlaySvg(rows, layout, options.title)), left: 0, top: 0 });
  const composed = await sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .composite(panels)
    .png()
    .toBuffer();
  // Compositing the SVG adds an alpha channel; the figure is opaque, so drop it (smaller file).
  return sharp(composed).removeAlpha().png().toBuffer();
}
