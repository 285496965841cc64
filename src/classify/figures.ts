// The classifier's pictures: the confusion matrix (rows the true type, columns the predicted one,
// each cell shaded by its share of the row and labelled with its count) and a grid of the most
// confident mistakes, each crop with its truth, prediction and confidence. SVG rendered by sharp.
import sharp, { type OverlayOptions } from 'sharp';
import type { RgbImage } from '../data/types.js';
import { escapeXml, FONT_SANS } from '../report/svg.js';
import { upscaleNearest } from '../report/grid.js';

const CELL = 58;
const LABEL_WIDTH = 110;
const TOP = 130;

/** The confusion matrix as an SVG document; pure, so its layout can be tested without rendering. */
export function confusionSvg(confusion: number[][], classNames: readonly string[], title: string): string {
  const k = classNames.length;
  if (confusion.length !== k || confusion.some((r) => r.length !== k)) throw new Error(`confusionSvg: a ${k}x${k} matrix is needed`);
  const left = LABEL_WIDTH + 30;
  const width = left + k * CELL + 40;
  const height = TOP + k * CELL + 50;
  const parts = [`<rect width="${width}" height="${height}" fill="#fff"/>`, `<text x="16" y="24" font-family="${FONT_SANS}" font-size="15" font-weight="bold" fill="#111">${escapeXml(title)}</text>`];
  parts.push(`<text x="${left + (k * CELL) / 2}" y="${TOP - 78}" text-anchor="middle" font-family="${FONT_SANS}" font-size="13" fill="#333">predicted</text>`);
  parts.push(`<text transform="translate(18 ${TOP + (k * CELL) / 2}) rotate(-90)" text-anchor="middle" font-family="${FONT_SANS}" font-size="13" fill="#333">true</text>`);
  classNames.forEach((name, c) => {
    const x = left + c * CELL + CELL / 2;
    parts.push(`<text transform="translate(${x + 4} ${TOP - 6}) rotate(-45)" font-family="${FONT_SANS}" font-size="12" fill="#222">${escapeXml(name)}</text>`);
    parts.push(`<text x="${left - 8}" y="${TOP + c * CELL + CELL / 2 + 4}" text-anchor="end" font-family="${FONT_SANS}" font-size="12" fill="#222">${escapeXml(name)}</text>`);
  });
  confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total === 0 ? 0 : count / total;
      // Diagonal in blue, mistakes in red: a lighter shade for a smaller share of the row.
      const [r, g, b] = t === p ? [40, 90, 200] : [210, 50, 40];
      const mix = (v: number) => Math.round(255 - share * (255 - v));
      const x = left + p * CELL;
      const y = TOP + t * CELL;
      parts.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="rgb(${mix(r)},${mix(g)},${mix(b)})" stroke="#bbb"/>`);
      const ink = share > 0.55 ? '#fff' : '#111';
      parts.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 5}" text-anchor="middle" font-family="${FONT_SANS}" font-size="15" fill="${ink}">${count}</text>`);
    });
    parts.push(`<text x="${left + k * CELL + 6}" y="${TOP + t * CELL + CELL / 2 + 4}" font-family="${FONT_SANS}" font-size="10" fill="#666">${total}</text>`);
  });
  parts.push(`<text x="${left}" y="${height - 16}" font-family="${FONT_SANS}" font-size="11" fill="#555">cells; shade = share of the true type's row</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

export async function renderConfusionPng(confusion: number[][], classNames: readonly string[], title: string): Promise<Buffer> {
  return sharp(Buffer.from(confusionSvg(confusion, classNames, title))).flatten({ background: '#ffffff' }).png().toBuffer();
}

export interface MistakeTile {
  crop: RgbImage;
  /** e.g. "Dataset 2/041". */
  name: string;
  truth: string;
  predicted: string;
  confidence: number;
}

const TILE_SCALE = 2;
const TILE_TEXT = 50;
const TILE_GAP = 12;
const COLUMNS = 4;

/** The tiles in rows of four (PNG bytes); an empty list gives a one-line "no mistakes" picture. */
export async function renderMistakesPng(tiles: readonly MistakeTile[], title: string): Promise<Buffer> {
  const side = Math.max(64, ...tiles.map((t) => t.crop.width)) * TILE_SCALE;
  const cols = Math.max(1, Math.min(COLUMNS, tiles.length));
  const rows = Math.ceil(tiles.length / COLUMNS);
  const width = 16 + cols * (side + TILE_GAP);
  const height = 40 + Math.max(1, rows) * (side + TILE_TEXT + TILE_GAP);
  const text = [`<text x="16" y="26" font-family="${FONT_SANS}" font-size="15" font-weight="bold" fill="#111">${escapeXml(title)}</text>`];
  if (tiles.length === 0) text.push(`<text x="16" y="64" font-family="${FONT_SANS}" font-size="13" fill="#333">no mistakes</text>`);
  const panels: OverlayOptions[] = [];
  tiles.forEach((tile, i) => {
    const x = 16 + (i % COLUMNS) * (side + TILE_GAP);
    const y = 40 + Math.floor(i / COLUMNS) * (side + TILE_TEXT + TILE_GAP);
    const big = upscaleNearest(tile.crop, TILE_SCALE);
    panels.push({ input: Buffer.from(big.data.buffer, big.data.byteOffset, big.data.byteLength), raw: { width: big.width, height: big.height, channels: 3 }, left: x, top: y });
    text.push(
      `<text x="${x}" y="${y + side + 15}" font-family="${FONT_SANS}" font-size="12" fill="#111">${escapeXml(tile.name)}</text>`,
      `<text x="${x}" y="${y + side + 30}" font-family="${FONT_SANS}" font-size="12" fill="#1a4">true ${escapeXml(tile.truth)}</text>`,
      `<text x="${x}" y="${y + side + 45}" font-family="${FONT_SANS}" font-size="12" fill="#c22">said ${escapeXml(tile.predicted)} ${(100 * tile.confidence).toFixed(0)} %</text>`,
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${text.join('')}</svg>`;
  panels.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const composed = await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(panels).png().toBuffer();
  return sharp(composed).removeAlpha().png().toBuffer();
}
