// Safely unpacks the segmentation_WBC archive: checks every entry name and the expected layout before
// writing anything, extracts into a temp folder beside the target and renames it into place.
//
//   await extractDatasetZip('/tmp/master.zip', `${cache}/segmentation_WBC`); // strips "segmentation_WBC-master/"
import { pathExists } from '../io/exists.js';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { DataFileError, messageOf } from './errors.js';

/** Refuse archives that would unpack to more than this (the real one is well under 100 MB). */
export const MAX_EXTRACTED_BYTES = 2 * 1024 ** 3;
/** The folder inside the archive whose pairs we check for. */
export const REQUIRED_DATASET = 'Dataset 1';

export interface ExtractOptions {
  /** Replace `destDir` if it exists (default false: an existing destDir is an error). */
  replace?: boolean;
}

interface PlannedEntry {
  entry: yauzl.Entry;
  /** Path inside destDir, "/"-separated, top folder stripped; ends with "/" for folders. */
  relPath: string;
}

/** Extracts the dataset archive at `zipPath` to `destDir` (atomically) and returns destDir. */
export async function extractDatasetZip(zipPath: string, destDir: string, options: ExtractOptions = {}): Promise<string> {
  const target = resolve(destDir);
  if (!options.replace && (await pathExists(target))) {
    throw new Error(`${target} already exists; remove it or extract with replace: true`);
  }
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false });
  } catch (err) {
    throw new DataFileError(zipPath, `not a valid zip archive (${messageOf(err)})`, { cause: err });
  }
  try {
    const plan = planExtraction(zipPath, await readEntries(zip, zipPath));
    const parent = dirname(target);
    await mkdir(parent, { recursive: true });
    const tmpDir = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
    try {
      await writeEntries(zip, zipPath, plan, tmpDir);
      await moveIntoPlace(tmpDir, target, options.replace ?? false);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
    return target;
  } finally {
    zip.close();
  }
}

/** Validates names, size and layout; strips the single top folder GitHub archives have. */
function planExtraction(zipPath: string, entries: yauzl.Entry[]): PlannedEntry[] {
  const names = entries.map((e) => e.fileName);
  const top = names[0]?.split('/')[0];
  const stripTop = top !== undefined && names.every((n) => n.startsWith(`${top}/`));
  const plan: PlannedEntry[] = [];
  let totalBytes = 0;
  for (const entry of entries) {
    const relPath = stripTop ? entry.fileName.slice(top.length + 1) : entry.fileName;
    if (relPath === '') continue;
    const parts = relPath.split('/').filter((p) => p !== '');
    // yauzl already rejects "..", absolute and backslash names; checked again here because a
    // mistake would write outside the cache.
    if (parts.some((p) => p === '..' || p === '.') || relPath.startsWith('/') || /^[a-zA-Z]:/.test(relPath)) {
      throw unsafePath(zipPath, entry.fileName);
    }
    if (entry.isEncrypted()) throw new DataFileError(zipPath, `entry ${entry.fileName} is encrypted; cannot extract it`);
    totalBytes += entry.uncompressedSize;
    plan.push({ entry, relPath });
  }
  if (totalBytes > MAX_EXTRACTED_BYTES) {
    throw new DataFileError(zipPath, `would unpack to ${totalBytes} bytes, more than the ${MAX_EXTRACTED_BYTES}-byte limit; not the data set archive?`);
  }
  const stems = (ext: string) =>
    new Set(
      plan
        .map((p) => p.relPath.match(new RegExp(`^${REQUIRED_DATASET}/([^/]+)\\.${ext}$`, 'i'))?.[1])
        .filter((s): s is string => s !== undefined),
    );
  const masks = stems('png');
  if (![...stems('bmp')].some((s) => masks.has(s))) {
    throw new DataFileError(
      zipPath,
      `not the segmentation_WBC archive: no "${REQUIRED_DATASET}/" folder with NNN.bmp + NNN.png pairs ` +
        `(found ${plan.length} entries, e.g. ${plan.slice(0, 3).map((p) => p.relPath).join(', ') || 'none'})`,
    );
  }
  return plan;
}

async function writeEntries(zip: yauzl.ZipFile, zipPath: string, plan: PlannedEntry[], tmpDir: string): Promise<void> {
  for (const { entry, relPath } of plan) {
    const out = resolve(tmpDir, ...relPath.split('/'));
    if (!out.startsWith(tmpDir + sep)) throw unsafePath(zipPath, entry.fileName);
    if (relPath.endsWith('/')) {
      await mkdir(out, { recursive: true });
      continue;
    }
    await mkdir(dirname(out), { recursive: true });
    try {
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(out));
    } catch (err) {
      throw new DataFileError(zipPath, `corrupt entry ${entry.fileName} (${messageOf(err)})`, { cause: err });
    }
  }
}

/** Renames tmpDir to target; an existing target is swapped out (replace) or means another process won. */
async function moveIntoPlace(tmpDir: string, target: string, replace: boolean): Promise<void> {
  if (replace && (await pathExists(target))) {
    const old = `${target}.old-${randomBytes(4).toString('hex')}`;
    await rename(target, old);
    try {
      await rename(tmpDir, target);
    } catch (err) {
      await rename(old, target);
      throw err;
    }
    await rm(old, { recursive: true, force: true });
    return;
  }
  try {
    await rename(tmpDir, target);
  } catch (err) {
    // A concurrent extraction finished first: its (equally checked) copy stays, ours is discarded.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await pathExists(target))) return;
    throw err;
  }
}

function readEntries(zip: yauzl.ZipFile, zipPath: string): Promise<yauzl.Entry[]> {
  return new Promise((resolvePromise, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolvePromise(entries));
    zip.once('error', (err: Error) => {
      const unsafe = /invalid relative path|absolute path|invalid characters in fileName/.test(err.message);
      reject(
        unsafe
          ? unsafePath(zipPath, err.message.replace(/^.*?: /, ''))
          : new DataFileError(zipPath, `corrupt zip archive (${err.message})`, { cause: err }),
      );
    });
    zip.readEntry();
  });
}

function unsafePath(zipPath: string, name: string): DataFileError {
  return new DataFileError(zipPath, `unsafe path "${name}" in archive (absolute or with ".."); refusing to extract anything`);
}
