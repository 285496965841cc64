// The segmentation workers behind the HTTP server: a few worker threads (one per core but one),
// each with its own copy of the model, fed from one WorkQueue, so the event loop only parses
// requests and sends answers, and at most one image per worker is decoded in memory at a time.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
// sharp must be loaded by the main thread before workers load it, so that its shared libraries stay
// loaded until every thread is done (sharp's documentation, "worker threads" on glibc Linux).
import 'sharp';
import { loadNativeConv } from '../engine/native.js';
import { loadOnnxRuntime } from '../onnx/runtime.js';
import { ApiError } from './errors.js';
import { WorkQueue } from './queue.js';
import type { SegmentAnswer, SegmentJob } from './segment.js';
import type { SegmenterRuntime } from '../infer/segmenter.js';
import type { ModelDescription, StopMessage, WorkerConfig, WorkerFailure, WorkerMessage } from './worker-protocol.js';

export type { ModelDescription } from './worker-protocol.js';

export interface PoolOptions {
  /** A model folder or run folder (default: the bundled model). */
  model?: string;
  backend?: 'wasm' | 'cpu';
  /** onnx or tfjs (default: ONNX Runtime when it loads, as `segment`). */
  runtime?: SegmenterRuntime;
  /** Largest image in pixels; larger ones get 422. */
  maxPixels: number;
  /** Worker threads (default: one per core but one, at least 1, at most 4). */
  workers?: number;
  /** Images allowed to wait for a worker (default 256); more get 503 at once. */
  maxWaiting?: number;
  /** Upload bytes allowed to wait for a worker (default 256 MB); more get 503 at once. */
  maxWaitingBytes?: number;
  /** Pixels of the images being segmented at once (default maxPixels): two huge ones take turns. */
  maxRunningPixels?: number;
}

export const DEFAULT_MAX_WAITING_BYTES = 256 * 1024 * 1024;

/**
 * Images above this go to a worker that has had one before, when it is free: WebAssembly memory
 * never shrinks, and one 2800 x 2800 image leaves a worker ~400 MB larger for good (peak ~620 MB),
 * so one worker grows instead of all. (Replacing such a worker by a fresh one instead stalled the
 * HTTP thread for ~140 ms while the old one was torn down.)
 */
export const LARGE_PIXELS = 2_000_000;

/**
 * Images a worker has at once: while one waits for ONNX Runtime or sharp (their own threads), the
 * worker's JavaScript decodes, measures or draws another. With one image per worker the stages ran
 * strictly in turn, and beside two training runs one worker did 6.7 images/s against 11.4 with the
 * model on the event loop; with 2 at once 7.8, with 3 at once 11.2 (npm run bench:serve). Memory
 * stays bounded by maxRunningPixels, which counts every image running.
 */
export const JOBS_PER_WORKER = 3;

/**
 * One core is left to the HTTP thread (and the model's own threads): on this 2-core machine beside
 * two training runs, /api/health had p99 86 ms with one worker against 126 ms with two, at 11.2
 * against 12.6 images/s (npm run bench:serve; WORKERS=1 with three images per worker, WORKERS=2 with two).
 */
export function defaultWorkerCount(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * Loads, on this thread, the native libraries the workers load: the oneDNN addon (with its OpenMP
 * threads) and ONNX Runtime (with its thread pool). A worker that ends unloads the shared libraries
 * that only it had loaded while threads they started still exist, and the process then faults in code
 * that is no longer mapped: pool.test died of SIGSEGV in 2 of 20 runs, a thread's address in no
 * loaded library, neither the addon nor ONNX Runtime mapped any more (a core dump; cf.
 * microsoft/onnxruntime#13086); 0 of 40 with this. Loaded here too, they stay mapped for the
 * process's life, as sharp does above. A library that does not load is left to the workers, which
 * report it; workers told to run on tfjs never load ONNX Runtime, so neither does this.
 */
async function holdWorkerLibraries(runtime: SegmenterRuntime | undefined): Promise<void> {
  loadNativeConv();
  if (runtime !== 'tfjs') await loadOnnxRuntime();
}

interface Slot {
  worker: Worker;
  /** Settles once the worker has loaded the model (rejects if it cannot). */
  ready: Promise<ModelDescription>;
  /** Jobs sent to it and not answered yet, by id. */
  jobs: Map<number, { resolve: (answer: SegmentAnswer) => void; reject: (err: unknown) => void }>;
  /** It has segmented a LARGE_PIXELS image, so its memory has grown already. */
  grown: boolean;
  /** The model loaded: only such a worker is replaced when it dies (one that cannot load would loop). */
  loaded: boolean;
}

function errorOf(failure: WorkerFailure): Error {
  if (failure.statusCode !== null) return new ApiError(failure.statusCode, failure.message);
  const err = new Error(failure.message);
  if (failure.stack) err.stack = `${failure.stack}\n    (in a segmentation worker)`;
  return err;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: WorkQueue;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly config: WorkerConfig,
    count: number,
    options: PoolOptions,
    /** Where a worker that died is reported (default console.error). */
    private readonly logError: (message: string) => void,
  ) {
    this.queue = new WorkQueue(count * JOBS_PER_WORKER, options.maxWaiting ?? 256, options.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES, options.maxRunningPixels ?? options.maxPixels);
    for (let i = 0; i < count; i++) this.slots.push(this.spawn());
  }

  /** Starts the workers and waits until every one has loaded the model; throws the first load failure. */
  static async start(options: PoolOptions, logError: (message: string) => void = (m) => console.error(m)): Promise<{ pool: WorkerPool; model: ModelDescription }> {
    const count = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`workers must be a whole number from 1 to 64, got ${count}`);
    await holdWorkerLibraries(options.runtime);
    const config: WorkerConfig = { model: options.model, backend: options.backend ?? 'wasm', runtime: options.runtime, maxPixels: options.maxPixels };
    const pool = new WorkerPool(config, count, options, logError);
    try {
      const [model] = await Promise.all(pool.slots.map((s) => s.ready));
      return { pool, model: model! };
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  get maxPixels(): number {
    return this.config.maxPixels;
  }

  get size(): number {
    return this.slots.length;
  }

  get running(): number {
    return this.queue.running;
  }

  get waiting(): number {
    return this.queue.waiting;
  }

  /**
   * Segments one upload on the next free worker, in arrival order; skipped if `cancelled()` when its
   * turn comes. `pixels` (from the header, 0 if unknown) is the job's weight against maxRunningPixels.
   */
  segment(job: SegmentJob, cancelled: () => boolean = () => false, pixels = 0): Promise<SegmentAnswer> {
    if (this.closed) return Promise.reject(new ApiError(503, 'the server is shutting down'));
    return this.queue.run(() => this.dispatch(job, pixels), { cancelled, bytes: job.bytes.length, weight: pixels });
  }

  /**
   * Refuses new and waiting jobs, lets running ones finish (at most `graceMs`), then stops every worker.
   * Waiting matters: terminating a worker inside an ONNX Runtime call aborts the whole process.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + graceMs;
    while (this.slots.some((slot) => slot.jobs.size > 0) && Date.now() < deadline) await sleep(20);
    await Promise.all(this.slots.map((slot) => stopWorker(slot.worker)));
  }

  private async dispatch(job: SegmentJob, pixels: number): Promise<SegmentAnswer> {
    // Jobs that were still waiting when the pool closed would otherwise wait for a stopped worker forever.
    if (this.closed) throw new ApiError(503, 'the server is shutting down');
    // The queue runs at most JOBS_PER_WORKER jobs per slot, so a slot with room exists.
    const large = pixels > LARGE_PIXELS;
    const room = (s: Slot): boolean => s.jobs.size < JOBS_PER_WORKER;
    const slot = (large ? this.slots.find((s) => room(s) && s.grown) : undefined)
      ?? this.slots.reduce((best, s) => (s.jobs.size < best.jobs.size ? s : best));
    if (large) slot.grown = true;
    const id = this.nextId++;
    try {
      await slot.ready;
      return await new Promise<SegmentAnswer>((resolve, reject) => {
        slot.jobs.set(id, { resolve, reject });
        slot.worker.postMessage({ id, job });
      });
    } finally {
      slot.jobs.delete(id);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { workerData: this.config });
    let settleReady: { resolve: (m: ModelDescription) => void; reject: (err: unknown) => void } | undefined;
    const ready = new Promise<ModelDescription>((resolve, reject) => (settleReady = { resolve, reject }));
    ready.catch(() => {}); // observed by start() or by the job that awaits it
    const slot: Slot = { worker, ready, jobs: new Map(), grown: false, loaded: false };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        slot.loaded = true;
        settleReady?.resolve(message.model);
      }
      else if (message.type === 'failed') settleReady?.reject(new Error(`a segmentation worker could not load the model: ${message.message}`));
      else {
        const pending = slot.jobs.get(message.id);
        if (message.type === 'done') pending?.resolve(message.answer);
        else pending?.reject(errorOf(message.failure));
      }
    });
    worker.on('error', (err) => this.workerDied(slot, settleReady, err));
    worker.on('exit', (code) => this.workerDied(slot, settleReady, new Error(`exited with code ${code}`)));
    return slot;
  }

  /** A worker that crashed (out of memory, a native fault): its job fails with 500, and a new worker takes its place. */
  private workerDied(slot: Slot, settleReady: { reject: (err: unknown) => void } | undefined, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return; // already replaced ('error' comes before 'exit')
    const failure = new Error(`the segmentation worker stopped: ${err.message}`);
    settleReady?.reject(failure);
    for (const pending of slot.jobs.values()) pending.reject(failure);
    if (this.closed) return;
    if (!slot.loaded) {
      this.logError(`leukoseg serve: ${failure.message} before it loaded the model`);
      return;
    }
    this.logError(`leukoseg serve: ${failure.message}; starting a new one`);
    // The old slot's jobs have just been rejected, so the new worker starts free.
    this.slots[index] = this.spawn();
  }
}

/** Asks a worker to release its model and end (StopMessage); terminates it if it has not within `waitMs`. */
async function stopWorker(worker: Worker, waitMs = 5_000): Promise<void> {
  if (worker.threadId < 0) return; // already ended (Node sets threadId to -1 at exit)
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ stop: true } satisfies StopMessage);
  const timer = setTimeout(() => void worker.terminate(), waitMs);
  await ended;
  clearTimeout(timer);
}
