// A segmentation worker thread: loads its own copy of the model, then decodes, segments and encodes
// one image per message, so none of that CPU work runs on the HTTP server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { DataFileError } from '../data/errors.js';
import { ApiError } from './errors.js';
import { segmentJob } from './segment.js';
import type { JobMessage, WorkerConfig, WorkerFailure, WorkerMessage } from './worker-protocol.js';

function failureOf(err: unknown): WorkerFailure {
  if (err instanceof ApiError || err instanceof DataFileError) return { statusCode: err instanceof ApiError ? err.statusCode : 422, message: err.message };
  return { statusCode: null, message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('src/server/worker.ts runs only as a worker thread (see pool.ts)');
  const config = workerData as WorkerConfig;
  const send = (message: WorkerMessage): void => port.postMessage(message);
  let model: Segmenter;
  try {
    model = await loadSegmenter({ model: config.model, backend: config.backend, maxPixels: config.maxPixels });
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  send({ type: 'ready', model: { metadata: model.metadata, modelDir: model.modelDir, runtime: model.runtime } });
  // One job at a time: the pool sends the next only after this one's answer.
  port.on('message', ({ id, job }: JobMessage) => {
    segmentJob(model, config.maxPixels, job).then(
      (answer) => send({ type: 'done', id, answer }),
      (err: unknown) => send({ type: 'error', id, failure: failureOf(err) }),
    );
  });
}

void main();
