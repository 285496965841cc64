// Health latency under load, for npm run bench:serve: GET /api/health one request at a time, every
// 50 ms, from a worker thread of its own so that the load generator's event loop does not add to it.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HealthLatency {
  samples: number;
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

interface ProbeConfig {
  url: string;
  intervalMs: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Starts probing `url` (the server's /api/health); `stop()` ends it and gives the figures in ms. */
export function startHealthProbe(url: string, intervalMs = 50): { stop: () => Promise<HealthLatency> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, intervalMs } satisfies ProbeConfig });
  const result = new Promise<{ times: number[]; failures: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      const { times, failures } = await result;
      await worker.terminate();
      const sorted = [...times].sort((a, b) => a - b);
      const round = (v: number): number => Number(v.toFixed(1));
      return { samples: times.length, failures, p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? Number.NaN) };
    },
  };
}

async function probe(config: ProbeConfig): Promise<void> {
  let stopped = false;
  parentPort!.once('message', () => (stopped = true));
  const times: number[] = [];
  let failures = 0;
  while (!stopped) {
    const started = performance.now();
    try {
      const res = await fetch(config.url, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      if (res.ok) times.push(performance.now() - started);
      else failures++;
    } catch {
      failures++;
    }
    await sleep(config.intervalMs);
  }
  parentPort!.postMessage({ times, failures });
}

if (!isMainThread && parentPort !== null) void probe(workerData as ProbeConfig);
