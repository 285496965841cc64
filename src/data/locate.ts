// Decides which folder holds the data: --data DIR, else $LEUKOSEG_DATA, else the download cache;
// accepts the collection root (with "Dataset N/" inside) or a folder of image/mask pairs directly.
//
//   const dir = resolveDataDir({ data: opts.data }); // e.g. ~/.cache/leukoseg/segmentation_WBC/Dataset 1
import { readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
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

/** One source of labelled images: a lab, a microscope, a data set. Its name keys its recorded split. */
export interface DataSource {
  /** "Dataset N" for a folder of the collection, else the folder's own name. */
  name: string;
  /** Absolute path of the folder of image/mask pairs. */
  dir: string;
}

/** A folder of pairs as a source of its own, named after the folder. */
export function sourceOfFolder(dir: string): DataSource {
  const abs = resolve(dir);
  return { name: basename(abs), dir: abs };
}

export interface ResolveSourcesOptions {
  /** --data DIR, as many as given; default $LEUKOSEG_DATA, then the download cache. */
  data?: readonly string[];
  /** Which "Dataset N" of each collection root: one, several, or 'all' present (default 1). */
  dataset?: number | readonly number[] | 'all';
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}

/**
 * The folders of image/mask pairs to train or score on, one source each. A collection root gives its
 * "Dataset N/" folders as chosen by `dataset`; any other folder of pairs is one source named after it.
 * Two sources with one name are refused: the name is what a recorded split is matched by.
 */
export function resolveSources(options: ResolveSourcesOptions = {}): DataSource[] {
  const env = options.env ?? process.env;
  const roots = options.data && options.data.length > 0 ? options.data : [undefined];
  const sources: DataSource[] = [];
  for (const root of roots) {
    const base = { ...options, data: root, env };
    const dir = resolve(root ?? (env.LEUKOSEG_DATA ? env.LEUKOSEG_DATA : join(options.cacheDir ?? defaultCacheDir(env), DATASET_FOLDER)));
    const folders = isDirectory(dir) ? listDatasetFolders(dir) : [];
    const wanted = options.dataset ?? 1;
    if (folders.length > 0) {
      const numbers = wanted === 'all' ? folders.map((f) => Number(f.slice('Dataset '.length))) : typeof wanted === 'number' ? [wanted] : wanted;
      for (const n of numbers) sources.push({ name: `Dataset ${n}`, dir: resolveDataDir({ ...base, dataset: n }) });
    } else {
      sources.push(sourceOfFolder(resolveDataDir({ ...base, dataset: typeof wanted === 'number' ? wanted : 1 })));
    }
  }
  const seen = new Map<string, string>();
  for (const s of sources) {
    const other = seen.get(s.name);
    if (other !== undefined) {
      throw new Error(`two data sources are both named "${s.name}" (${other} and ${s.dir}); a source's name keys its recorded split, so rename one folder`);
    }
    seen.set(s.name, s.dir);
  }
  return sources;
}

/** "--dataset 2", "1,2" or "all" from the command line. */
export function parseDatasetSelection(value: string): number | number[] | 'all' {
  if (value.trim() === 'all') return 'all';
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length === 0 || numbers.some((n, i) => !Number.isInteger(n) || n < 1 || parts[i] === '')) {
    throw new Error(`--dataset must be a number, a comma-separated list such as 1,2, or all; got "${value}"`);
  }
  return numbers.length === 1 ? numbers[0] : numbers;
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
