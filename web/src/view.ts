// The page's DOM for results: one card per image (image with the mask layer, metrics, warnings,
// downloads; a field's numbered cells and a table of them) and in the summary table one row per
// crop and one per cell of a field. Text always goes in as text, never HTML.
import type { LabelMask, RgbImage } from '../../src/data/types.js';
import type { SegmentRow } from '../../src/output/results.js';
import { areaText, CARD_METRICS, cellTypeText, formatInt, formatMs, formatNumber, modeLabel, warningTexts, type Mode } from './format.js';
import { fieldLayer, maskLayer, rgbToImageData, type LayerOptions } from './images.js';

export interface Item {
  id: number;
  file: File;
  mode: Mode;
  status: 'queued' | 'running' | 'done' | 'error';
  card: HTMLElement;
  image?: RgbImage;
  mask?: LabelMask;
  /** 0 = no cell, k = the cell numbered k, at the image's size. */
  instances?: Uint16Array;
  /** The image's own row (a crop's cell; a field's main cell). */
  row?: SegmentRow;
  /** Its rows in the CSV: one per cell, or its no-cell row. */
  rows?: SegmentRow[];
  /** 'wasm' or 'cpu' in browser mode. */
  backend?: string;
  /** In browser mode, what ran the network: "ONNX Runtime Web (1 thread)" or "TensorFlow.js". */
  runtimeLabel?: string;
  /** From choosing the image to its numbers on the page, upload and decoding included. */
  totalMs?: number;
  maskUrl?: string;
  overlayUrl?: string;
  cellsUrl?: string;
  /** The PNGs behind maskUrl / overlayUrl, for the zip (the page's CSP forbids fetching blob: URLs). */
  maskPng?: Blob;
  overlayPng?: Blob;
  cellsPng?: Blob;
  error?: string;
}

type Child = Node | string;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function cardId(id: number): string {
  return `image-${id}`;
}

/** A card in its waiting state; `fillCard` completes it. */
export function newCard(id: number, fileName: string, mode: Mode): HTMLElement {
  return el('article', { class: 'card', id: cardId(id), 'data-status': 'queued', 'data-mode': mode, 'aria-busy': 'true' },
    el('header', { class: 'card-head' }, el('h3', {}, fileName), el('span', { class: `badge ${mode}` }, `${modeLabel(mode)} · waiting`)),
    el('div', { class: 'card-body' }, el('p', { class: 'placeholder' }, 'Waiting…')),
  );
}

export function setRunning(item: Item): void {
  item.card.dataset.status = 'running';
  item.card.querySelector('.badge')!.textContent = `${modeLabel(item.mode)} · running…`;
  item.card.querySelector('.placeholder')!.textContent = item.mode === 'browser' ? 'Segmenting in this browser…' : 'Segmenting on the server…';
}

export function showError(item: Item): void {
  item.card.dataset.status = 'error';
  item.card.removeAttribute('aria-busy');
  const badge = item.card.querySelector('.badge')!;
  badge.textContent = `${modeLabel(item.mode)} · failed`;
  badge.className = `badge ${item.mode} failed`;
  item.card.querySelector('.card-body')!.replaceChildren(el('p', { class: 'error', role: 'alert' }, item.error ?? 'failed'));
}

/** Draws the mask layer of a done card with the current toggles. */
export function drawLayer(item: Item, show: LayerOptions): void {
  const canvas = item.card.querySelector<HTMLCanvasElement>('canvas.layer');
  if (!canvas || !item.mask) return;
  const layer = item.row?.mode === 'field' && item.instances ? fieldLayer(item.mask, item.instances, show) : maskLayer(item.mask, show);
  canvas.getContext('2d')!.putImageData(layer, 0, 0);
}

/** A field's cells, one table row each, numbered as on the image. */
function cellTable(rows: readonly SegmentRow[]): HTMLElement {
  // Circularity and the rest are in the summary table and the CSV; the card keeps to what fits beside the image.
  const head = ['Cell', 'Cell area', 'Nucleus area', 'N:C', 'Lobes', 'Type', 'Warnings'];
  return el('table', { class: 'cells-table' },
    el('caption', {}, 'Cells of this field, numbered as on the image'),
    el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', { scope: 'col', ...(i > 0 && i < 5 ? { class: 'num' } : {}) }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', { 'data-cell': String(r.cellIndex) },
      el('th', { scope: 'row' }, String(r.cellIndex)),
      ...[areaText(r, 'cellAreaPx'), areaText(r, 'nucleusAreaPx'), formatNumber(r.ncRatio, 2), formatInt(r.nucleusLobes)]
        .map((c) => el('td', { class: 'num' }, c)),
      el('td', { 'data-type': typeof r.cellType === 'string' ? r.cellType : '' }, cellTypeText(r)),
      el('td', { class: 'warn' }, warningTexts(r).join('; ') || '–'),
    ))),
  );
}

/** What a field's card says above its table: how many cells, and the cell size its scale came from. */
function fieldSummary(row: SegmentRow, cells: number): string {
  const size = row.fieldCellDiameterPx === null ? '' : ` · cell diameter ${Math.round(Number(row.fieldCellDiameterPx))} px`;
  return `Field: ${cells === 0 ? 'no white cell found' : `${cells} white cell${cells === 1 ? '' : 's'}`}${size}`;
}

export function fillCard(item: Item, show: LayerOptions): void {
  const { image, mask, row } = item;
  if (!image || !mask || !row) return;
  const base = el('canvas', { class: 'base', width: String(image.width), height: String(image.height) });
  base.getContext('2d')!.putImageData(rgbToImageData(image), 0, 0);
  const layer = el('canvas', { class: 'layer', width: String(image.width), height: String(image.height) });
  const cellRows = (item.rows ?? []).filter((r) => r.cellIndex !== null);
  const field = row.mode === 'field';
  const stack = el('div', { class: 'stack', role: 'img', 'aria-label': `${item.file.name} with ${field ? 'its numbered cells' : 'nucleus and cytoplasm'} overlaid` }, base, layer);
  // A field is shown at its own aspect ratio (through the CSSOM: the page's CSP allows no style attributes).
  if (field) stack.style.aspectRatio = `${image.width} / ${image.height}`;
  const figure = el('figure', { class: 'figure' }, stack, el('figcaption', {}, `${row.width} × ${row.height} px`));
  const metrics = el('dl', { class: 'metrics' });
  for (const m of CARD_METRICS) {
    const value = row[m.key];
    metrics.append(el('div', { class: 'metric' }, el('dt', {}, m.label), el('dd', { 'data-metric': m.key, 'data-value': value === null ? '' : String(value) }, m.format(row))));
  }
  // The type is a word, not a measurement: beside the metrics, without data-metric.
  metrics.append(el('div', { class: 'metric' }, el('dt', {}, 'Cell type'), el('dd', { 'data-type': typeof row.cellType === 'string' ? row.cellType : '' }, cellTypeText(row))));
  const measured = field
    ? el('div', { class: 'field-cells', 'data-cells': String(cellRows.length) }, el('p', { class: 'field-summary' }, fieldSummary(row, cellRows.length)), ...(cellRows.length > 0 ? [cellTable(cellRows)] : []))
    : metrics;
  // A field's warnings are its cells', in their table.
  const warnings = warningTexts(row);
  const warningBox = field && cellRows.length > 0
    ? null
    : warnings.length > 0
      ? el('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...warnings.map((w) => el('li', {}, w)))
      : el('p', { class: 'ok' }, 'No warnings');
  const downloads = el('p', { class: 'downloads' },
    el('a', { href: item.maskUrl!, download: `${row.name}.mask.png`, class: 'button small' }, 'Mask PNG'),
    el('a', { href: item.overlayUrl!, download: `${row.name}.overlay.png`, class: 'button small' }, 'Overlay PNG'),
    ...(item.cellsUrl ? [el('a', { href: item.cellsUrl, download: `${row.name}.cells.png`, class: 'button small' }, 'Cell labels PNG')] : []),
  );
  const time = el('p', { class: 'timing', 'data-mode': item.mode },
    `${modeLabel(item.mode, item.backend)}: ${formatMs(item.totalMs ?? 0)} in all, model ${formatMs(row.inferenceMs)}${item.runtimeLabel ? ` · ${item.runtimeLabel}` : ''}`);
  item.card.querySelector('.badge')!.textContent = `${modeLabel(item.mode)} · ${formatMs(item.totalMs ?? 0)}`;
  item.card.querySelector('.card-body')!.replaceChildren(figure, el('div', { class: 'details' }, measured, ...(warningBox ? [warningBox] : []), time, downloads));
  if (field) item.card.classList.add('field');
  item.card.dataset.status = 'done';
  item.card.removeAttribute('aria-busy');
  drawLayer(item, show);
}

/** The summary table's body: one row per finished image, in the order they were added. */
export function renderSummary(body: HTMLTableSectionElement, items: Item[]): void {
  const done = items.filter((i) => i.status === 'done' || i.status === 'error');
  if (done.length === 0) {
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '11' }, 'Segmented images appear here.')));
    return;
  }
  body.replaceChildren(...done.flatMap((item) => {
    const r = item.row;
    if (!r) return [el('tr', { class: 'failed' }, el('th', { scope: 'row' }, el('a', { href: `#${cardId(item.id)}` }, item.file.name)), el('td', { colspan: '10' }, item.error ?? 'failed'))];
    const rows = r.mode === 'field' ? item.rows ?? [r] : [r];
    return rows.map((row) => summaryRow(item, row));
  }));
}

/** One row of the summary table: a crop, or one cell of a field ("name · cell k"). */
function summaryRow(item: Item, r: SegmentRow): HTMLElement {
  const label = r.mode === 'field' && r.cellIndex !== null ? `${item.file.name} · cell ${r.cellIndex}` : item.file.name;
  const link = el('a', { href: `#${cardId(item.id)}` }, label);
  const cells = [
    `${r.width} × ${r.height}`,
    areaText(r, 'cellAreaPx'), areaText(r, 'nucleusAreaPx'), areaText(r, 'cytoplasmAreaPx'),
    formatNumber(r.ncRatio, 2), formatInt(r.nucleusLobes), formatNumber(r.circularity, 2),
  ];
  return el('tr', {},
    el('th', { scope: 'row' }, link),
    ...cells.map((c, i) => el('td', i === 0 ? {} : { class: 'num' }, c)),
    el('td', {}, cellTypeText(r)),
    el('td', { class: 'warn' }, warningTexts(r).join('; ') || '–'),
    el('td', {}, `${item.mode === 'server' ? 'server' : 'browser'} · ${formatMs(item.totalMs ?? 0)}`),
  );
}
