// End to end in real headless Chromium: `leukoseg serve` on loopback, the page loads, real Dataset 1
// images go in through the file chooser, and the numbers shown equal the API's, in both modes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { rowsToCsv } from '../report/results.js';
import { startServe, type RunningServer } from '../cli/serve.js';
import type { SegmentResponse } from './api-types.js';
import { datasetImage, testImageIds } from './fixtures.js';
import { DEFAULT_MODEL_DIR } from '../infer/segmenter.js';

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
    const where = `${label} ${key}: page ${value}, API ${api[key]}`;
    if (exact) assert.equal(value, api[key], where);
    else assert.ok(closeEnough(key, value, api[key]), where);
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
    assert.match((await page.textContent(`${card} .timing`)) ?? '', /^Server API: \d+ ms in all, model \d+ ms/);
  }
  const uploads = requests.filter((r) => r.startsWith('POST') && r.includes('/api/segment')).length;

  // Browser mode: the first image again, dropped on the page, and this time not uploaded.
  await upload([files[0]!], 'browser', 'drop');
  const browserCard = 'article.card[data-mode="browser"]';
  assert.equal(await page.getAttribute(browserCard, 'data-status'), 'done', (await page.textContent(browserCard)) ?? '');
  const inBrowser = await shownMetrics(browserCard);
  const viaApi = await apiResult(files[0]!);
  assertClose(inBrowser, viaApi, false, `browser ${basename(files[0]!)}`);
  const identical = Object.entries(inBrowser).filter(([k, v]) => v === viaApi[k]).length;
  t.diagnostic(`browser vs API: ${identical} of ${Object.keys(inBrowser).length} shown metrics identical`);
  assert.match((await page.textContent(`${browserCard} .timing`)) ?? '', /^In this browser \(WebAssembly\): \d+ ms in all, model \d+ ms/);
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
  assert.equal(csv[0], apiCsv[0]);
  assert.equal(csv.length, 4);
  const cell = (v: string | undefined): number | string | null => (v === undefined || v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v));
  const header = csv[0]!.split(',');
  const browserRow = csv[3]!.split(',');
  apiCsv[1]!.split(',').forEach((expected, i) => {
    const column = header[i]!;
    if (column !== 'inferenceMs') assert.ok(closeEnough(column, cell(browserRow[i]), cell(expected)), `CSV ${column}: ${browserRow[i]} vs ${expected}`);
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
