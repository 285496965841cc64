// The page's DOM for results: one card per image (image with the mask layer, metrics, warnings,
// downloads) and one row per image in the summary table. Text always goes in as text, never HTML.
import type { LabelMask, RgbImage } from '../../src/data/types.js';
import type { SegmentRow } from '../../src/output/results.js';
import { areaText, CARD_METRICS, formatInt, formatMs, formatNumber, modeLabel, warningTexts, type Mode } from './format.js';
import { maskLayer, rgbToImageData, type LayerOptions } from './images.js';

export interface Item {
  id: number;
  file: File;
  mode: Mode;
  status: 'queued' | 'running' | 'done' | 'error';
  card: HTMLElement;
  image?: RgbImage;
  mask?: LabelMask;
  row?: SegmentRow;
  /** 'wasm' or 'cpu' in browser mode. */
  backend?: string;
  /** In browser mode, what ran the network: "ONNX Runtime Web (1 thread)" or "TensorFlow.js". */
  runtimeLabel?: string;
  /** From choosing the image to its numbers on the page, upload and decoding included. */
  totalMs?: number;
  maskUrl?: string;
  overlayUrl?: string;
  /** The PNGs behind maskUrl / overlayUrl, for the zip (the page's CSP forbids fetching blob: URLs). */
  maskPng?: Blob;
  overlayPng?: Blob;
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
  canvas.getContext('2d')!.putImageData(maskLayer(item.mask, show), 0, 0);
}

export function fillCard(item: Item, show: LayerOptions): void {
  const { image, mask, row } = item;
  if (!image || !mask || !row) return;
  const base = el('canvas', { class: 'base', width: String(image.width), height: String(image.height) });
  base.getContext('2d')!.putImageData(rgbToImageData(image), 0, 0);
  const layer = el('canvas', { class: 'layer', width: String(image.width), height: String(image.height) });
  const figure = el('figure', { class: 'figure' },
    el('div', { class: 'stack', role: 'img', 'aria-label': `${item.file.name} with nucleus and cytoplasm overlaid` }, base, layer),
    el('figcaption', {}, `${row.width} × ${row.height} px`),
  );
  const metrics = el('dl', { class: 'metrics' });
  for (const m of CARD_METRICS) {
    const value = row[m.key];
    metrics.append(el('div', { class: 'metric' }, el('dt', {}, m.label), el('dd', { 'data-metric': m.key, 'data-value': value === null ? '' : String(value) }, m.format(row))));
  }
  const warnings = warningTexts(row);
  const warningBox = warnings.length > 0
    ? el('ul', { class: 'warnings', 'aria-label': 'Warnings' }, ...warnings.map((w) => el('li', {}, w)))
    : el('p', { class: 'ok' }, 'No warnings');
  const downloads = el('p', { class: 'downloads' },
    el('a', { href: item.maskUrl!, download: `${row.name}.mask.png`, class: 'button small' }, 'Mask PNG'),
    el('a', { href: item.overlayUrl!, download: `${row.name}.overlay.png`, class: 'button small' }, 'Overlay PNG'),
  );
  const time = el('p', { class: 'timing', 'data-mode': item.mode },
    `${modeLabel(item.mode, item.backend)}: ${formatMs(item.totalMs ?? 0)} in all, model ${formatMs(row.inferenceMs)}${item.runtimeLabel ? ` · ${item.runtimeLabel}` : ''}`);
  item.card.querySelector('.badge')!.textContent = `${modeLabel(item.mode)} · ${formatMs(item.totalMs ?? 0)}`;
  item.card.querySelector('.card-body')!.replaceChildren(figure, el('div', { class: 'details' }, metrics, warningBox, time, downloads));
  item.card.dataset.status = 'done';
  item.card.removeAttribute('aria-busy');
  drawLayer(item, show);
}

/** The summary table's body: one row per finished image, in the order they were added. */
export function renderSummary(body: HTMLTableSectionElement, items: Item[]): void {
  const done = items.filter((i) => i.status === 'done' || i.status === 'error');
  if (done.length === 0) {
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: '10' }, 'Segmented images appear here.')));
    return;
  }
  body.replaceChildren(...done.map((item) => {
    const link = el('a', { href: `#${cardId(item.id)}` }, item.file.name);
    const r = item.row;
    if (!r) return el('tr', { class: 'failed' }, el('th', { scope: 'row' }, link), el('td', { colspan: '9' }, item.error ?? 'failed'));
    const cells = [
      `${r.width} × ${r.height}`,
      areaText(r, 'cellAreaPx'), areaText(r, 'nucleusAreaPx'), areaText(r, 'cytoplasmAreaPx'),
      formatNumber(r.ncRatio, 2), formatInt(r.nucleusLobes), formatNumber(r.circularity, 2),
    ];
    return el('tr', {},
      el('th', { scope: 'row' }, link),
      ...cells.map((c, i) => el('td', i === 0 ? {} : { class: 'num' }, c)),
      el('td', { class: 'warn' }, warningTexts(r).join('; ') || '–'),
      el('td', {}, `${item.mode === 'server' ? 'server' : 'browser'} · ${formatMs(item.totalMs ?? 0)}`),
    );
  }));
}
