// The JSON shapes of the HTTP API, as types only, so the web page (bundled for the browser) and
// the server (Node) agree on them without the page importing any server code.
import type { InferenceMetadata, Preprocessing } from '../models/io.js';
import type { SegmentRow } from '../output/results.js';

/** GET /api/model: what the page needs to run the same model itself, and what people want to know about it. */
export interface ModelInfo {
  name: string;
  architecture: string;
  preset: string | null;
  epoch: number | null;
  classNames: string[];
  maskLevels: number[];
  inputSize: number;
  preprocessing: Preprocessing;
  /** How the model is run: flip test-time augmentation, calibrated class weights (the server and the page both follow it). */
  inference: InferenceMetadata;
  /** Test-split metrics recorded at training (per-class Dice/IoU ...), without the confusion matrix. */
  metrics: Record<string, unknown> | null;
  /** Where the browser loads the model (model.json; weights beside it). */
  modelUrl: string;
  /** Where the browser loads TensorFlow.js's .wasm files from. */
  wasmUrlPrefix: string;
}

/** GET /api/health. */
export interface HealthResponse {
  status: 'ok';
  model: string;
  /** Images being segmented and waiting for a worker, and the number of workers. */
  queue: { running: number; waiting: number; workers: number };
  limits: { bodyBytes: number; maxPixels: number; timeoutMs: number };
  uptimeSeconds: number;
}

/**
 * POST /api/segment (JSON): the image's own row (crop: its one cell, as results.json has it; field:
 * its main cell, with multiple-cells), `cells` with one results.json row per white cell (empty when
 * there is none), and the pictures as base64-encoded PNG: the 0/128/255 mask, the overlay (a field's
 * cells outlined and numbered) and the 16-bit cell labels (0 none, k = the row with cellIndex k).
 */
export interface SegmentResponse extends SegmentRow {
  cells: SegmentRow[];
  maskPng: string;
  overlayPng: string;
  cellsPng: string;
}

/** Every error response. */
export interface ErrorBody {
  error: string;
  statusCode: number;
}
