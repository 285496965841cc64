// The HTTP server behind `leukoseg serve`: the web page and its assets, and the JSON API
// (/api/health, /api/model, /api/segment) around one loaded segmenter shared by all requests.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { basename } from 'node:path';
import type { HealthResponse, ModelInfo } from './api-types.js';
import { loadAssets, MODEL_URL, WASM_URL_PREFIX, type Asset } from './assets.js';
import { ApiError, toErrorResponse } from './errors.js';
import { withTimeout } from './queue.js';
import type { ModelDescription, WorkerPool } from './pool.js';
import { headerPixels } from './image-size.js';
import { parseSegmentQuery } from './query.js';
import { checkImageBytes, FORM_LIMITS, IMAGE_CONTENT_TYPES, readUpload } from './upload.js';

export interface ServerOptions {
  /** The segmentation workers (WorkerPool.start); closing the server does not stop them. */
  pool: WorkerPool;
  /** The model they run, as WorkerPool.start reports it. */
  model: ModelDescription;
  /** Largest accepted upload in bytes (default 20 MB); larger ones get 413. */
  bodyLimit?: number;
  /** Time for one request from arrival to answer, waiting for the model included (default 30 s); then 503. */
  timeoutMs?: number;
  /** Time for a client to send its whole request (default 60 s); then 408 and the connection closes. */
  receiveTimeoutMs?: number;
  /** The built page (default dist/web). */
  webDir?: string;
  /** Where server errors are reported (default console.error). */
  logError?: (message: string) => void;
}

export const DEFAULT_BODY_LIMIT = 20 * 1024 * 1024;
export const DEFAULT_SERVER_MAX_PIXELS = 8_000_000;

export function modelInfo(model: ModelDescription): ModelInfo {
  const m = model.metadata;
  let metrics: Record<string, unknown> | null = null;
  if (typeof m.metrics === 'object' && m.metrics !== null) {
    const { confusion: _confusion, pixels: _pixels, ...rest } = m.metrics as Record<string, unknown>;
    metrics = rest;
  }
  return {
    name: m.preset ?? `${m.architecture} (${basename(model.modelDir)})`,
    architecture: m.architecture,
    preset: m.preset ?? null,
    epoch: m.epoch ?? null,
    classNames: m.classNames,
    maskLevels: m.maskLevels,
    inputSize: m.preprocessing.inputSize,
    preprocessing: m.preprocessing,
    inference: { tta: m.inference?.tta ?? false, ...(m.inference?.classWeights ? { classWeights: m.inference.classWeights } : {}) },
    metrics,
    modelUrl: MODEL_URL,
    wasmUrlPrefix: WASM_URL_PREFIX,
  };
}

/**
 * The page may load scripts, styles and data only from this server (no CDN could be used even by
 * mistake); 'wasm-unsafe-eval' lets TensorFlow.js compile its WebAssembly.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function friendlyMessage(err: unknown, bodyLimit: number): unknown {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const mb = (bodyLimit / 1024 / 1024).toFixed(bodyLimit % (1024 * 1024) === 0 ? 0 : 1);
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ApiError(413, `the upload is larger than the ${mb} MB limit`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, `unsupported content type: send the image as the raw body (${IMAGE_CONTENT_TYPES.join(', ')}) or as multipart/form-data`);
    default:
      return err;
  }
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('etag', asset.etag).header('cache-control', 'no-cache').type(asset.contentType);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.send(asset.body);
}

/** Builds (does not start) the server; `app.listen` or `app.inject` it. Closing it does not stop the pool. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const receiveTimeoutMs = options.receiveTimeoutMs ?? 60_000;
  const logError = options.logError ?? ((message: string) => console.error(message));
  const { pool } = options;
  const { assets, hasWebPage } = await loadAssets(options.model.modelDir, options.webDir);
  const info = modelInfo(options.model);
  const startedAt = Date.now();

  const app = Fastify({
    logger: false,
    bodyLimit,
    requestTimeout: receiveTimeoutMs,
    // Node checks receive timeouts only this often (default 30 s), so a slow sender is cut off
    // promptly; and it enforces requestTimeout only if headersTimeout is not longer (checked on Node 20).
    http: { connectionsCheckingInterval: 1000, requestTimeout: receiveTimeoutMs, headersTimeout: Math.min(receiveTimeoutMs, 20_000) },
    keepAliveTimeout: 5000,
    return503OnClosing: true,
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cross-origin-resource-policy', 'same-origin');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-frame-options', 'DENY');
      // Cross-origin isolation (everything the page loads is same-origin): SharedArrayBuffer, so ONNX Runtime Web can use threads.
      reply.header('cross-origin-opener-policy', 'same-origin').header('cross-origin-embedder-policy', 'require-corp');
    } else if (type.startsWith('text/javascript')) {
      reply.header('cross-origin-embedder-policy', 'require-corp'); // a thread worker's script must be isolated like its page
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const { statusCode, body, headers } = toErrorResponse(friendlyMessage(err, bodyLimit));
    if (statusCode >= 500 && statusCode !== 503) logError(`leukoseg serve: ${request.method} ${request.url}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return reply.code(statusCode).headers(headers).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const hint = !hasWebPage && (request.url === '/' || request.url === '/index.html') ? ' (the web page is not built: run npm run build)' : '';
    return reply.code(404).send({ error: `no such resource: ${request.method} ${request.url.split('?')[0]}${hint}`, statusCode: 404 });
  });

  // Each servable file is its own route: the route table is the whitelist.
  for (const [url, asset] of assets) app.get(url, (request, reply) => sendAsset(request, reply, asset));

  app.get('/api/health', async (): Promise<HealthResponse> => ({
    status: 'ok',
    model: info.name,
    queue: { running: pool.running, waiting: pool.waiting, workers: pool.size },
    limits: { bodyBytes: bodyLimit, maxPixels: pool.maxPixels, timeoutMs },
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
  }));

  app.get('/api/model', async (): Promise<ModelInfo> => info);

  // Its own scope: a body is a multipart form or plain bytes, never parsed as JSON or text. Bytes of
  // any declared type are read: they decide whether they are an image (checkImageBytes), so
  // `curl --data-binary @cell.bmp` (sent as application/x-www-form-urlencoded) works.
  await app.register(async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
    await api.register(multipart, { limits: { fileSize: bodyLimit, ...FORM_LIMITS } });

    api.post('/api/segment', async (request, reply) => {
      const query = parseSegmentQuery(request.query);
      const answer = query.format === 'png' ? query.image ?? 'mask' : 'json';
      // Not fastify's handlerTimeout/request.signal: that signal fires as soon as a POST body has
      // been read (fastify/fastify#6725), so it cannot tell a finished upload from a client that left.
      let clientGone = false;
      reply.raw.once('close', () => (clientGone = true));
      const out = await withTimeout(timeoutMs, () => clientGone, async (cancelled) => {
        const upload = await readUpload(request, query.name);
        const format = checkImageBytes(upload); // cheap refusals (empty, not an image) before any wait
        const pixels = await headerPixels(upload.bytes, format);
        return pool.segment({ bytes: upload.bytes, fileName: upload.fileName, umPerPx: query.umPerPx, mode: query.mode, cellDiameter: query.cellDiameter, answer }, cancelled, pixels);
      });
      // The worker built the whole body; this thread only sends it.
      const body = Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength);
      return reply.type(out.contentType).send(body);
    });
  });

  return app;
}
