// End to end in headless Chromium, the page's downloads: "Download all" is one zip with every finished
// image's mask and overlay, results.csv and results.json, whichever mode segmented them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { unzipSync } from 'fflate';
import { RESULT_COLUMNS } from '../report/results.js';
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

async function segmentOnPage(files: string[], mode: 'server' | 'browser'): Promise<void> {
  await page.check(`input[name="mode"][value="${mode}"]`);
  await page.setInputFiles('#file-input', files);
  await page.waitForFunction(
    ([m, n]) => document.querySelectorAll(`article.card[data-mode="${m}"][data-status="done"], article.card[data-mode="${m}"][data-status="error"]`).length >= Number(n),
    [mode, String(files.length)],
    { timeout: 60_000 },
  );
}

test('"Download all" gives one zip: each image\'s mask and overlay, results.csv and results.json', { timeout: 120_000 }, async () => {
  const files = testImageIds(server.segmenter, 2).map(datasetImage);
  await segmentOnPage(files, 'server');
  await segmentOnPage([files[0]!], 'browser'); // the same name again: its files must not overwrite the first's

  const downloads: string[] = [];
  page.on('download', (d) => downloads.push(d.suggestedFilename()));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-all')]);
  assert.equal(download.suggestedFilename(), 'leukoseg-results.zip');
  const zip = unzipSync(new Uint8Array(await readFile(await download.path())));

  const stems = files.map((f) => basename(f, '.bmp'));
  const expected = [...stems, `${stems[0]}-2`].flatMap((s) => [`${s}.mask.png`, `${s}.overlay.png`]);
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
