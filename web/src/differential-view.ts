// The page's differential table: cells per type and percentage over the images shown, built by the
// same function as `segment`'s differential.csv. Cells are typed on the server (its classifier);
// images segmented in this browser count as not typed. One table over every image shown (a field's
// cells each count); differential.csv also has a block per field.
import { differential } from '../../src/classify/differential.js';
import type { Item } from './view.js';
import { el } from './view.js';

export function renderDifferential(body: HTMLTableSectionElement, items: readonly Item[]): void {
  // One row per cell (a field's cells each count), or the image's own row when it has none.
  const rows = items.flatMap((i) => (i.rows ?? (i.row ? [i.row] : [])).map((r) => ({ file: i.file.name, cellType: r.cellType, mode: r.mode })));
  if (rows.length === 0) {
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '3' }, 'Cell types appear here.')));
    return;
  }
  body.replaceChildren(
    ...differential(rows, { perField: false }).map((r) =>
      el('tr', { 'data-type': r.cellType }, el('th', { scope: 'row' }, r.cellType), el('td', { class: 'num' }, String(r.count)), el('td', { class: 'num' }, r.percent === null ? '–' : `${r.percent.toFixed(1)} %`)),
    ),
  );
}
