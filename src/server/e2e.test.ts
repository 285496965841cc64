// End to end in real headless Chromium: `leukoseg serve` on loopback, the page loads, real Dataset 1
// images go in through the file chooser, and the numbers shown equal the API's, in both modes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { CELL_TYPE_COLUMNS } from '../classify/cell-types.js';
import { rowsToCsv, type ResultColumn } from '../output/results.js';
import { startServe, type RunningServer } from '../cli/serve.js';
import type { SegmentResponse } from './api-types.js';
import { datasetImage, testImageIds } from './fixtures.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';
import { buildMosaic, readCrop } from '../testing/field-mosaic.js';
import { sharedDataset1 } from '../testing/paths.js';
import { encodePng } from '../output/png.js';

const CHROMIUM = process.env.LEUKOSEG_CHROMIUM ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium tries to reach Google and, with no route out,
// stalls; none of them changes how the page itself runs.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Browser and server runs share the wasm binary and every step of the pipeline, and Chromium's BMP
 * decoder reads the same stored bytes as bmp-ts (no colour management for BMPs without a profile),
 * so the masks are expected to be identical (they are, pixel for pixel, as of writing) and the
 * probabilities equal to ~1e-7. We still allow pixel measures to move by 0.5 % (at least 2 px) and
 * ratios and confidences by 1 %, so a float summed in another order flipping a border pixel is not a
 * failure; counts (lobes, components) and warnings must be equal.
 */
const AREA_TOLERANCE = 0.005;
const RATIO_TOLERANCE = 0.01;

function closeEnough(column: string, page: number | string | null, api: number | string | null | undefined): boolean {
  if (typeof page !== 'number' || typeof api !== 'number' || ['nucleusLobes', 'cellComponents', 'width', 'height'].includes(column)) return page === api;
  if (column.endsWith('Px')) return Math.abs(page - api) <= Math.max(2, AREA_TOLERANCE * api);
  return Math.abs(page - api) <= RATIO_TOLERANCE * Math.max(Math.abs(api), 1e-9);
}

let server: RunningServer;
let context: BrowserContext;
let page: Page;
let profileDir: string;
const requests: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the end-to-end test needs it. Install it with ` +
      '`apt-get update && apt-get install -y chromium` (as root; .ci/run does this), or set LEUKOSEG_CHROMIUM to a Chromium binary.');
  }
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) throw new Error(`no bundled model in ${DEFAULT_MODEL_DIR}`);
  server = await startServe({ host: '127.0.0.1', port: 0, maxPixels: 8_000_000, bodyLimitMb: 20, timeout: 30, backend: 'wasm' });
  profileDir = await mkdtemp(join(tmpdir(), 'leukoseg-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

async function apiResult(file: string): Promise<SegmentResponse> {
  const res = await fetch(`${server.url}/api/segment?name=${encodeURIComponent(basename(file))}`, {
    method: 'POST',
    headers: { 'content-type': 'image/bmp' },
    body: await readFile(file),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as SegmentResponse;
}

/** The metrics a finished card shows, by column, as the exact numbers behind the text. */
async function shownMetrics(card: string): Promise<Record<string, number | null>> {
  const pairs = await page.$$eval(`${card} dd[data-metric]`, (dds) => dds.map((dd) => [dd.getAttribute('data-metric'), dd.getAttribute('data-value')]));
  return Object.fromEntries(pairs.map(([k, v]) => [k!, v === '' || v === null ? null : Number(v)]));
}

function assertClose(shown: Record<string, number | null>, api: SegmentResponse, exact: boolean, label: string): void {
  assert.ok(Object.keys(shown).length >= 8, `${label}: only ${Object.keys(shown).length} metrics shown`);
  for (const [key, value] of Object.entries(shown)) {
    const fromApi = api[key as ResultColumn];
    const where = `${label} ${key}: page ${value}, API ${fromApi}`;
    if (exact) assert.equal(value, fromApi, where);
    else assert.ok(closeEnough(key, value, fromApi), where);
  }
}

/** Through the file chooser, or dropped on the drop zone as a person would drag files from a folder. */
async function upload(files: string[], mode: 'server' | 'browser', how: 'choose' | 'drop' = 'choose'): Promise<void> {
  await page.check(`input[name="mode"][value="${mode}"]`);
  if (how === 'choose') {
    await page.setInputFiles('#file-input', files);
  } else {
    const payload = await Promise.all(files.map(async (f) => ({ name: basename(f), bytes: [...(await readFile(f))] })));
    const dataTransfer = await page.evaluateHandle((list) => {
      const dt = new DataTransfer();
      for (const { name, bytes } of list) dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/bmp' }));
      return dt;
    }, payload);
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
  }
  await page.waitForFunction(
    ([m, n]) => document.querySelectorAll(`article.card[data-mode="${m}"][data-status="done"], article.card[data-mode="${m}"][data-status="error"]`).length >= Number(n),
    [mode, String(files.length)],
    { timeout: 60_000 },
  );
}

test('the page segments real images on the server and in the browser, with the API\'s numbers', { timeout: 120_000 }, async (t) => {
  const ids = testImageIds(server.model, 2);
  const files = ids.map(datasetImage);
  await page.goto(server.url);
  await page.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));

  // Server mode: two images through the chooser.
  await upload(files, 'server');
  const serverCards = page.locator('article.card[data-mode="server"]');
  assert.equal(await serverCards.count(), 2);
  for (const [i, file] of files.entries()) {
    const card = `article.card[data-mode="server"]:nth-of-type(${i + 1})`;
    assert.equal(await page.getAttribute(card, 'data-status'), 'done', await page.textContent(card) ?? '');
    assert.equal(await page.textContent(`${card} h3`), basename(file));
    assertClose(await shownMetrics(card), await apiResult(file), true, `server ${basename(file)}`);
    assert.match((await page.textContent(`${card} .timing`)) ?? '', /^Server API: [\d.]+ m?s in all, model [\d.]+ m?s/);
  }
  const uploads = requests.filter((r) => r.startsWith('POST') && r.includes('/api/segment')).length;

  // Browser mode: the first image again, dropped on the page, and this time not uploaded.
  await upload([files[0]!], 'browser', 'drop');
  const browserCard = 'article.card[data-mode="browser"]';
  assert.equal(await page.getAttribute(browserCard, 'data-status'), 'done', (await page.textContent(browserCard)) ?? '');
  const inBrowser = await shownMetrics(browserCard);
  const viaApi = await apiResult(files[0]!);
  assertClose(inBrowser, viaApi, false, `browser ${basename(files[0]!)}`);
  const identical = Object.entries(inBrowser).filter(([k, v]) => v === viaApi[k as ResultColumn]).length;
  t.diagnostic(`browser vs API: ${identical} of ${Object.keys(inBrowser).length} shown metrics identical`);
  // The first in-browser image includes loading the runtime (seconds on a busy machine): times may read "2.52 s".
  assert.match((await page.textContent(`${browserCard} .timing`)) ?? '', /^In this browser \(WebAssembly\): [\d.]+ m?s in all, model [\d.]+ m?s · ONNX Runtime Web/);
  assert.match((await page.textContent('#status')) ?? '', /in this browser \(nothing was uploaded\)/);
  assert.equal(requests.filter((r) => r.startsWith('POST') && r.includes('/api/segment')).length, uploads, 'browser mode uploaded the image');

  // The overlay is drawn, the table has a row per image, and nothing came from anywhere but this server.
  const layerPixels = await page.$eval(`${browserCard} canvas.layer`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
    return n;
  });
  assert.ok(layerPixels > 100, `the mask layer has ${layerPixels} visible pixels`);
  assert.equal(await page.locator('#summary-body tr').count(), 3);
  // The differential: the two server images typed (a type or uncertain), the browser's one not.
  const typed = await page.$$eval('#differential-body tr', (rows) => rows.map((r) => [r.getAttribute('data-type'), Number(r.querySelector('td')?.textContent)]));
  assert.equal(typed.find(([t]) => t === 'not typed')?.[1], 1, JSON.stringify(typed));
  assert.equal(typed.filter(([t]) => t !== 'not typed').reduce((n, [, c]) => n + Number(c), 0), 2, JSON.stringify(typed));

  // Downloads: the browser's mask has the API's gray levels pixel for pixel (within the area
  // tolerance), and the CSV has results.csv's columns with the numbers shown.
  const [maskDownload] = await Promise.all([page.waitForEvent('download'), page.click(`${browserCard} a[download$=".mask.png"]`)]);
  const browserMask = await sharp(await maskDownload.path()).extractChannel(0).raw().toBuffer();
  const apiMask = await sharp(Buffer.from(viaApi.maskPng, 'base64')).extractChannel(0).raw().toBuffer();
  assert.equal(browserMask.length, apiMask.length);
  const differing = browserMask.reduce((n, v, i) => n + (v === apiMask[i] ? 0 : 1), 0);
  assert.ok(differing <= AREA_TOLERANCE * apiMask.length, `${differing} mask pixels differ`);
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  const csv = (await readFile(await csvDownload.path(), 'utf8')).trim().split('\n');
  const apiCsv = rowsToCsv([viaApi]).trim().split('\n');
  assert.equal(csv[0], `${apiCsv[0]},error`);
  assert.equal(csv.length, 4);
  const cell = (v: string | undefined): number | string | null => (v === undefined || v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v));
  const header = csv[0]!.split(',');
  const browserRow = csv[3]!.split(',');
  apiCsv[1]!.split(',').forEach((expected, i) => {
    const column = header[i]!;
    // Cells are typed by the server's classifier only: the browser's row leaves those columns empty.
    if ((CELL_TYPE_COLUMNS as readonly string[]).includes(column)) assert.equal(browserRow[i], '', `CSV ${column} in browser mode`);
    else if (column !== 'inferenceMs') assert.ok(closeEnough(column, cell(browserRow[i]), cell(expected)), `CSV ${column}: ${browserRow[i]} vs ${expected}`);
  });
  t.diagnostic(`browser vs API mask: ${differing} of ${apiMask.length} pixels differ`);

  const origin = new URL(server.url).origin;
  const foreign = requests.filter((r) => !r.split(' ')[1]!.startsWith(origin) && !/ (blob|data):/.test(r));
  assert.deepEqual(foreign, [], 'requests left the server');
  assert.deepEqual(pageErrors, [], 'errors in the page');

  const shotDir = process.env.LEUKOSEG_SCREENSHOT_DIR ?? join(tmpdir(), 'leukoseg-e2e');
  await mkdir(shotDir, { recursive: true });
  const shot = join(shotDir, 'leukoseg-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
});

/** Files made in the test: a cut-off BMP, a TIFF (browsers cannot read it), and a real cell. */
async function writeFixtures(dir: string): Promise<{ cut: string; tiff: string; cell: string }> {
  const cell = datasetImage(testImageIds(server.model, 1)[0]!);
  const bmp = await readFile(cell);
  const cut = join(dir, 'cut.bmp');
  await writeFile(cut, bmp.subarray(0, Math.floor(bmp.length / 2)));
  const tiff = join(dir, 'cell.tiff');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c9b' } }).tiff().toFile(tiff);
  return { cut, tiff, cell };
}

async function cardText(selector: string): Promise<{ status: string | null; badge: string; badgeClass: string; text: string }> {
  return {
    status: await page.getAttribute(selector, 'data-status'),
    badge: (await page.textContent(`${selector} .badge`)) ?? '',
    badgeClass: (await page.getAttribute(`${selector} .badge`, 'class')) ?? '',
    text: (await page.textContent(`${selector} .card-body`)) ?? '',
  };
}

test('the page says what went wrong in words, refuses a bad pixel size, shows µm² and lists failures in the CSV', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-e2e-files-'));
  try {
    const { cut, tiff, cell } = await writeFixtures(dir);
    await page.goto(server.url);
    await page.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));

    // A negative pixel size is refused beside the field, and nothing is segmented.
    await page.fill('#um-per-px', '-0.5');
    assert.equal(await page.isVisible('#um-per-px-error'), true, 'no message beside the pixel size');
    assert.match((await page.textContent('#um-per-px-error')) ?? '', /must be above 0 µm per pixel/);
    await page.check('input[name="mode"][value="server"]');
    await page.setInputFiles('#file-input', [cell]);
    assert.equal(await page.locator('article.card').count(), 0, 'images were segmented with a negative pixel size');
    assert.match((await page.textContent('#status')) ?? '', /^Not started: The pixel size must be above 0/);

    // With a valid pixel size the table gives areas in µm², as the card does.
    await page.fill('#um-per-px', '0.1');
    assert.equal(await page.isVisible('#um-per-px-error'), false);
    await upload([cell, cut], 'server');
    const areaCell = (await page.textContent('#summary-body tr:first-child td:nth-child(3)')) ?? '';
    const api = await (await fetch(`${server.url}/api/segment?umPerPx=0.1`, { method: 'POST', headers: { 'content-type': 'image/bmp' }, body: new Uint8Array(await readFile(cell)) })).json() as SegmentResponse;
    assert.equal(areaCell, `${Number(api.cellAreaUm2).toFixed(1)} µm²`);

    // A server error reads as a sentence, under a badge marked as failed.
    const serverCut = await cardText('article.card[data-mode="server"]:nth-of-type(2)');
    assert.equal(serverCut.status, 'error');
    assert.match(serverCut.badgeClass, /\bfailed\b/);
    assert.match(serverCut.text, /^The server could not read this image: the file may be damaged, cut short, or too large \(truncated or corrupt BMP/);
    assert.doesNotMatch(serverCut.text, /^\d{3}:/);

    // In the browser: a cut-off BMP is called damaged (not "TIFF only works in server mode"); a TIFF is sent to the server mode.
    await page.fill('#um-per-px', '');
    await upload([cut, tiff], 'browser');
    const browserCut = await cardText('article.card[data-mode="browser"]:nth-of-type(3)');
    assert.equal(browserCut.status, 'error');
    assert.match(browserCut.badgeClass, /\bfailed\b/);
    assert.equal(browserCut.text, 'This BMP file could not be read: it may be damaged or cut short. Try exporting it again.');
    const browserTiff = await cardText('article.card[data-mode="browser"]:nth-of-type(4)');
    assert.match(browserTiff.text, /^Browsers cannot read TIFF images: choose "On the leukoseg server"/);

    // The CSV has every image, failed ones with their reason in the error column.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    const lines = (await readFile(await csvDownload.path(), 'utf8')).trim().split('\n');
    assert.equal(lines[0], `${rowsToCsv([]).trim()},error`);
    assert.equal(lines.length, 5);
    const header = lines[0]!.split(',');
    const column = (line: string, name: string): string => line.split(',')[header.indexOf(name)]!;
    assert.deepEqual(lines.slice(1).map((l) => column(l, 'file')), [basename(cell), 'cut.bmp', 'cut.bmp', 'cell.tiff']);
    assert.equal(column(lines[1]!, 'error'), '');
    assert.equal(Number(column(lines[1]!, 'cellAreaUm2')), api.cellAreaUm2);
    assert.match(lines[2]!, /,"?The server could not read this image/);
    assert.equal(column(lines[2]!, 'cellAreaPx'), '');
    // Chromium logs the cut-off upload's 422 itself; anything else is a fault of the page.
    assert.deepEqual(pageErrors.filter((e) => !/status of 422/.test(e)), [], 'errors in the page');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a field shows its cells numbered, with a table of them, on the server and in the browser alike', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-e2e-field-'));
  try {
    const crops = await Promise.all(testImageIds(server.model, 12).map((id) => readCrop(sharedDataset1(), id)));
    const mosaic = buildMosaic(crops, { width: 640, height: 480, columns: 4, rows: 3, seed: 3, cutLast: 0.35 });
    const field = join(dir, 'field.png');
    await writeFile(field, await encodePng(mosaic.image));
    const api = await (await fetch(`${server.url}/api/segment?name=field.png`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(await readFile(field)) })).json() as SegmentResponse;
    assert.equal(api.cells.length, 12, 'the API finds the 12 cells');
    await page.goto(server.url);
    await page.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));
    pageErrors.length = 0;

    for (const mode of ['server', 'browser'] as const) {
      await upload([field], mode);
      const card = `article.card.field[data-mode="${mode}"]`;
      assert.equal(await page.getAttribute(card, 'data-status'), 'done', (await page.textContent(card)) ?? '');
      assert.equal(await page.textContent(`${card} .field-summary`), `Field: 12 white cells · cell diameter ${Math.round(Number(api.fieldCellDiameterPx))} px`);
      const rows = await page.$$eval(`${card} .cells-table tbody tr`, (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
      assert.deepEqual(rows.map((r) => r[0]), api.cells.map((c) => String(c.cellIndex)));
      rows.forEach((r, i) => assert.equal(r[1], `${Number(api.cells[i]!.cellAreaPx).toLocaleString('en-US')} px`, `${mode}: cell ${i + 1}'s area`));
      // Each cell's type: the server's classifier on the server, none in the browser.
      const types = await page.$$eval(`${card} .cells-table tbody td[data-type]`, (tds) => tds.map((td) => td.getAttribute('data-type')));
      assert.deepEqual(types, mode === 'server' ? api.cells.map((c) => String(c.cellType)) : api.cells.map(() => ''), `${mode}: cell types`);
      // The layer has each cell's number: white digit pixels in dark label boxes.
      const digits = await page.$eval(`${card} canvas.layer`, (c) => {
        const canvas = c as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let white = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] === 255 && data[i + 1] === 255 && data[i + 2] === 255 && data[i + 3] === 255) white++;
        return white;
      });
      assert.ok(digits > 12 * 20, `${mode}: only ${digits} digit pixels on the layer`);
    }
    // The summary table: a row per cell of each field, named after the field and the cell.
    const names = await page.$$eval('#summary-body tr th', (ths) => ths.map((th) => th.textContent ?? ''));
    assert.deepEqual(names.slice(0, 2), ['field.png · cell 1', 'field.png · cell 2']);
    assert.equal(names.length, 24);
    // The differential counts the server's field cell by cell, and the browser's cells as not typed.
    const counted = await page.$$eval('#differential-body tr', (trs) => trs.map((tr) => [tr.getAttribute('data-type'), Number(tr.querySelector('td')?.textContent)] as const));
    const total = counted.filter(([type]) => type !== 'not typed').reduce((n, [, c]) => n + c, 0);
    assert.ok(total >= 12, `the differential counts ${total} typed cells: ${JSON.stringify(counted)}`);
    assert.deepEqual(pageErrors, [], 'errors in the page');
    const shotDir = process.env.LEUKOSEG_SCREENSHOT_DIR ?? join(tmpdir(), 'leukoseg-e2e');
    await mkdir(shotDir, { recursive: true });
    const shot = join(shotDir, 'leukoseg-field.png');
    await page.locator('article.card.field[data-mode="browser"]').screenshot({ path: shot });
    await page.locator('article.card.field[data-mode="server"]').screenshot({ path: join(shotDir, 'leukoseg-field-server.png') });
    await page.screenshot({ path: join(shotDir, 'leukoseg-field-page.png'), fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
