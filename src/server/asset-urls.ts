// Where `leukoseg serve` puts ONNX Runtime Web, the model's ONNX export and tfjs's thread scripts, shared by
// the server (which serves them, assets.ts) and the page (which loads them). Pure constants: the page bundles this file.

/** URL prefix of onnxruntime-web's module, its wasm loader and its .wasm (ort.env.wasm.wasmPaths). */
export const ORT_URL_PREFIX = '/vendor/ort/';
/** The onnxruntime-web build the page imports at run time: WebAssembly only (SIMD, threads when isolated). */
export const ORT_MODULE_URL = `${ORT_URL_PREFIX}ort.wasm.min.mjs`;
/** The model as ONNX, exported by the server from the same model.json the page's tfjs fallback loads. */
export const ONNX_MODEL_URL = '/model/model.onnx';

/**
 * tfjs-backend-wasm's threaded build as the page's pthread workers load it (beside the .wasm files, under
 * the page's wasmUrlPrefix): the worker script, and the module script each worker imports.
 */
export const THREADED_WORKER_SCRIPT = 'tfjs-backend-wasm-threaded-simd.worker.js';
export const THREADED_MAIN_SCRIPT = 'tfjs-backend-wasm-threaded-simd.js';
