// The server keeps answering while it segments: health, the page's files and 503s come back at once
// while large images are decoded, segmented and encoded in the workers (over real HTTP on loopback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { decodeImage } from '../data/decode.js';
import { startServe, type RunningServer } from '../cli/serve.js';
import type { HealthResponse } from './api-types.js';
import { datasetImage } from './fixtures.js';

/**
 * Far above a healthy answer on loopback (a few ms), far below a blocked event loop (seconds per large
 * image). Checked at the 90th percentile: on a shared 2-core machine the OS alone can hold the thread
 * back for a while now and then; `npm run bench:serve` reports the p99.
 */
const LIMIT_MS = 250;

let server: RunningServer;
let large: Buffer;

before(async () => {
  server = await startServe({ host: '127.0.0.1', port: 0, maxPixels: 8_000_000, bodyLimitMb: 20, timeout: 60, backend: 'wasm', workers: 2 });
  const cell = await decodeImage(await readFile(datasetImage('001')), '001.bmp');
  large = await sharp(Buffer.from(cell.data), { raw: { width: cell.width, height: cell.height, channels: 3 } }).resize(1500, 1500).png().toBuffer();
});

after(async () => {
  await server?.close();
});

async function timed(path: string): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const res = await fetch(`${server.url}${path}`);
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

test('health and the page answer within 250 ms (p90) while four 1500x1500 images are segmented', { timeout: 120_000 }, async (t) => {
  const uploads = Array.from({ length: 4 }, () =>
    fetch(`${server.url}/api/segment?format=png&mode=crop&name=large.png`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(large) }));
  let busy = 0;
  const samples: number[] = [];
  // Sample until the uploads are done, at least 10 times while a worker is busy.
  let finished = false;
  const all = Promise.all(uploads).finally(() => (finished = true));
  while (!finished) {
    const health = await timed('/api/health');
    assert.equal(health.status, 200);
    const { queue } = JSON.parse(health.body) as HealthResponse;
    if (queue.running > 0) {
      busy++;
      samples.push(health.ms);
      samples.push((await timed('/')).ms);
    }
    await sleep(20);
  }
  const responses = await all;
  for (const res of responses) assert.equal(res.status, 200, await res.text());
  assert.ok(busy >= 10, `only ${busy} health answers while the workers were busy`);
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const text = `${samples.length} answers while segmenting: median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, slowest ${sorted.at(-1)!.toFixed(1)} ms`;
  t.diagnostic(text);
  assert.ok(at(0.9) < LIMIT_MS, text);
});
