// The page's behaviour: files in (chooser or drag-and-drop), each segmented by the server's API or
// by the model in this browser, one at a time, and the results shown, tabulated and downloadable.
import type { ErrorBody, HealthResponse, ModelInfo, SegmentResponse } from '../../src/server/api-types.js';
import { imageRow, segmentRows } from '../../src/output/results.js';
import { decodeGray16Png } from '../../src/output/png-gray16.js';
import { base64ToBlob, cellsPngBlob, decodeImageFile, decodeMaskPng, maskPngBlob, overlayPngBlob, type LayerOptions } from './images.js';
import { entriesToCsv, formatMs, pixelSizeProblem, serverErrorSentence, type Mode } from './format.js';
import { fillCard, drawLayer, newCard, renderSummary, setRunning, showError, type Item } from './view.js';
import { BROWSER_RUNTIMES, BrowserSegmenter, DEFAULT_BROWSER_RUNTIME, type BrowserRuntime } from './browser-model.js';
import { buildResultsZip, type ZipItem } from './results-zip.js';
import { renderDifferential } from './differential-view.js';
import type { FieldProgress } from '../../src/field/segment-field.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`page element #${id} is missing`);
  return node as T;
};

const items: Item[] = [];
let nextId = 1;
let work: Promise<void> = Promise.resolve();
let model: ModelInfo | null = null;
let maxPixels = 8_000_000;
let browserSegmenter: Promise<BrowserSegmenter> | null = null;

function currentMode(): Mode {
  return document.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value === 'browser' ? 'browser' : 'server';
}

function layerOptions(): LayerOptions {
  return { nucleus: $<HTMLInputElement>('show-nucleus').checked, cytoplasm: $<HTMLInputElement>('show-cytoplasm').checked };
}

/** The pixel size to send, undefined when the field is empty; call checkPixelSize() first. */
function umPerPx(): number | undefined {
  const raw = $<HTMLInputElement>('um-per-px').value;
  return raw.trim() === '' ? undefined : Number(raw);
}

/** Shows what is wrong with the pixel-size field beside it (or clears it); true when it is usable. */
function checkPixelSize(): boolean {
  const input = $<HTMLInputElement>('um-per-px');
  const problem = pixelSizeProblem(input.value, input.validity.badInput);
  const note = $('um-per-px-error');
  note.textContent = problem ?? '';
  note.hidden = problem === null;
  input.setAttribute('aria-invalid', String(problem !== null));
  return problem === null;
}

/** A field's progress in the status line: its tiles while cells are found, then its cells. */
function progressText(fileName: string, p: FieldProgress): string {
  return p.stage === 'find' ? `Finding the cells of ${fileName}: ${p.done} of ${p.total} tiles…` : `Segmenting the cells of ${fileName}: ${p.done} of ${p.total}…`;
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

function stem(name: string): string {
  return name.replace(/\.[^.]*$/, '') || name;
}

async function errorText(response: Response, fileName: string): Promise<string> {
  const body = (await response.json().catch(() => null)) as Partial<ErrorBody> | null;
  return serverErrorSentence(response.status, body?.error ?? response.statusText, fileName);
}

/** The in-browser runtime: `?runtime=onnx` or `?runtime=tfjs` in the address, else the default (the faster). */
function browserRuntime(): BrowserRuntime {
  const asked = new URLSearchParams(location.search).get('runtime');
  if (asked === null) return DEFAULT_BROWSER_RUNTIME;
  if ((BROWSER_RUNTIMES as readonly string[]).includes(asked)) return asked as BrowserRuntime;
  throw new Error(`the address asks for runtime=${asked}; use one of ${BROWSER_RUNTIMES.join(', ')}`);
}

/** Sets up the in-browser runtime and loads the model on first use only: server mode never fetches the weights. */
function getBrowserSegmenter(): Promise<BrowserSegmenter> {
  if (browserSegmenter === null) {
    if (model === null) return Promise.reject(new Error('the model information has not loaded; is the server running?'));
    setStatus('Loading the model into this browser…');
    const info = model;
    browserSegmenter = (async () => BrowserSegmenter.load(info, browserRuntime()))();
    browserSegmenter.catch(() => (browserSegmenter = null));
  }
  return browserSegmenter;
}

async function runOnServer(item: Item): Promise<void> {
  const params = new URLSearchParams({ name: item.file.name });
  const um = umPerPx();
  if (um !== undefined) params.set('umPerPx', String(um));
  const response = await fetch(`/api/segment?${params}`, {
    method: 'POST',
    headers: { 'content-type': item.file.type || 'application/octet-stream' },
    body: item.file,
  });
  if (!response.ok) throw new Error(await errorText(response, item.file.name));
  const { maskPng, overlayPng, cellsPng, cells, ...row } = (await response.json()) as SegmentResponse;
  const maskBlob = base64ToBlob(maskPng, 'image/png');
  const overlayBlob = base64ToBlob(overlayPng, 'image/png');
  const cellsBlob = base64ToBlob(cellsPng, 'image/png');
  item.mask = await decodeMaskPng(maskBlob, maxPixels);
  item.instances = decodeGray16Png(new Uint8Array(await cellsBlob.arrayBuffer())).data;
  item.rows = cells.length > 0 ? cells : [row];
  item.cellsPng = cellsBlob;
  // Show the file itself; a format this browser cannot decode (TIFF) is shown through the server's overlay.
  item.image = await decodeImageFile(item.file, item.file.name, maxPixels).catch(() => decodeImageFile(overlayBlob, item.file.name, maxPixels));
  item.row = row;
  item.maskPng = maskBlob;
  item.overlayPng = overlayBlob;
  item.maskUrl = URL.createObjectURL(maskBlob);
  item.overlayUrl = URL.createObjectURL(overlayBlob);
  item.cellsUrl = URL.createObjectURL(cellsBlob);
}

async function runInBrowser(item: Item): Promise<void> {
  const segmenter = await getBrowserSegmenter();
  item.backend = segmenter.backend;
  item.runtimeLabel = segmenter.runtimeLabel;
  if (segmenter.fallbackReason) console.warn(`leukoseg: ${segmenter.fallbackReason}; TensorFlow.js runs the model instead`);
  const image = await decodeImageFile(item.file, item.file.name, maxPixels);
  const result = await segmenter.segment(image, umPerPx(), { onProgress: (p) => setStatus(progressText(item.file.name, p)) });
  const source = { ...result, width: image.width, height: image.height };
  item.image = image;
  item.mask = result.mask;
  item.instances = result.instances;
  item.row = imageRow(item.file.name, stem(item.file.name), source);
  item.rows = segmentRows(item.file.name, stem(item.file.name), source);
  item.maskPng = await maskPngBlob(result.mask);
  item.overlayPng = await overlayPngBlob({ image, mask: result.mask, mode: result.mode, cells: result.cells });
  item.cellsPng = cellsPngBlob(image.width, image.height, result.instances);
  item.maskUrl = URL.createObjectURL(item.maskPng);
  item.overlayUrl = URL.createObjectURL(item.overlayPng);
  item.cellsUrl = URL.createObjectURL(item.cellsPng);
}

async function segmentItem(item: Item): Promise<void> {
  item.status = 'running';
  setRunning(item);
  const started = performance.now();
  try {
    await (item.mode === 'browser' ? runInBrowser(item) : runOnServer(item));
    item.totalMs = performance.now() - started;
    item.status = 'done';
    fillCard(item, layerOptions());
  } catch (err) {
    item.status = 'error';
    item.error = err instanceof Error ? err.message : String(err);
    showError(item);
  }
  renderSummary($<HTMLTableSectionElement>('summary-body'), items);
  renderDifferential($<HTMLTableSectionElement>('differential-body'), items);
  updateButtons();
}

function addFiles(files: FileList | File[]): void {
  const list = [...files];
  if (list.length === 0) return;
  // A wrong pixel size would give wrong µm² for every image: refuse rather than ignore it.
  if (!checkPixelSize()) {
    setStatus(`Not started: ${$('um-per-px-error').textContent ?? ''}`);
    $<HTMLInputElement>('um-per-px').focus();
    return;
  }
  const mode = currentMode();
  const batch = list.map((file) => {
    const id = nextId++;
    const item: Item = { id, file, mode, status: 'queued', card: newCard(id, file.name, mode) };
    $('results').append(item.card);
    items.push(item);
    return item;
  });
  const started = performance.now();
  work = work.then(async () => {
    for (const [i, item] of batch.entries()) {
      setStatus(`Segmenting ${i + 1} of ${batch.length} ${mode === 'browser' ? 'in this browser' : 'on the server'}…`);
      await segmentItem(item);
    }
    const ok = batch.filter((i) => i.status === 'done').length;
    const where = mode === 'browser' ? 'in this browser (nothing was uploaded)' : 'on the server';
    const fallback = mode === 'browser' ? await browserSegmenter?.then((b) => b.fallbackReason, () => undefined) : undefined;
    setStatus(`${ok} of ${batch.length} image${batch.length === 1 ? '' : 's'} segmented ${where} in ${formatMs(performance.now() - started)}.${fallback ? ` ${fallback}: TensorFlow.js ran instead.` : ''}`);
  });
}

function download(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

/** One zip of every finished image's mask and overlay, results.csv and results.json: one download, not one per file. */
async function downloadAll(): Promise<void> {
  const done = items.filter((i) => i.status === 'done' && i.row && i.rows && i.maskPng && i.overlayPng && i.cellsPng);
  const bytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());
  const entries: ZipItem[] = await Promise.all(done.map(async (i) => ({
    row: i.row!,
    rows: i.rows!,
    maskPng: await bytes(i.maskPng!),
    overlayPng: await bytes(i.overlayPng!),
    cellsPng: await bytes(i.cellsPng!),
    mode: i.mode === 'browser' ? `browser (${i.runtimeLabel ?? i.backend ?? 'unknown'})` : 'server',
  })));
  const zip = buildResultsZip(entries, model, umPerPx() ?? null);
  const url = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
  download(url, 'leukoseg-results.zip');
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function updateButtons(): void {
  const done = items.some((i) => i.status === 'done');
  $<HTMLButtonElement>('download-csv').disabled = !items.some((i) => i.status === 'done' || i.status === 'error');
  $<HTMLButtonElement>('download-all').disabled = !done;
  $<HTMLButtonElement>('clear').disabled = items.length === 0;
}

function redrawLayers(): void {
  const show = layerOptions();
  for (const item of items) if (item.status === 'done') drawLayer(item, show);
}

function applyOpacity(): void {
  const value = Number($<HTMLInputElement>('opacity').value);
  document.documentElement.style.setProperty('--layer-opacity', String(value / 100));
  $('opacity-value').textContent = `${value} %`;
}

async function showModelInfo(): Promise<void> {
  try {
    const [infoResponse, healthResponse] = await Promise.all([fetch('/api/model'), fetch('/api/health')]);
    if (!infoResponse.ok) throw new Error(await errorText(infoResponse, ''));
    model = (await infoResponse.json()) as ModelInfo;
    if (healthResponse.ok) maxPixels = ((await healthResponse.json()) as HealthResponse).limits.maxPixels;
    const dice = model.metrics?.dice as Record<string, number> | undefined;
    const parts = [`Model ${model.name}`, `input ${model.inputSize} × ${model.inputSize}`];
    if (model.epoch !== null) parts.push(`epoch ${model.epoch}`);
    if (dice?.mean !== undefined) parts.push(`test Dice ${dice.mean.toFixed(3)} (nucleus ${dice.nucleus?.toFixed(3)}, cytoplasm ${dice.cytoplasm?.toFixed(3)})`);
    $('model-info').textContent = parts.join(' · ');
  } catch (err) {
    $('model-info').textContent = `Model information unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}

function wire(): void {
  const input = $<HTMLInputElement>('file-input');
  $('choose-files').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    if (input.files) addFiles(input.files);
    input.value = '';
  });
  const zone = $('drop-zone');
  for (const type of ['dragenter', 'dragover'] as const) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add('dragging');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    if (e.dataTransfer) addFiles(e.dataTransfer.files);
  });
  // A file dropped beside the zone must not make the browser navigate away from the results.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  $('um-per-px').addEventListener('input', () => void checkPixelSize());
  $('opacity').addEventListener('input', applyOpacity);
  $('show-nucleus').addEventListener('change', redrawLayers);
  $('show-cytoplasm').addEventListener('change', redrawLayers);
  $('download-csv').addEventListener('click', () => {
    const finished = items.filter((i) => i.status === 'done' || i.status === 'error');
    const csv = entriesToCsv(finished.map((i) => ({ fileName: i.file.name, rows: i.status === 'done' ? i.rows : undefined, error: i.error })));
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    download(url, 'results.csv');
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  $('download-all').addEventListener('click', () => void downloadAll());
  $('clear').addEventListener('click', () => {
    work = work.then(() => {
      for (const item of items) {
        if (item.maskUrl) URL.revokeObjectURL(item.maskUrl);
        if (item.overlayUrl) URL.revokeObjectURL(item.overlayUrl);
        if (item.cellsUrl) URL.revokeObjectURL(item.cellsUrl);
        item.card.remove();
      }
      items.length = 0;
      renderSummary($<HTMLTableSectionElement>('summary-body'), items);
      renderDifferential($<HTMLTableSectionElement>('differential-body'), items);
      updateButtons();
      setStatus('Cleared.');
    });
  });
}

wire();
applyOpacity();
void showModelInfo();
