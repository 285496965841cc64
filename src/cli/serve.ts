// `leukoseg serve`: the web page and HTTP API on this machine. Loopback by default, because
// medical images often must not leave it; another --host is allowed but said out loud.
import { Command, InvalidArgumentError } from 'commander';
import type { FastifyInstance } from 'fastify';
import { buildServer, DEFAULT_SERVER_MAX_PIXELS } from '../server/app.js';
import type { EngineBackend } from '../engine/index.js';
import { backendOption, runtimeOption } from './options.js';
import type { SegmenterRuntime } from '../infer/segmenter.js';
import { defaultWorkerCount, WorkerPool, type ModelDescription } from '../server/pool.js';

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export interface ServeOptions {
  host: string;
  port: number;
  model?: string;
  maxPixels: number;
  bodyLimitMb: number;
  timeout: number;
  backend: EngineBackend;
  /** onnx or tfjs (default: ONNX Runtime when it loads). */
  runtime?: SegmenterRuntime;
  /** Segmentation worker threads (default: one per core but one, at most 4). */
  workers?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  pool: WorkerPool;
  /** The model the workers run. */
  model: ModelDescription;
  url: string;
  /** Stops accepting requests, lets running ones finish, stops the workers. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Starts the workers (each loads the model) and listens; used by the command, the end-to-end test and the load bench. */
export async function startServe(opts: ServeOptions): Promise<RunningServer> {
  const { pool, model } = await WorkerPool.start({
    model: opts.model,
    backend: opts.backend,
    runtime: opts.runtime,
    maxPixels: opts.maxPixels,
    workers: opts.workers,
  });
  try {
    const app = await buildServer({
      pool,
      model,
      bodyLimit: Math.round(opts.bodyLimitMb * 1024 * 1024),
      timeoutMs: Math.round(opts.timeout * 1000),
    });
    await app.listen({ host: opts.host, port: opts.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : opts.port;
    const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
    const close = async (): Promise<void> => {
      await app.close();
      await pool.close();
    };
    return { app, pool, model, url: `http://${host}:${port}`, close };
  } catch (err) {
    await pool.close();
    throw err;
  }
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('web page and HTTP API for segmenting images on this machine (loopback only by default)')
    .option('--host <address>', 'address to listen on; anything but loopback exposes the server to the network', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', wholeNumber(0, 65535), 8080)
    .option('--model <dir>', 'a model folder or run folder (default: the bundled model)')
    .option('--max-pixels <n>', 'refuse larger images (422)', wholeNumber(1, 1_000_000_000), DEFAULT_SERVER_MAX_PIXELS)
    .option('--body-limit <mb>', 'refuse larger uploads (413), in megabytes', positiveNumber, 20)
    .option('--timeout <seconds>', 'longest time for one request, waiting for the model included (then 503)', positiveNumber, 30)
    .addOption(runtimeOption())
    .addOption(backendOption('for --runtime tfjs'))
    .option('--workers <n>', 'segmentation threads, each with its own copy of the model (default: one per core but one, at most 4)', wholeNumber(1, 64), defaultWorkerCount())
    .action(async (opts: { host: string; port: number; model?: string; maxPixels: number; bodyLimit: number; timeout: number; backend: EngineBackend; runtime?: SegmenterRuntime; workers: number }) => {
      const server = await startServe({ ...opts, bodyLimitMb: opts.bodyLimit });
      if (!LOOPBACK.has(opts.host)) {
        console.error(`warning: listening on ${opts.host}: other machines can reach this server and send it images`);
      }
      console.log(`leukoseg serve: ${server.url} (model ${server.model.metadata.preset ?? server.model.metadata.architecture} from ${server.model.modelDir}${server.model.runtime ? ` on ${server.model.runtime}` : ''}, ${server.pool.size} worker${server.pool.size === 1 ? '' : 's'}; Ctrl-C stops)`);
      const stop = (): void => {
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`leukoseg serve: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
