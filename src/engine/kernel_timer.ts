// Per-kernel time profile for synchronous backends (wasm, cpu), made by
// wrapping the registered kernel functions; tf.profile cannot split self time.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

export interface KernelTime {
  name: string;
  /** Time inside the kernel, minus kernels it ran itself. Sums to the total. */
  selfMs: number;
  /** Time of calls made directly by the engine, nested kernels included. */
  topLevelMs: number;
  calls: number;
}

/** Milliseconds on some clock. */
export type Clock = () => number;

/** Wall-clock time: what a user waits for. */
export const wallClock: Clock = () => performance.now();

/**
 * CPU time of this process: robust when other processes compete for the
 * cores (a preempted kernel does not accrue time), but it also counts V8's
 * background GC threads.
 */
export const cpuClock: Clock = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export class KernelTimer {
  private readonly times = new Map<string, KernelTime>();
  private readonly childMs: number[] = [];
  private originals: KernelConfig[] = [];

  constructor(private readonly clock: Clock = wallClock) {}

  /** Wraps every kernel registered for the backend; the backend must compute synchronously. */
  start(backendName: string = tf.getBackend()): void {
    if (this.originals.length > 0) {
      throw new Error('KernelTimer already started');
    }
    this.originals = tf.getKernelsForBackend(backendName);
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel({ ...config, kernelFunc: this.wrap(config.kernelName, config.kernelFunc) });
    }
  }

  stop(): void {
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, config.backendName);
      tf.registerKernel(config);
    }
    this.originals = [];
  }

  reset(): void {
    this.times.clear();
  }

  /** Kernel times, largest self time first. */
  report(): KernelTime[] {
    return [...this.times.values()].map((t) => ({ ...t })).sort((a, b) => b.selfMs - a.selfMs);
  }

  private wrap(name: string, kernelFunc: KernelFunc): KernelFunc {
    const wrapped: KernelFunc = (params) => {
      this.childMs.push(0);
      const start = this.clock();
      try {
        return kernelFunc(params);
      } finally {
        const elapsed = this.clock() - start;
        const children = this.childMs.pop() ?? 0;
        const depth = this.childMs.length;
        if (depth > 0) {
          this.childMs[depth - 1] += elapsed;
        }
        const entry = this.times.get(name) ?? { name, selfMs: 0, topLevelMs: 0, calls: 0 };
        entry.selfMs += elapsed - children;
        entry.topLevelMs += depth === 0 ? elapsed : 0;
        entry.calls += 1;
        this.times.set(name, entry);
      }
    };
    // Keep markers (e.g. leukoseg's kernel tag) visible through the wrapper.
    return Object.assign(wrapped, kernelFunc);
  }
}
