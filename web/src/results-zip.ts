// "Download all": every finished image's mask, cell-label and overlay PNGs, results.csv and results.json in one zip,
// built in the page with fflate, laid out as `leukoseg segment --out` lays out its folder.
import { zipSync, type Zippable } from 'fflate';
import type { SegmentRow } from '../../src/output/results.js';
import { rowsToCsv } from './format.js';

export interface ZipItem {
  /** The image's own row (its name names the files). */
  row: SegmentRow;
  /** Its rows in results.csv: one per cell, or its no-cell row. */
  rows: SegmentRow[];
  maskPng: Uint8Array;
  overlayPng: Uint8Array;
  cellsPng: Uint8Array;
  /** 'server' or 'browser', and the in-browser runtime, recorded per image in results.json. */
  mode: string;
}

/** Output stems unique within the zip: a second "001" (e.g. 001.bmp and 001.png) becomes "001-2". */
export function uniqueStems(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    let stem = name;
    for (let n = 2; used.has(stem); n++) stem = `${name}-${n}`;
    used.add(stem);
    return stem;
  });
}

/** The zip's bytes. PNGs are stored as they are (already deflated); the text files are deflated. */
export function buildResultsZip(items: readonly ZipItem[], model: { name: string } | null, umPerPx: number | null): Uint8Array<ArrayBuffer> {
  const stems = uniqueStems(items.map((i) => i.row.name));
  const files: Zippable = {};
  items.forEach((item, k) => {
    files[`${stems[k]}.mask.png`] = [item.maskPng, { level: 0 }];
    files[`${stems[k]}.overlay.png`] = [item.overlayPng, { level: 0 }];
    files[`${stems[k]}.cells.png`] = [item.cellsPng, { level: 0 }];
  });
  const rows = items.flatMap((i) => i.rows);
  const encoder = new TextEncoder();
  files['results.csv'] = encoder.encode(rowsToCsv(rows));
  files['results.json'] = encoder.encode(JSON.stringify({
    model: model ? { name: model.name } : null,
    umPerPx,
    images: rows,
    modes: items.map((i, k) => ({ name: stems[k], mode: i.mode })),
  }, null, 2));
  // zipSync allocates a fresh ArrayBuffer (never shared), which Blob needs.
  return zipSync(files, { level: 6 }) as Uint8Array<ArrayBuffer>;
}
