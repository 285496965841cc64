// The page's differential table: cells per type and percentage over the images shown, built by the
// same function as `segment`'s differential.csv. Cells are typed on the server (its classifier);
// images segmented in this browser count as not typed.
import { differential } from '../../src/classify/differential.js';
import type { Item } from './view.js';
import { el } from './view.js';

export function renderDifferential(body: HTMLTableSectionElement, items: readonly Item[]): void {
  const rows = items.flatMap((i) => (i.row ? [{ file: i.file.name, cellType: i.row.cellType }] : []));
  if (rows.length === 0) {
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '3' }, 'Cell types appear here.')));
    return;
  }
  body.replaceChildren(
    ...differential(rows).map((r) =>
      el('tr', { 'data-type': r.cellType }, el('th', { scope: 'row' }, r.cellType), el('td', { class: 'num' }, String(r.count)), el('td', { class: 'num' }, r.percent === null ? '–' : `${r.percent.toFixed(1)} %`)),
    ),
  );
}
