// Decides which folder holds the data: --data DIR, else $LEUKOSEG_DATA, else the download cache;
// accepts the collection root (with "Dataset N/" inside) or a folder of image/mask pairs directly.
//
//   const dir = resolveDataDir({ data: opts.data }); // e.g. ~/.cache/leukoseg/segmentation_WBC/Dataset 1
import { readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { IMAGE_EXTENSIONS } from './pairs.js';

/** Folder name of the extracted collection inside the cache (the archive's top folder, renamed). */
export const DATASET_FOLDER = 'segmentation_WBC';

/** Where downloads go: $LEUKOSEG_CACHE, else ~/.cache/leukoseg. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LEUKOSEG_CACHE ? resolve(env.LEUKOSEG_CACHE) : join(homedir(), '.cache', 'leukoseg');
}

export interface ResolveDataDirOptions {
  /** --data DIR from the command line. */
  data?: string;
  /** Which "Dataset N" of the collection (default 1). */
  dataset?: number;
  env?: NodeJS.ProcessEnv;
  /** Cache folder (default defaultCacheDir(env)). */
  cacheDir?: string;
}

/** The folder of image/mask pairs to load; throws an Error saying how to get the data if none is found. */
export function resolveDataDir(options: ResolveDataDirOptions = {}): string {
  const env = options.env ?? process.env;
  const dataset = options.dataset ?? 1;
  const cacheRoot = join(options.cacheDir ?? defaultCacheDir(env), DATASET_FOLDER);
  const [root, source] =
    options.data !== undefined
      ? [options.data, '--data']
      : env.LEUKOSEG_DATA
        ? [env.LEUKOSEG_DATA, 'LEUKOSEG_DATA']
        : [cacheRoot, 'the download cache'];
  const dir = resolve(root);
  const howToGetData =
    'Get the data with `npx leukoseg download` (saves it under ' +
    `${cacheRoot}), or point to a copy with --data DIR or the LEUKOSEG_DATA environment variable ` +
    `(DIR = the segmentation_WBC folder that holds "Dataset ${dataset}/", or a folder of pairs such as 001.bmp + 001.png).`;

  if (!isDirectory(dir)) {
    throw new Error(`No data folder at ${dir} (from ${source}). ${howToGetData}`);
  }
  const datasetDir = join(dir, `Dataset ${dataset}`);
  if (isDirectory(datasetDir)) return datasetDir;
  if (containsImages(dir)) return dir;
  const others = listDatasetFolders(dir);
  const found = others.length > 0 ? `it has ${others.map((d) => `"${d}/"`).join(', ')} but not "Dataset ${dataset}/"` : 'it has neither "Dataset N/" folders nor image files';
  throw new Error(`Data folder ${dir} (from ${source}) holds no usable data: ${found}. ${howToGetData}`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function containsImages(dir: string): boolean {
  return readdirSync(dir).some((name) => (IMAGE_EXTENSIONS as readonly string[]).some((ext) => name.toLowerCase().endsWith(ext)));
}

function listDatasetFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^Dataset \d+$/.test(e.name))
    .map((e) => e.name)
    .sort();
}
