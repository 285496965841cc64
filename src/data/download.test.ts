// Tests for download.ts and unzip.ts without network: a small archive laid out like GitHub's
// segmentation_WBC-master.zip is built with yazl and served from memory by an injected fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import yazl from 'yazl';
import { DEFAULT_URL, downloadDataset, extractDatasetZip } from './download.js';
import { loadDataset } from './dataset.js';
import { resolveDataDir } from './locate.js';
import { encodeBmp24, encodePng, makeTempDir, rgbImage } from './fixtures.js';

const TOP = 'segmentation_WBC-master';

/** A zip of `files` (name -> content), names used verbatim. */
function zipOf(files: Record<string, Uint8Array | string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Two tiny BMP/PNG pairs plus the archive's other files, under segmentation_WBC-master/. */
async function datasetZip(extra: Record<string, string> = {}): Promise<Buffer> {
  const files: Record<string, Uint8Array | string> = { [`${TOP}/README.rst`]: 'readme', ...extra };
  for (const id of ['001', '002']) {
    files[`${TOP}/Dataset 1/${id}.bmp`] = encodeBmp24(rgbImage(4, 3, (x, y) => [x * 60, y * 80, 100]));
    files[`${TOP}/Dataset 1/${id}.png`] = await encodePng(4, 3, new Uint8Array(12).fill(128), 1);
  }
  return zipOf(files);
}

/** Renames an entry inside a finished zip (both headers) to a same-length name yazl would refuse. */
function patchName(zip: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  return Buffer.from(zip.toString('latin1').split(from).join(to), 'latin1');
}

async function writeTemp(content: Uint8Array): Promise<string> {
  const path = join(await makeTempDir(), 'archive.zip');
  await writeFile(path, content);
  return path;
}

function serve(body: Uint8Array, status = 200): { fetchImpl: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    calls.push(String(input));
    return new Response(new Uint8Array(body), { status, headers: { 'content-length': String(body.length) } });
  };
  return { fetchImpl, calls };
}

test('extractDatasetZip strips the top folder and gives a loadable data set', async () => {
  const cache = await makeTempDir();
  const target = join(cache, 'segmentation_WBC');
  assert.equal(await extractDatasetZip(await writeTemp(await datasetZip()), target), target);
  assert.deepEqual((await readdir(cache)).sort(), ['segmentation_WBC'], 'no temp folders left');
  assert.deepEqual((await readdir(target)).sort(), ['Dataset 1', 'README.rst']);
  const { samples, issues } = await loadDataset({ dir: resolveDataDir({ data: target, env: {} }), size: 8 });
  assert.deepEqual([samples.length, issues.length], [2, 0]);
  await assert.rejects(extractDatasetZip(await writeTemp(await datasetZip()), target), /already exists; remove it or extract with replace: true/);
});

test('zip-slip entries (.. or absolute) are refused and nothing is written', async () => {
  const cache = await makeTempDir();
  const target = join(cache, 'segmentation_WBC');
  const dotdot = patchName(await datasetZip({ [`${TOP}/xx/evil.txt`]: 'x' }), 'xx/evil.txt', '../evil.txt');
  await assert.rejects(extractDatasetZip(await writeTemp(dotdot), target), /unsafe path ".*\.\.\/evil\.txt" in archive \(absolute or with "\.\."\); refusing/);
  const absolute = patchName(await zipOf({ 'Xtmp/evil.txt': 'x' }), 'Xtmp/evil.txt', '/tmp/evil.txt');
  await assert.rejects(extractDatasetZip(await writeTemp(absolute), target), /unsafe path "\/tmp\/evil\.txt"/);
  assert.deepEqual(await readdir(cache), []);
});

test('corrupt zips and archives without Dataset 1 pairs give clear errors and leave nothing', async () => {
  const cache = await makeTempDir();
  const target = join(cache, 'segmentation_WBC');
  const good = await datasetZip();
  const notZip = await writeTemp(Buffer.from('<html>rate limited</html>'));
  await assert.rejects(extractDatasetZip(notZip, target), /archive\.zip: not a valid zip archive \(End of central directory record signature not found/);
  const cut = await writeTemp(good.subarray(0, good.length - 30));
  await assert.rejects(extractDatasetZip(cut, target), /archive\.zip: not a valid zip archive/);
  const other = await writeTemp(await zipOf({ [`${TOP}/Dataset 1/001.bmp`]: 'x', [`${TOP}/notes.txt`]: 'y' }));
  await assert.rejects(extractDatasetZip(other, target), /not the segmentation_WBC archive: no "Dataset 1\/" folder with NNN\.bmp \+ NNN\.png pairs/);
  assert.deepEqual(await readdir(cache), []);
});

test('downloadDataset fetches, reports progress, extracts, and then reuses the cache', async () => {
  const cache = await makeTempDir();
  const zip = await datasetZip();
  const { fetchImpl, calls } = serve(zip);
  const progress: number[] = [];
  const root = await downloadDataset({ cacheDir: cache, fetchImpl, onProgress: (p) => progress.push(p.receivedBytes) });
  assert.equal(root, join(cache, 'segmentation_WBC'));
  assert.deepEqual(calls, [DEFAULT_URL]);
  assert.equal(progress.at(-1), zip.length);
  assert.deepEqual(await readdir(cache), ['segmentation_WBC'], 'the downloaded zip is removed');
  assert.deepEqual((await readdir(join(root, 'Dataset 1'))).sort(), ['001.bmp', '001.png', '002.bmp', '002.png']);

  assert.equal(await downloadDataset({ cacheDir: cache, fetchImpl }), root);
  assert.equal(calls.length, 1, 'no second download');

  await writeFile(join(root, 'marker'), 'old copy');
  await downloadDataset({ cacheDir: cache, fetchImpl, force: true });
  assert.equal(calls.length, 2);
  assert.deepEqual((await readdir(root)).sort(), ['Dataset 1', 'README.rst'], 'force replaced the old copy');
  assert.deepEqual(await readdir(cache), ['segmentation_WBC']);
});

test('download failures say what happened and leave the cache empty', async () => {
  const cache = await makeTempDir();
  await assert.rejects(downloadDataset({ cacheDir: cache, fetchImpl: serve(Buffer.from('nope'), 404).fetchImpl }), /Download of .* failed: HTTP 404/);
  await assert.rejects(
    downloadDataset({ cacheDir: cache, fetchImpl: serve(Buffer.from('<html>not a zip</html>')).fetchImpl }),
    /Downloaded .*master\.zip, but the file is unusable: not a valid zip archive .* Nothing was saved\./,
  );
  const offline: typeof fetch = async () => {
    throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND github.com') });
  };
  await assert.rejects(
    downloadDataset({ cacheDir: cache, fetchImpl: offline }),
    /Could not download .*: fetch failed \(getaddrinfo ENOTFOUND github\.com\)\. .*--data DIR/,
  );
  assert.deepEqual(await readdir(cache), []);
});

test('an existing data folder is returned as it is, without downloading', async () => {
  const cache = await makeTempDir();
  const target = join(cache, 'segmentation_WBC');
  await mkdir(join(target, 'Dataset 1'), { recursive: true });
  await writeFile(join(target, 'Dataset 1', 'keep.txt'), 'theirs');
  assert.equal(await downloadDataset({ cacheDir: cache, fetchImpl: serve(Buffer.alloc(0), 500).fetchImpl }), target);
  assert.equal(await readFile(join(target, 'Dataset 1', 'keep.txt'), 'utf8'), 'theirs');
});
