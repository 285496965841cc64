// A segmentation worker thread: loads its own copy of the model, then decodes, segments and encodes
// one image per message, so none of that CPU work runs on the HTTP server's event loop.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { DataFileError } from '../data/errors.js';
import { ApiError } from './errors.js';
import { segmentJob } from './segment.js';
import type { JobMessage, StopMessage, WorkerConfig, WorkerFailure, WorkerMessage } from './worker-protocol.js';

function failureOf(err: unknown): WorkerFailure {
  if (err instanceof ApiError || err instanceof DataFileError) return { statusCode: err instanceof ApiError ? err.statusCode : 422, message: err.message };
  return { statusCode: null, message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
}

/**
 * On Linux the nice value belongs to a thread, and threads inherit it: lowering this one before the
 * model starts its own threads (ONNX Runtime's) lets the HTTP thread win the CPU whenever both want
 * it, so health checks and 503s stay instant even when the workers keep every core busy. Only by 5:
 * at 10 the workers got so little CPU beside a training run that throughput halved. Elsewhere
 * setPriority would lower the whole process, so it is left alone.
 */
function yieldToHttpThread(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(WORKER_NICE);
  } catch {
    // not permitted here (some containers): the worker simply runs at normal priority
  }
}

const WORKER_NICE = 5;

async function main(): Promise<void> {
  yieldToHttpThread();
  const port = parentPort;
  if (port === null) throw new Error('src/server/worker.ts runs only as a worker thread (see pool.ts)');
  const config = workerData as WorkerConfig;
  const send = (message: WorkerMessage): void => port.postMessage(message);
  let model: Segmenter;
  try {
    model = await loadSegmenter({ model: config.model, backend: config.backend, runtime: config.runtime, maxPixels: config.maxPixels });
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  send({ type: 'ready', model: { metadata: model.metadata, modelDir: model.modelDir, runtime: model.runtime } });
  // The pool sends at most JOBS_PER_WORKER jobs at once; their awaits (ONNX Runtime, sharp) interleave.
  port.on('message', (message: JobMessage | StopMessage) => {
    if ('stop' in message) {
      model.dispose();
      port.close();
      return;
    }
    const { id, job } = message;
    segmentJob(model, config.maxPixels, job).then(
      (answer) => {
        // Handed over, not copied; Node's small Buffers share one pooled ArrayBuffer, so those are copied first.
        const body = answer.body.byteOffset === 0 && answer.body.byteLength === answer.body.buffer.byteLength ? answer.body : new Uint8Array(answer.body);
        port.postMessage({ type: 'done', id, answer: { ...answer, body } } satisfies WorkerMessage, [body.buffer as ArrayBuffer]);
      },
      (err: unknown) => send({ type: 'error', id, failure: failureOf(err) }),
    );
  });
}

void main();
