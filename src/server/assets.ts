// The files the server hands out: the built web page, TensorFlow.js's and ONNX Runtime Web's wasm
// binaries (and tfjs's thread scripts), and the model (tfjs files, and its ONNX export for ONNX Runtime Web).
// A fixed table read once at start-up; a request's path only ever selects a key, never a file.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { loadModel, MODEL_JSON } from '../models/io.js';
import { exportOnnx } from '../onnx/export.js';
import { initEngine } from '../engine/index.js';
import { threadedWasmGlue } from '../engine/tfjs-internals.js';
import { ONNX_MODEL_URL, ORT_URL_PREFIX, THREADED_MAIN_SCRIPT, THREADED_WORKER_SCRIPT } from './asset-urls.js';

export { ONNX_MODEL_URL, ORT_MODULE_URL, ORT_URL_PREFIX } from './asset-urls.js';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** Strong validator, so a reload costs a 304 instead of the bytes. */
  etag: string;
}

/** Where `npm run build` writes the page (dist/web beside dist/server). */
export const DEFAULT_WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'web');

/** URL prefix of the wasm binaries; the page passes it to setWasmPaths. */
export const WASM_URL_PREFIX = '/vendor/tfjs/';
/** URL of the served model.json; its weights sit beside it under the same prefix. */
export const MODEL_URL = '/model/model.json';

const WEB_FILES: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', contentType: 'text/css; charset=utf-8' },
};

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/**
 * onnxruntime-web's WebAssembly build: the module the page imports, the Emscripten loader it imports
 * (also the threads' worker script) and the SIMD + threads binary (one binary serves 1 or more threads).
 */
const ORT_FILES: Record<string, string> = {
  'ort.wasm.min.mjs': 'text/javascript; charset=utf-8',
  'ort-wasm-simd-threaded.mjs': 'text/javascript; charset=utf-8',
  'ort-wasm-simd-threaded.wasm': 'application/wasm',
};

function asset(body: Buffer, contentType: string): Asset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The folder holding tfjs-backend-wasm's .wasm files, found the way Node resolves the package. */
function wasmDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
}

/** onnxruntime-web's dist/ folder (its package.json exports the .wasm by name). */
function ortDir(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

export interface AssetTable {
  assets: Map<string, Asset>;
  /** True when the web page was built; without it the API still works. */
  hasWebPage: boolean;
}

/**
 * Reads every servable file into memory. The model's weight files come from its own manifest and
 * must be plain file names in the model folder (a manifest pointing elsewhere is refused).
 */
export async function loadAssets(modelDir: string, webDir = DEFAULT_WEB_DIR): Promise<AssetTable> {
  const assets = new Map<string, Asset>();
  let hasWebPage = true;
  for (const [url, { file, contentType }] of Object.entries(WEB_FILES)) {
    const body = await readFile(join(webDir, file)).catch(() => null);
    if (body === null) hasWebPage = false;
    else assets.set(url, asset(body, contentType));
  }
  if (hasWebPage) assets.set('/index.html', assets.get('/')!);
  else for (const url of Object.keys(WEB_FILES)) assets.delete(url);

  const wasm = wasmDir();
  for (const file of WASM_FILES) {
    assets.set(WASM_URL_PREFIX + file, asset(await readFile(join(wasm, file)), 'application/wasm'));
  }
  // The threaded build's scripts, so the page's thread workers need no blob: URLs (web/src/tfjs-threads.ts);
  // without them the page runs tfjs single-threaded.
  const glue = threadedWasmGlue();
  if (!(glue instanceof Error)) {
    const js = 'text/javascript; charset=utf-8';
    assets.set(WASM_URL_PREFIX + THREADED_WORKER_SCRIPT, asset(Buffer.from(glue.workerSource), js));
    assets.set(WASM_URL_PREFIX + THREADED_MAIN_SCRIPT, asset(await readFile(glue.mainScript), js));
  }

  const ort = ortDir();
  for (const [file, contentType] of Object.entries(ORT_FILES)) {
    assets.set(ORT_URL_PREFIX + file, asset(await readFile(join(ort, file)), contentType));
  }

  // The same export the Node segmenter runs on ONNX Runtime. The model itself runs in worker threads,
  // so this thread sets up tfjs (inference only: nothing of the host's tfjs changes; one thread: it
  // computes nothing) just to read it.
  await initEngine({ threads: 1 });
  const { model } = await loadModel(modelDir);
  try {
    assets.set(ONNX_MODEL_URL, asset(Buffer.from(exportOnnx(model, `leukoseg: ${model.name} from ${modelDir}`)), 'application/octet-stream'));
  } finally {
    model.dispose();
  }

  const modelJson = await readFile(join(modelDir, MODEL_JSON));
  assets.set(MODEL_URL, asset(modelJson, 'application/json; charset=utf-8'));
  const manifest = (JSON.parse(modelJson.toString('utf8')) as { weightsManifest?: Array<{ paths: string[] }> }).weightsManifest ?? [];
  for (const path of manifest.flatMap((group) => group.paths)) {
    if (basename(path) !== path || path.startsWith('.')) throw new Error(`${join(modelDir, MODEL_JSON)}: weight file '${path}' is not a plain file name in the model folder`);
    assets.set(`${dirname(MODEL_URL)}/${path}`, asset(await readFile(join(modelDir, path)), 'application/octet-stream'));
  }
  return { assets, hasWebPage };
}
