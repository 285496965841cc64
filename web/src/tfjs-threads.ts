// TensorFlow.js's threaded wasm build in the page, without blob: URLs: the page half of what
// src/engine/tfjs-internals.ts does in Node. tfjs starts its pthread workers from a blob: URL and has
// each import the module's glue from a Blob, which the page's CSP (script-src 'self') refuses; here the
// workers load the same two scripts from the server (/vendor/tfjs/, served by src/server/assets.ts).
// tfjs sizes its pool as navigator.hardwareConcurrency / 2 (it assumes two hyper-threads per core).
import { THREADED_MAIN_SCRIPT, THREADED_WORKER_SCRIPT } from '../../src/server/asset-urls.js';

/**
 * Runs `start` (tf.setBackend('wasm') with tfjs's threads set) with the pthread workers made from the
 * server's worker script, their 'load' message naming the server's module script, and
 * navigator.hardwareConcurrency reading 2 x `threads`; puts Worker and hardwareConcurrency back after.
 */
export async function withServedThreadScripts<T>(urlPrefix: string, threads: number, start: () => Promise<T>): Promise<T> {
  const PageWorker = globalThis.Worker;
  const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  const workerUrl = new URL(urlPrefix + THREADED_WORKER_SCRIPT, location.href).href;
  const mainUrl = new URL(urlPrefix + THREADED_MAIN_SCRIPT, location.href).href;
  class PthreadWorker extends PageWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(String(url).startsWith('blob:') ? workerUrl : url, options);
    }

    override postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
      const m = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
      const load = m !== null && typeof m === 'object' && m.cmd === 'load' && typeof m.urlOrBlob !== 'string';
      super.postMessage(load ? { ...m, urlOrBlob: mainUrl } : message, transfer as Transferable[]);
    }
  }
  Object.defineProperty(globalThis, 'Worker', { configurable: true, writable: true, value: PthreadWorker });
  Object.defineProperty(navigator, 'hardwareConcurrency', { configurable: true, get: () => 2 * threads });
  try {
    return await start();
  } finally {
    if (workerBefore !== undefined) Object.defineProperty(globalThis, 'Worker', workerBefore);
    Reflect.deleteProperty(navigator, 'hardwareConcurrency');
  }
}
