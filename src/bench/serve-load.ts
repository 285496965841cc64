// Load check of `leukoseg serve`: the real command in a child process on loopback, 50 concurrent
// clients for 20 s posting a real Dataset 1 image to /api/segment; prints req/s, p50/p99, errors,
// and the latency of /api/health asked every 50 ms meanwhile (it must stay under 100 ms at p99).
//
//   npm run bench:serve            (CONNECTIONS=50 DURATION=20 IMAGE=001 WORKERS=n to change the defaults)
//   CONNECTIONS=8 UPSCALE=2800 npm run bench:serve    (the image enlarged to 2800x2800 and sent as PNG)
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { decodeImage } from '../data/decode.js';
import { sharedDataset1 } from '../testing/paths.js';
import { startHealthProbe } from './health-probe.js';

const connections = Number(process.env.CONNECTIONS ?? 50);
const duration = Number(process.env.DURATION ?? 20);
const imageId = process.env.IMAGE ?? '001';
/** Segmentation workers of the server; default: the server's own (one per core). */
const workers = process.env.WORKERS === undefined ? [] : ['--workers', process.env.WORKERS];
/** Side of the square the image is enlarged to (as PNG), to load the server with large images. */
const upscale = process.env.UPSCALE === undefined ? undefined : Number(process.env.UPSCALE);
const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'leukoseg.js');

async function enlarged(bmp: Buffer, side: number): Promise<Buffer> {
  const cell = await decodeImage(bmp, `${imageId}.bmp`);
  return sharp(Buffer.from(cell.data), { raw: { width: cell.width, height: cell.height, channels: 3 } }).resize(side, side).png().toBuffer();
}

/** The server process's peak resident memory (Linux's VmHWM), or null elsewhere. */
async function peakRssMiB(pid: number | undefined): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+)/.exec(status)?.[1];
  return kb === undefined ? null : Math.round(Number(kb) / 1024);
}

async function main(): Promise<void> {
  const bmp = await readFile(join(sharedDataset1(), `${imageId}.bmp`));
  const image = upscale === undefined ? bmp : await enlarged(bmp, upscale);
  const contentType = upscale === undefined ? 'image/bmp' : 'image/png';
  // The server gets its own process, as in use: the load generator must not share its event loop.
  const child = spawn(process.execPath, [bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--timeout', '60', ...workers], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolveUrl(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`leukoseg serve exited with code ${code} before listening`)));
    });
    const target = `${url}/api/segment?name=${imageId}.${upscale === undefined ? 'bmp' : 'png'}`;
    // A short warm-up, so the first compile of the wasm kernels is not in the figures.
    for (let i = 0; i < 3; i++) await fetch(target, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(image) });
    console.log(`leukoseg serve load check: ${connections} connections for ${duration} s, POST ${target} (${image.length} bytes)`);
    const probe = startHealthProbe(`${url}/api/health`);
    const result = await autocannon({ url: target, connections, duration, method: 'POST', headers: { 'content-type': contentType }, body: image, timeout: 60 });
    const health = await probe.stop();
    const summary = {
      requests: result['2xx'] + result.non2xx,
      requestsPerSecond: Number(result.requests.average.toFixed(2)),
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: Number(result.latency.mean.toFixed(1)) },
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      healthMs: health,
      serverPeakRssMiB: await peakRssMiB(child.pid),
    };
    console.log(`requests/s ${summary.requestsPerSecond}  latency p50 ${summary.latencyMs.p50} ms  p99 ${summary.latencyMs.p99} ms  (max ${summary.latencyMs.max} ms)`);
    console.log(`requests ${summary.requests}  errors ${summary.errors}  timeouts ${summary.timeouts}  non-2xx ${summary.non2xx}`);
    console.log(`server peak RSS ${summary.serverPeakRssMiB ?? '?'} MiB`);
    console.log(`/api/health during the load: p50 ${health.p50} ms  p99 ${health.p99} ms  (max ${health.max} ms, ${health.samples} answers, ${health.failures} failed)${health.p99 < 100 ? "" : "  OVER the 100 ms p99 target"}`);
    console.log(JSON.stringify(summary));
    if (summary.errors + summary.timeouts + summary.non2xx + health.failures > 0) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(`serve-load: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
