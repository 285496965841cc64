// End to end in headless Chromium, the page's in-browser runtimes and its downloads: ONNX Runtime Web by
// default (threads on the cross-origin isolated page), TensorFlow.js (its threaded build there too) on request
// or when ONNX Runtime Web cannot start, their ms per image side by side; "Download all" is one zip of masks, overlays and results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { unzipSync } from 'fflate';
import { RESULT_COLUMNS } from '../output/results.js';
import { startServe, type RunningServer } from '../cli/serve.js';
import { datasetImage, testImageIds } from './fixtures.js';

const CHROMIUM = process.env.LEUKOSEG_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let server: RunningServer;
let context: BrowserContext;
let page: Page;
let profileDir: string;
const pageErrors: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set LEUKOSEG_CHROMIUM`);
  server = await startServe({ host: '127.0.0.1', port: 0, maxPixels: 8_000_000, bodyLimitMb: 20, timeout: 30, backend: 'wasm' });
  profileDir = await mkdtemp(join(tmpdir(), 'leukoseg-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: true });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

/** Segments `files` on the page in `mode` and waits until each of their cards is finished (done or failed). */
async function segmentOnPage(files: string[], mode: 'server' | 'browser', on: Page = page): Promise<void> {
  const before = await on.locator(`article.card[data-mode="${mode}"]`).count();
  await on.check(`input[name="mode"][value="${mode}"]`);
  await on.setInputFiles('#file-input', files);
  await on.waitForFunction(
    ([m, n]) => document.querySelectorAll(`article.card[data-mode="${m}"][data-status="done"], article.card[data-mode="${m}"][data-status="error"]`).length >= Number(n),
    [mode, String(before + files.length)],
    { timeout: 60_000 },
  );
}

test('"Download all" gives one zip: each image\'s mask, overlay and cell labels, results.csv and results.json', { timeout: 120_000 }, async () => {
  const files = testImageIds(server.model, 2).map(datasetImage);
  await segmentOnPage(files, 'server');
  await segmentOnPage([files[0]!], 'browser'); // the same name again: its files must not overwrite the first's

  const downloads: string[] = [];
  page.on('download', (d) => downloads.push(d.suggestedFilename()));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-all')]);
  assert.equal(download.suggestedFilename(), 'leukoseg-results.zip');
  const zip = unzipSync(new Uint8Array(await readFile(await download.path())));

  const stems = files.map((f) => basename(f, '.bmp'));
  const expected = [...stems, `${stems[0]}-2`].flatMap((s) => [`${s}.mask.png`, `${s}.overlay.png`, `${s}.cells.png`]);
  assert.deepEqual(Object.keys(zip).sort(), [...expected, 'results.csv', 'results.json'].sort());
  for (const name of expected) {
    const meta = await sharp(Buffer.from(zip[name]!)).metadata();
    assert.equal(meta.format, 'png', name);
    assert.ok(meta.width! >= 100 && meta.height! >= 100, `${name}: ${meta.width}x${meta.height}, the image's own size`);
  }
  // The browser's mask of the first image is the server's (the e2e suite checks the numbers in detail).
  const gray = (name: string) => sharp(Buffer.from(zip[name]!)).extractChannel(0).raw().toBuffer();
  const [a, b] = await Promise.all([gray(`${stems[0]}.mask.png`), gray(`${stems[0]}-2.mask.png`)]);
  const differing = a.reduce((n, v, i) => n + (v === b[i] ? 0 : 1), 0);
  assert.ok(differing <= 0.005 * a.length, `${differing} pixels differ between the server's and the browser's mask`);

  const csv = new TextDecoder().decode(zip['results.csv']).trim().split('\n');
  assert.equal(csv[0], RESULT_COLUMNS.join(','));
  assert.equal(csv.length, 4);
  const json = JSON.parse(new TextDecoder().decode(zip['results.json'])) as { images: Array<{ name: string }>; modes: Array<{ name: string; mode: string }> };
  assert.deepEqual(json.images.map((r) => r.name), [...stems, stems[0]]);
  assert.deepEqual(json.modes.map((m) => m.mode.split(' ')[0]), ['server', 'server', 'browser']);
  assert.deepEqual(downloads, ['leukoseg-results.zip'], 'one download, not one per file');
  assert.deepEqual(pageErrors, [], 'errors in the page');
});

async function openPage(query: string, cores?: number): Promise<Page> {
  const p = await context.newPage();
  // As if the machine had `cores` cores.
  if (cores !== undefined) await p.addInitScript((n) => Object.defineProperty(navigator, 'hardwareConcurrency', { configurable: true, get: () => n }), cores);
  p.on('pageerror', (e) => pageErrors.push(`${query}: ${e.message}`));
  await p.goto(`${server.url}/${query}`);
  await p.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));
  return p;
}

/** The model ms of the last finished card on `p` (the page's own performance.now() around the network). */
async function lastModelMs(p: Page): Promise<number> {
  return p.$$eval('article.card[data-mode="browser"][data-status="done"] .timing', (els) => {
    const text = els.at(-1)?.textContent ?? '';
    const m = /model ([\d.]+) (ms|s)/.exec(text);
    return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : Number.NaN;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('in-browser mode runs on ONNX Runtime Web (threads, isolated page) by default, TensorFlow.js on request (threaded build); ms per image of each', { timeout: 300_000 }, async (t) => {
  const ort = await openPage('');
  const tfjs = await openPage('?runtime=tfjs');
  // As on a 4-core machine: half the cores, so tfjs starts its threaded build on 2 threads.
  const tfjs2 = await openPage('?runtime=tfjs', 4);
  type Runtime = 'onnx' | 'tfjs' | 'tfjs2';
  try {
    assert.equal(await ort.evaluate(() => crossOriginIsolated), true, 'the page is cross-origin isolated (COOP/COEP)');
    const ids = ['001', '002', '003', '004', '005', '006', '007', '008', '009'];
    const ms: Record<Runtime, number[]> = { onnx: [], tfjs: [], tfjs2: [] };
    const pages: Array<[Runtime, Page]> = [['onnx', ort], ['tfjs', tfjs], ['tfjs2', tfjs2]];
    // Interleaved image by image, in a turning order, so all runtimes see the same load from whatever else runs on the machine.
    for (const [i, id] of ids.entries()) {
      for (const [name, p] of [...pages.slice(i % 3), ...pages.slice(0, i % 3)]) {
        await segmentOnPage([datasetImage(id)], 'browser', p);
        if (i > 0) ms[name].push(await lastModelMs(p)); // the first image includes compiling the wasm
      }
    }
    const timing = await ort.textContent('article.card[data-mode="browser"] .timing');
    assert.match(timing ?? '', /^In this browser \(WebAssembly\): .* · ONNX Runtime Web \(\d threads?\)$/);
    // tfjs takes ONNX Runtime Web's number of threads; with 2 or more, its threaded build, its workers' scripts from the server.
    const threads = Number(/\((\d) thread/.exec(timing ?? '')?.[1]);
    assert.match((await tfjs.textContent('article.card[data-mode="browser"] .timing')) ?? '', new RegExp(` · TensorFlow\\.js \\(${threads} threads?\\)$`));
    assert.match((await tfjs2.textContent('article.card[data-mode="browser"] .timing')) ?? '', / · TensorFlow\.js \(2 threads\)$/);
    t.diagnostic(`ms per image in Chromium (model alone, median of ${ms.onnx.length}, interleaved): ONNX Runtime Web ${median(ms.onnx).toFixed(0)} (${threads} thread(s)) ` +
      `vs TensorFlow.js wasm ${median(ms.tfjs).toFixed(0)} (${threads} thread(s)) and ${median(ms.tfjs2).toFixed(0)} (threaded build, 2 threads)`);
    t.diagnostic(`onnx: ${ms.onnx.map((x) => x.toFixed(0)).join(' ')}; tfjs: ${ms.tfjs.map((x) => x.toFixed(0)).join(' ')}; tfjs 2 threads: ${ms.tfjs2.map((x) => x.toFixed(0)).join(' ')}`);

    // Both give the server's mask for the same image (the server segments on onnxruntime-node).
    const api = await fetch(`${server.url}/api/segment?format=png`, { method: 'POST', headers: { 'content-type': 'image/bmp' }, body: await readFile(datasetImage('001')) });
    const apiMask = await sharp(Buffer.from(await api.arrayBuffer())).extractChannel(0).raw().toBuffer();
    for (const [name, p] of pages) {
      const [d] = await Promise.all([p.waitForEvent('download'), p.click('article.card[data-mode="browser"] a[download$=".mask.png"]')]);
      const mask = await sharp(await d.path()).extractChannel(0).raw().toBuffer();
      assert.equal(mask.length, apiMask.length);
      const differing = mask.reduce((n, v, i) => n + (v === apiMask[i] ? 0 : 1), 0);
      assert.ok(differing <= 0.005 * apiMask.length, `${name}: ${differing} mask pixels differ from the API's`);
    }
  } finally {
    await ort.close();
    await tfjs.close();
    await tfjs2.close();
  }
});

test('when ONNX Runtime Web cannot load, the page segments on TensorFlow.js and says why; an unknown runtime is refused', { timeout: 120_000 }, async () => {
  const p = await context.newPage();
  try {
    await p.route('**/vendor/ort/**', (route) => route.abort());
    await p.goto(server.url);
    await p.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));
    await segmentOnPage([datasetImage('001')], 'browser', p);
    assert.equal(await p.getAttribute('article.card[data-mode="browser"]', 'data-status'), 'done');
    assert.match((await p.textContent('article.card[data-mode="browser"] .timing')) ?? '', / · TensorFlow\.js \(\d threads?\)$/);
    assert.match((await p.textContent('#status')) ?? '', /ONNX Runtime Web did not start \(.+\): TensorFlow\.js ran instead\./);

    await p.goto(`${server.url}/?runtime=webgl`);
    await p.waitForFunction(() => /^Model /.test(document.getElementById('model-info')?.textContent ?? ''));
    await segmentOnPage([datasetImage('001')], 'browser', p);
    assert.equal(await p.getAttribute('article.card[data-mode="browser"]', 'data-status'), 'error');
    assert.match((await p.textContent('article.card[data-mode="browser"]')) ?? '', /runtime=webgl; use one of onnx, tfjs/);
  } finally {
    await p.close();
  }
});
