// The HTTP API against the bundled model: results equal the library's, every limit answers with its
// own status as JSON (413, 415, 422, 400, 408, 503), bad requests leave others alone, and only the
// fixed asset table is ever served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { CELL_STATS_COLUMNS, cellStatsRow } from '../infer/morphometrics.js';
import { imageRow, RESULT_COLUMNS, segmentRows, type SegmentRow } from '../output/results.js';
import { decodeGray16Png } from '../output/png-gray16.js';
import { encodePng } from '../output/png.js';
import { buildMosaic, readCrop } from '../testing/field-mosaic.js';
import { sharedDataset1 } from '../testing/paths.js';
import type { Segmenter } from '../infer/segmenter.js';
import { decodeImage } from '../data/decode.js';
import { buildServer } from './app.js';
import { WorkerPool, type ModelDescription } from './pool.js';
import type { ErrorBody, HealthResponse, ModelInfo, SegmentResponse } from './api-types.js';
import { datasetImage, loadBundledSegmenter, testImageIds } from './fixtures.js';

const BODY_LIMIT = 1024 * 1024;
const MAX_PIXELS = 250_000;

let segmenter: Segmenter;
let pool: WorkerPool;
let model: ModelDescription;
let app: FastifyInstance;
let bmp: Buffer;
let imageName: string;

before(async () => {
  // The library in this thread, to compare against; the server's two workers load their own copies.
  segmenter = await loadBundledSegmenter();
  ({ pool, model } = await WorkerPool.start({ maxPixels: MAX_PIXELS, workers: 2 }));
  app = await buildServer({ pool, model, bodyLimit: BODY_LIMIT, logError: () => {} });
  const [id] = testImageIds(model, 1);
  imageName = `${id}.bmp`;
  bmp = await readFile(datasetImage(id!));
});

after(async () => {
  await app?.close();
  await pool?.close();
  segmenter?.dispose();
});

function postRaw(body: Buffer | string, contentType: string, query = ''): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/api/segment${query}`, headers: { 'content-type': contentType }, payload: body });
}

function postForm(bytes: Buffer | string, type: string, fileName = imageName): Promise<LightMyRequestResponse> {
  const form = new FormData();
  form.append('image', new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], { type }), fileName);
  return app.inject({ method: 'POST', url: '/api/segment', payload: form });
}

function pick(row: SegmentRow, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, row[k as keyof SegmentRow]]));
}

function assertError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, pattern: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as ErrorBody;
  assert.equal(body.statusCode, status);
  assert.match(body.error, pattern);
}

test('health and model describe the server and the bundled model', async () => {
  const health = (await app.inject({ url: '/api/health' })).json<HealthResponse>();
  assert.equal(health.status, 'ok');
  assert.deepEqual(health.limits, { bodyBytes: BODY_LIMIT, maxPixels: MAX_PIXELS, timeoutMs: 30_000 });
  assert.deepEqual(health.queue, { running: 0, waiting: 0, workers: 2 });
  const model = (await app.inject({ url: '/api/model' })).json<ModelInfo>();
  assert.deepEqual(model.classNames, ['background', 'cytoplasm', 'nucleus']);
  assert.equal(model.inputSize, segmenter.metadata.preprocessing.inputSize);
  assert.equal(model.architecture, segmenter.metadata.architecture);
  assert.equal(model.modelUrl, '/model/model.json');
  assert.ok(model.metrics === null || !('confusion' in model.metrics));
});

test('a raw BMP body gives the results.json row of the library, its one cell, and mask, overlay and cell-label PNGs', async () => {
  const res = await postRaw(bmp, 'image/bmp', `?name=${imageName}&umPerPx=0.5`);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<SegmentResponse>();
  assert.deepEqual(Object.keys(body), [...RESULT_COLUMNS, 'cells', 'maskPng', 'overlayPng', 'cellsPng']);
  const direct = await segmenter.segment(bmp, { umPerPx: 0.5 });
  const { cells, maskPng: _m, overlayPng: _o, cellsPng: _c, ...row } = body;
  const name = imageName.replace('.bmp', '');
  assert.deepEqual({ ...row, inferenceMs: 0 }, { ...imageRow(imageName, name, direct), inferenceMs: 0 });
  assert.deepEqual(pick(row, ['file', 'width', 'height', ...CELL_STATS_COLUMNS]), { file: imageName, width: direct.width, height: direct.height, ...cellStatsRow(direct.stats) });
  assert.deepEqual([row.mode, row.cellIndex, cells.length], ['crop', 1, 1]);
  assert.deepEqual(cells.map((c) => ({ ...c, inferenceMs: 0 })), segmentRows(imageName, name, direct).map((c) => ({ ...c, inferenceMs: 0 })));
  const maskPng = Buffer.from(body.maskPng, 'base64');
  const maskMeta = await sharp(maskPng).metadata();
  assert.deepEqual([maskMeta.width, maskMeta.height, maskMeta.channels], [direct.width, direct.height, 1]);
  const mask = await sharp(maskPng).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  for (let p = 0; p < mask.data.length; p++) assert.equal(mask.data[p], [0, 128, 255][direct.mask.data[p]!]);
  const overlay = await sharp(Buffer.from(body.overlayPng, 'base64')).metadata();
  assert.deepEqual([overlay.width, overlay.height, overlay.channels], [direct.width, direct.height, 3]);
});

test('multipart and ?format=png give the same result', async () => {
  const raw = (await postRaw(bmp, 'application/octet-stream')).json<SegmentResponse>();
  const form = await postForm(bmp, 'image/bmp');
  assert.equal(form.statusCode, 200, form.body);
  const formBody = form.json<SegmentResponse>();
  assert.equal(formBody.file, imageName);
  assert.equal(formBody.maskPng, raw.maskPng);
  assert.equal(formBody.cellAreaPx, raw.cellAreaPx);
  const png = await postRaw(bmp, 'image/bmp', '?format=png');
  assert.equal(png.headers['content-type'], 'image/png');
  assert.deepEqual(png.rawPayload, Buffer.from(raw.maskPng, 'base64'));
  const overlay = await postRaw(bmp, 'image/bmp', '?format=png&image=overlay');
  assert.deepEqual(overlay.rawPayload, Buffer.from(raw.overlayPng, 'base64'));
});

test('a field comes back with one row per cell and its cell labels; mode and cellDiameter are asked in the query', async () => {
  const ids = testImageIds(model, 9);
  const crops = await Promise.all(ids.map((id) => readCrop(sharedDataset1(), id)));
  const field = buildMosaic(crops, { width: 560, height: 440, columns: 3, rows: 3, seed: 4 }); // under the 250,000-pixel limit
  const png = await encodePng(field.image);
  const res = await postRaw(png, 'image/png', '?name=field.png');
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<SegmentResponse>();
  assert.equal(body.mode, 'field');
  assert.deepEqual(body.cells.map((c) => c.cellIndex), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(body.cells.every((c) => c.file === 'field.png' && c.mode === 'field' && typeof c.cellAreaPx === 'number' && c.cellAreaPx > 2000));
  assert.match(String(body.warnings), /multiple-cells/);
  const labels = decodeGray16Png(new Uint8Array(Buffer.from(body.cellsPng, 'base64')));
  assert.deepEqual([labels.width, labels.height, labels.data.reduce((a, b) => Math.max(a, b), 0)], [560, 440, 9]);
  const cellsPng = await postRaw(png, 'image/png', '?format=png&image=cells');
  assert.deepEqual(cellsPng.rawPayload, Buffer.from(body.cellsPng, 'base64'));
  const asCrop = (await postRaw(png, 'image/png', '?mode=crop')).json<SegmentResponse>();
  assert.equal(asCrop.mode, 'crop');
  assert.ok(asCrop.cells.length <= 1);
  const given = (await postRaw(png, 'image/png', '?cellDiameter=75')).json<SegmentResponse>();
  assert.deepEqual([given.fieldCellDiameterPx, given.cells.length], [75, 9]);
  assertError(await postRaw(png, 'image/png', '?mode=tiles'), 400, /query parameter mode=tiles: must be auto, crop or field/);
  assertError(await postRaw(png, 'image/png', '?cellDiameter=0'), 400, /cellDiameter=0: must be a number above 0/);
});

test('413: bodies over the limit, raw or multipart', async () => {
  const big = Buffer.alloc(BODY_LIMIT + 1, 7);
  assertError(await postRaw(big, 'image/bmp'), 413, /larger than the 1 MB limit/);
  assertError(await postForm(big, 'image/bmp'), 413, /larger than the 1 MB limit/);
});

test('415: anything but an image or a multipart form', async () => {
  assertError(await postRaw('hello', 'text/plain'), 415, /unsupported file type 'text\/plain'/);
  assertError(await postRaw('{"path":"/etc/passwd"}', 'application/json'), 415, /unsupported file type 'application\/json'/);
  assertError(await postForm('hello', 'text/plain', 'notes.txt'), 415, /unsupported file type 'text\/plain'/);
});

test('422: undecodable, truncated and too-large images', async () => {
  assertError(await postRaw('definitely not pixels', 'image/png'), 422, /not an image/);
  const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#a0a' } }).png().toBuffer();
  assertError(await postRaw(png.subarray(0, 60), 'image/png', '?name=cut.png'), 422, /^cut\.png: truncated or corrupt/);
  assertError(await postRaw(bmp.subarray(0, 100), 'image/bmp'), 422, /upload: /);
  // 600 x 600 = 360,000 pixels > 250,000, yet a tiny upload: the pixel limit is not the byte limit.
  const huge = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#fff' } }).png().toBuffer();
  assert.ok(huge.length < BODY_LIMIT);
  assertError(await postRaw(huge, 'image/png'), 422, /600x600 = 360000 pixels, more than the limit of 250000/);
  assertError(await postRaw(Buffer.alloc(0), 'image/bmp'), 422, /empty/);
});

test('400: bad query or a form without a file; 404: unknown routes', async () => {
  assertError(await postRaw(bmp, 'image/bmp', '?format=gif'), 400, /format/);
  assertError(await postRaw(bmp, 'image/bmp', '?umPerPx=-1'), 400, /umPerPx/);
  const form = new FormData();
  form.append('note', 'no file here');
  assertError(await app.inject({ method: 'POST', url: '/api/segment', payload: form }), 400, /no file/);
  assertError(await app.inject({ url: '/api/segments' }), 404, /no such resource/);
});

/** A multipart body by hand, for what FormData cannot send: parts without a content type, broken endings. */
function rawForm(parts: Array<{ name: string; fileName?: string; type?: string; body: Buffer | string }>, end = '--XX--\r\n'): Buffer {
  const chunks = parts.flatMap(({ name, fileName, type, body }) => [
    Buffer.from(`--XX\r\nContent-Disposition: form-data; name="${name}"${fileName ? `; filename="${fileName}"` : ''}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`),
    Buffer.isBuffer(body) ? body : Buffer.from(body),
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...chunks, Buffer.from(end)]);
}

function postRawForm(payload: Buffer | string, contentType = 'multipart/form-data; boundary=XX'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/segment', headers: { 'content-type': contentType }, payload });
}

/** A PNG whose one compressed row stands for all: enough for a decoder to read the size, 138 bytes for 20000 x 20000. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1 + 3 * width))), chunk('IEND', Buffer.alloc(0))]);
}

test('400 in plain words: non-finite or unknown query parameters, malformed forms, too many fields', async () => {
  for (const value of ['1e309', 'Infinity', '-Infinity', 'NaN', 'abc', '']) {
    assertError(await postRaw(bmp, 'image/bmp', `?umPerPx=${value}`), 400, /^query parameter umPerPx=.*: must be a number above 0 and at most 1000/);
  }
  assertError(await postRaw(bmp, 'image/bmp', '?umPerPx=0.1&umperpx=0.2'), 400, /^unknown query parameter 'umperpx' \(allowed: format, image, umPerPx, name, mode, cellDiameter\)/);
  assertError(await postRaw(bmp, 'image/bmp', '?name=a&name=b'), 400, /^query parameter name=a,b: given more than once/);
  assertError(await postRawForm('--XX\r\n', 'multipart/form-data'), 400, /^malformed multipart\/form-data body \(.*[Bb]oundary/);
  const unfinished = rawForm([{ name: 'image', fileName: imageName, type: 'image/bmp', body: bmp }], '');
  assertError(await postRawForm(unfinished.subarray(0, unfinished.length - 2)), 400, /^malformed multipart\/form-data body/);
  const fields = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
  assertError(await postRawForm(rawForm(fields)), 400, /^the form has more than 10 fields: send one file field/);
});

test('a file part without a content type (Python requests files=) or a raw body of any type is judged by its bytes', async () => {
  const expected = (await postRaw(bmp, 'image/bmp')).json<SegmentResponse>();
  const res = await postRawForm(rawForm([{ name: 'image', fileName: imageName, body: bmp }]));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json<SegmentResponse>().maskPng, expected.maskPng);
  const declaredWrong = await postForm(bmp, 'text/plain');
  assert.equal(declaredWrong.statusCode, 200, declaredWrong.body);
  // curl --data-binary without -H sends application/x-www-form-urlencoded.
  const curlDefault = await postRaw(bmp, 'application/x-www-form-urlencoded');
  assert.equal(curlDefault.json<SegmentResponse>().maskPng, expected.maskPng);
  assertError(await postRawForm(rawForm([{ name: 'image', fileName: 'notes.txt', body: 'hello' }])), 415, /unsupported file type 'text\/plain': the bytes are not an image/);
  assertError(await postRaw('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', 'image/png'), 422, /not an image \(the bytes are not BMP, PNG, JPEG, TIFF or WebP\)/);
});

test('422 names the pixel limit even past the decoder\'s own limit', async () => {
  // 20000 x 20000 is over sharp's default limit (268 megapixels) too, which used to read "truncated or corrupt".
  assertError(await postRaw(pngHeader(20_000, 20_000), 'image/png', '?name=huge.png'), 422, /^huge\.png: image is 20000x20000 = 400000000 pixels, more than the limit of 250000/);
});

test('bad requests in flight leave good ones alone', async () => {
  const expected = (await postRaw(bmp, 'image/bmp')).json<SegmentResponse>();
  const requests = Array.from({ length: 12 }, (_, i) =>
    i % 3 === 0 ? postRaw(bmp, 'image/bmp') : i % 3 === 1 ? postRaw('garbage', 'image/bmp') : postRaw(Buffer.alloc(BODY_LIMIT + 10), 'image/bmp'),
  );
  const responses = await Promise.all(requests);
  responses.forEach((res, i) => {
    assert.equal(res.statusCode, [200, 422, 413][i % 3], res.body);
    if (i % 3 === 0) assert.equal(res.json<SegmentResponse>().maskPng, expected.maskPng);
  });
});

test('503 when the model takes longer than the timeout; later requests are served', async () => {
  // A 2800 x 2800 upscaled cell, as a crop, keeps the one worker busy (several seconds) well past the 1 s limit.
  const cell = await decodeImage(bmp, imageName);
  const large = await sharp(Buffer.from(cell.data), { raw: { width: cell.width, height: cell.height, channels: 3 } }).resize(2800, 2800).png().toBuffer();
  // A pixel budget of 1 makes the small image wait for the large one although a worker takes two at once.
  const one = await WorkerPool.start({ maxPixels: 8_000_000, workers: 1, maxRunningPixels: 1 });
  const slowApp = await buildServer({ ...one, timeoutMs: 1000, logError: () => {} });
  try {
    const post = (body: Buffer) => slowApp.inject({ method: 'POST', url: '/api/segment?format=png&mode=crop', headers: { 'content-type': 'application/octet-stream' }, payload: body });
    const firstPending = post(large);
    for (let i = 0; i < 100 && one.pool.running === 0; i++) await sleep(10); // the large one has the worker
    const [first, second] = await Promise.all([firstPending, post(bmp)]);
    assertError(first, 503, /longer than 1 s/);
    assertError(second, 503, /longer than 1 s/);
    assert.equal(first.headers['retry-after'], '5');
    // Both jobs run to their end in the worker (the answer was a 503, the work goes on); on a loaded
    // machine the 2800 px crop alone takes well over 10 s, so wait up to a minute: this is no timing test.
    for (let i = 0; i < 1200 && one.pool.running + one.pool.waiting > 0; i++) await sleep(50);
    assert.equal(one.pool.running + one.pool.waiting, 0, 'the worker is still busy after a minute');
    assert.equal((await post(bmp)).statusCode, 200);
  } finally {
    await slowApp.close();
    await one.pool.close();
  }
});

test('408 for a client that does not finish sending its request', async () => {
  const slowClientApp = await buildServer({ pool, model, receiveTimeoutMs: 500, logError: () => {} });
  try {
    await slowClientApp.listen({ host: '127.0.0.1', port: 0 });
    const { port } = slowClientApp.server.address() as { port: number };
    const started = performance.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /api/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/bmp\r\nContent-Length: ${bmp.length}\r\n\r\n`);
        socket.write(bmp.subarray(0, 100)); // ... and never the rest
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('utf8')));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => reject(new Error('the server never timed the client out')), 5000).unref();
    });
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.match(reply, /"error":"Request Timeout"/);
    assert.ok(performance.now() - started < 4000);
  } finally {
    await slowClientApp.close();
  }
});

test('only the fixed table of files is served; request paths never reach the file system', async () => {
  const wasm = await app.inject({ url: '/vendor/tfjs/tfjs-backend-wasm-simd.wasm' });
  assert.equal(wasm.statusCode, 200);
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  const model = await app.inject({ url: '/model/model.json' });
  assert.equal(model.statusCode, 200);
  assert.equal(model.json<{ weightsManifest: unknown[] }>().weightsManifest.length > 0, true);
  const again = await app.inject({ url: '/model/model.json', headers: { 'if-none-match': String(model.headers.etag) } });
  assert.equal(again.statusCode, 304);
  for (const url of ['/../package.json', '/model/../../package.json', '/vendor/tfjs/..%2f..%2fpackage.json', '/model/%2e%2e/%2e%2e/package.json', '/etc/passwd', '/dist/server/app.js']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, `${url} -> ${res.statusCode}`);
  }
});
