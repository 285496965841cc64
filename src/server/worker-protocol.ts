// The messages between the server's thread and its segmentation workers (types only, plus the error
// form that crosses the thread boundary: structured clone keeps no Error subclasses).
import type { ModelMetadata } from '../models/io.js';
import type { SegmenterRuntime } from '../infer/segmenter.js';
import type { SegmentAnswer, SegmentJob } from './segment.js';

/** workerData of a segmentation worker. */
export interface WorkerConfig {
  model?: string;
  backend: 'wasm' | 'cpu';
  /** As SegmenterOptions.runtime: undefined lets the segmenter pick (ONNX Runtime when it loads). */
  runtime?: SegmenterRuntime;
  maxPixels: number;
}

/** What the server needs to know about the model the workers run. */
export interface ModelDescription {
  metadata: ModelMetadata;
  modelDir: string;
  runtime?: SegmenterRuntime;
}

export interface JobMessage {
  id: number;
  job: SegmentJob;
}

/**
 * Sent by close(): the worker releases its model (ONNX Runtime's session) and lets its thread end on
 * its own, rather than being terminated with it. (pool.test's faults at exit, which this was first
 * thought to cure, came from a worker's libraries being unloaded under their own threads: see
 * holdWorkerLibraries in pool.ts.)
 */
export interface StopMessage {
  stop: true;
}

/** A failure as plain data: a status for errors the client caused (422, ...), null for server faults. */
export interface WorkerFailure {
  statusCode: number | null;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { type: 'ready'; model: ModelDescription }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; answer: SegmentAnswer }
  | { type: 'error'; id: number; failure: WorkerFailure };
