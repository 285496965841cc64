// Downloads the public segmentation_WBC archive into the cache once, checks it and unpacks it
// atomically, so `leukoseg train` finds the data without any manual step.
//
//   const root = await downloadDataset({ onProgress: (p) => bar.update(p.receivedBytes) });
//   // root = ~/.cache/leukoseg/segmentation_WBC, containing "Dataset 1/"
import { pathExists } from '../io/exists.js';
import { open, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataFileError, messageOf } from './errors.js';
import { DATASET_FOLDER, defaultCacheDir } from './locate.js';
import { extractDatasetZip } from './unzip.js';

export { extractDatasetZip, type ExtractOptions } from './unzip.js';

/** GitHub's zip of the master branch of zxaoyou/segmentation_WBC (Zheng et al. 2018, GPL-3.0). */
export const DEFAULT_URL = 'https://github.com/zxaoyou/segmentation_WBC/archive/refs/heads/master.zip';

export interface DownloadProgress {
  receivedBytes: number;
  /** From Content-Length; GitHub's archive endpoint often omits it. */
  totalBytes?: number;
}

export interface DownloadOptions {
  /** Default defaultCacheDir(): $LEUKOSEG_CACHE or ~/.cache/leukoseg. */
  cacheDir?: string;
  url?: string;
  /** Injected in tests; default the global fetch. */
  fetchImpl?: typeof fetch;
  onProgress?: (progress: DownloadProgress) => void;
  /** Download again even if the data is already in the cache. */
  force?: boolean;
}

/** Makes sure `<cacheDir>/segmentation_WBC` exists (downloading it if needed) and returns its path. */
export async function downloadDataset(options: DownloadOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const url = options.url ?? DEFAULT_URL;
  const target = join(cacheDir, DATASET_FOLDER);
  if (!options.force && (await pathExists(target))) return target;

  await mkdir(cacheDir, { recursive: true });
  const zipPath = join(cacheDir, `.${DATASET_FOLDER}.${process.pid}.${randomBytes(4).toString('hex')}.zip.part`);
  try {
    await fetchToFile(url, zipPath, options.fetchImpl ?? fetch, options.onProgress);
    try {
      return await extractDatasetZip(zipPath, target, { replace: options.force ?? false });
    } catch (err) {
      if (!(err instanceof DataFileError)) throw err;
      throw new Error(`Downloaded ${url}, but the file is unusable: ${err.problem}. Nothing was saved.`, { cause: err });
    }
  } finally {
    await rm(zipPath, { force: true });
  }
}

async function fetchToFile(
  url: string,
  path: string,
  fetchImpl: typeof fetch,
  onProgress: ((progress: DownloadProgress) => void) | undefined,
): Promise<void> {
  const manual = `download ${url} by hand, unzip it and pass --data DIR (or set LEUKOSEG_DATA)`;
  let response: Response;
  try {
    response = await fetchImpl(url, { redirect: 'follow' });
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? ` (${messageOf(err.cause)})` : '';
    throw new Error(`Could not download ${url}: ${messageOf(err)}${cause}. Check the network or proxy, or ${manual}.`, {
      cause: err,
    });
  }
  if (!response.ok || response.body === null) {
    throw new Error(`Download of ${url} failed: HTTP ${response.status} ${response.statusText}. Try again later, or ${manual}.`);
  }
  // With Content-Encoding, fetch decompresses and Content-Length no longer counts the bytes we get.
  const length = response.headers.has('content-encoding') ? NaN : Number(response.headers.get('content-length'));
  const totalBytes = Number.isFinite(length) && length > 0 ? length : undefined;
  const file = await open(path, 'w');
  let receivedBytes = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await file.write(value);
      receivedBytes += value.length;
      onProgress?.({ receivedBytes, totalBytes });
    }
  } catch (err) {
    throw new Error(`Download of ${url} broke off after ${receivedBytes} bytes: ${messageOf(err)}. Try again, or ${manual}.`, {
      cause: err,
    });
  } finally {
    await file.close();
  }
  if (totalBytes !== undefined && receivedBytes !== totalBytes) {
    throw new Error(`Download of ${url} is incomplete: got ${receivedBytes} of ${totalBytes} bytes. Try again, or ${manual}.`);
  }
}
