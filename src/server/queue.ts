// One model, one thread: jobs run strictly one after another in arrival order. A job whose
// request gave up while it waited is skipped, and a full queue refuses at once instead of growing.
import { ApiError } from './errors.js';

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waitingCount = 0;
  private runningCount = 0;

  /** @param maxWaiting jobs allowed in the queue, not yet running, before new ones get 503. */
  constructor(private readonly maxWaiting: number) {}

  get waiting(): number {
    return this.waitingCount;
  }

  get running(): number {
    return this.runningCount;
  }

  /**
   * Runs `job` after every job queued before it. If `cancelled()` is true when its turn comes (its
   * request timed out or the client left), the job never runs; once running it finishes, since
   * inference cannot be interrupted. A failing job rejects only its own promise: the queue goes on.
   */
  run<T>(job: () => Promise<T>, cancelled: () => boolean = () => false): Promise<T> {
    if (this.waitingCount >= this.maxWaiting) {
      return Promise.reject(new ApiError(503, `the server is busy (${this.waitingCount} images waiting); try again shortly`, { 'retry-after': '2' }));
    }
    this.waitingCount++;
    const result = this.tail.then(async () => {
      this.waitingCount--;
      if (cancelled()) throw new ApiError(503, 'the request was given up while waiting for the model', { 'retry-after': '5' });
      this.runningCount++;
      try {
        return await job();
      } finally {
        this.runningCount--;
      }
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
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
