// The wait for a segmentation worker: jobs start in arrival order, at most `concurrency` at once (one
// per worker). A job whose request gave up while it waited is skipped, and a full queue (too many
// jobs, or too many bytes of uploads held) refuses at once instead of growing.
import { ApiError } from './errors.js';

interface Pending {
  bytes: number;
  weight: number;
  start: () => void;
}

export class WorkQueue {
  private readonly pending: Pending[] = [];
  private waitingBytesCount = 0;
  private runningCount = 0;
  private runningWeight = 0;

  /**
   * @param concurrency jobs running at once.
   * @param maxWaiting jobs allowed to wait, not yet running, before new ones get 503.
   * @param maxWaitingBytes upload bytes allowed to wait; a job that would pass it gets 503, unless
   *   nothing waits (one upload is bounded by the body limit alone).
   * @param maxRunningWeight the most weight (pixels) running at once: the next job waits while it
   *   would pass it, unless nothing runs. Keeps two huge images from being in memory together.
   */
  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    private readonly maxWaitingBytes = Number.POSITIVE_INFINITY,
    private readonly maxRunningWeight = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  }

  get waiting(): number {
    return this.pending.length;
  }

  get waitingBytes(): number {
    return this.waitingBytesCount;
  }

  get running(): number {
    return this.runningCount;
  }

  /**
   * Runs `job` once the jobs queued before it have started and a place is free. If `cancelled()` is
   * true when its turn comes (its request timed out or the client left), the job never runs; once
   * running it finishes, since inference cannot be interrupted. A failing job rejects only its own
   * promise: the queue goes on.
   */
  run<T>(job: () => Promise<T>, options: { cancelled?: () => boolean; bytes?: number; weight?: number } = {}): Promise<T> {
    const { cancelled = () => false, bytes = 0, weight = 0 } = options;
    if (this.pending.length >= this.maxWaiting) {
      return Promise.reject(new ApiError(503, `the server is busy (${this.pending.length} images waiting); try again shortly`, { 'retry-after': '2' }));
    }
    if (this.pending.length > 0 && this.waitingBytesCount + bytes > this.maxWaitingBytes) {
      const mb = (this.waitingBytesCount / 1024 / 1024).toFixed(0);
      return Promise.reject(new ApiError(503, `the server is busy (${mb} MB of images waiting); try again shortly`, { 'retry-after': '2' }));
    }
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        if (cancelled()) {
          reject(new ApiError(503, 'the request was given up while waiting for the model', { 'retry-after': '5' }));
          return;
        }
        this.runningCount++;
        this.runningWeight += weight;
        // job() may throw synchronously: the promise chain turns that into a rejection too.
        Promise.resolve()
          .then(job)
          .then(resolve, reject)
          .finally(() => {
            this.runningCount--;
            this.runningWeight -= weight;
            this.pump();
          });
      };
      this.pending.push({ bytes, weight, start });
      this.waitingBytesCount += bytes;
      this.pump();
    });
  }

  private pump(): void {
    while (this.runningCount < this.concurrency && this.pending.length > 0) {
      const head = this.pending[0]!;
      // Strict arrival order: a heavy job at the head waits for room, and the light ones behind it wait too.
      if (this.runningCount > 0 && this.runningWeight + head.weight > this.maxRunningWeight) return;
      const next = this.pending.shift()!;
      this.waitingBytesCount -= next.bytes;
      next.start();
    }
  }
}

/**
 * Runs `work` with a time limit: after `ms` the returned promise rejects with 503, and the
 * `cancelled` flag handed to `work` turns true so queued work is skipped. `gone()` (the client
 * disconnected) also counts as cancelled. Work already running carries on; its late result is dropped.
 */
export async function withTimeout<T>(ms: number, gone: () => boolean, work: (cancelled: () => boolean) => Promise<T>): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new ApiError(503, `the request took longer than ${ms / 1000} s; the server is busy, try again`, { 'retry-after': '5' }));
    }, ms);
  });
  try {
    return await Promise.race([work(() => timedOut || gone()), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
