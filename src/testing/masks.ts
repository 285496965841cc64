// Hand-drawn label masks for tests: one string per row, '.' background, 'c' cytoplasm, 'n' nucleus.
import type { LabelMask } from '../data/types.js';

const CLASS_OF: Record<string, number> = { '.': 0, c: 1, n: 2 };

export function maskFromRows(rows: string[]): LabelMask {
  const width = rows[0].length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (data[y * width + x] = CLASS_OF[ch])));
  return { width, height: rows.length, data };
}
