// `leukoseg segment`: files, folders and globs in; per image a mask PNG, an instance PNG, an overlay
// PNG and a row of morphometrics per white cell out (and with --crops each cell's crop and mask). A
// bad file costs one line on stderr, never the rest of the batch; an interrupted run keeps the rows
// of every image it finished.
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { writeFileAtomic } from '../io/atomic.js';
import { decodeImage } from '../data/decode.js';
import { segmentRows, type SegmentRow } from '../output/results.js';
import { cellCrop } from '../output/cell-crops.js';
import { imageOutputs } from '../output/image-outputs.js';
import { encodePng } from '../output/png.js';
import { CELL_TYPES, UNCERTAIN } from '../classify/cell-types.js';
import { ResultsWriter, type Failure } from './results-writer.js';
import type { Segmenter, SegmentResult } from '../infer/segmenter.js';
import type { ModeChoice } from '../field/mode.js';
import type { FieldProgress } from '../field/segment-field.js';
import type { RgbImage } from '../data/types.js';
import { messageOf } from '../data/errors.js';

export const SEGMENT_EXTENSIONS = ['.bmp', '.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp'];

/** Our own outputs, never taken for inputs: NAME.mask.png, .overlay.png, .cells.png, .cellK.png, .cellK.mask.png. */
const OUTPUT_NAME = /\.(mask|overlay|cells|cell\d+|cell\d+\.mask)\.png$/i;

/**
 * Images in a folder tree. Skipped: our own outputs (OUTPUT_NAME: the output folder may sit inside
 * the input), and masks of a data set laid out as NNN.bmp + NNN.png (a PNG
 * beside a non-PNG image of the same name is its mask, as the training data loader reads it).
 */
async function listImages(dir: string): Promise<{ images: string[]; masks: number }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && SEGMENT_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .filter((e) => !OUTPUT_NAME.test(e.name))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  const stemsWithOtherImage = new Set(
    paths.filter((p) => extname(p).toLowerCase() !== '.png').map((p) => p.slice(0, -extname(p).length)),
  );
  const isMask = (p: string) => extname(p).toLowerCase() === '.png' && stemsWithOtherImage.has(p.slice(0, -extname(p).length));
  return { images: paths.filter((p) => !isMask(p)).sort(), masks: paths.filter(isMask).length };
}

/** Expands paths, folders (recursively) and glob patterns into a sorted, de-duplicated file list. */
export async function expandInputs(args: string[]): Promise<{ files: string[]; missing: string[]; skippedMasks: number }> {
  const files = new Set<string>();
  const missing: string[] = [];
  let skippedMasks = 0;
  for (const arg of args) {
    const info = await stat(arg).catch(() => null);
    if (info?.isDirectory()) {
      const { images, masks } = await listImages(arg);
      images.forEach((f) => files.add(resolve(f)));
      skippedMasks += masks;
    }
    else if (info?.isFile()) files.add(resolve(arg));
    else {
      const matches = await glob(arg, { absolute: true, onlyFiles: true });
      if (matches.length === 0) missing.push(arg);
      matches.sort().forEach((f) => files.add(f));
    }
  }
  return { files: [...files], missing, skippedMasks };
}

/** Output base names: the file name without its extension, made unique with -2, -3, ... */
export function outputNames(files: string[]): string[] {
  const used = new Map<string, number>();
  return files.map((f) => {
    const stem = basename(f, extname(f));
    const n = (used.get(stem) ?? 0) + 1;
    used.set(stem, n);
    return n === 1 ? stem : `${stem}-${n}`;
  });
}

export interface SegmentBatchResult {
  rows: SegmentRow[];
  failed: Failure[];
  seconds: number;
  /** The signal's name when `options.signal` stopped the run before every file was tried, else null. */
  interruptedBy: string | null;
}

export interface SegmentFilesOptions {
  umPerPx?: number;
  /** Crop or field per image (default auto: see src/field/mode.ts). */
  mode?: ModeChoice;
  /** The white-cell diameter in image pixels, or 'native' (default: estimated per field and per crop; see SegmentOptions.cellDiameter). */
  cellDiameter?: number | 'native';
  /** Writes NAME.cellK.png (the cell's crop) and NAME.cellK.mask.png there for every cell. */
  cropsDir?: string;
  /** A field's progress, as its tiles and cells are done. */
  onField?: (file: string, progress: FieldProgress) => void;
  onImage?: (done: number, file: string, error?: string) => void;
  maxPixels?: number;
  /** Stops the run after the image in progress; the results written then hold every finished image. */
  signal?: AbortSignal;
  /** How often results.csv and results.json are rewritten while the run goes (default 2000 ms). */
  flushEveryMs?: number;
}

/** Writes each cell's crop and mask into `dir` as NAME.cellK.png and NAME.cellK.mask.png. */
async function writeCellCrops(dir: string, name: string, r: SegmentResult): Promise<void> {
  for (const cell of r.cells) {
    const crop = cellCrop(r.image, cell);
    await writeFileAtomic(join(dir, `${name}.cell${cell.index}.png`), await encodePng(crop.image));
    await writeFileAtomic(join(dir, `${name}.cell${cell.index}.mask.png`), await encodePng({ ...crop.rect, data: crop.mask, channels: 1 }));
  }
}

/**
 * Segments every file, decoding the next images while the model works on the current one, and
 * writes NAME.mask.png, NAME.cells.png, NAME.overlay.png and the results files (see
 * results-writer.ts) into `outDir`: one row per cell.
 */
export async function segmentFiles(
  segmenter: Segmenter,
  files: string[],
  outDir: string,
  options: SegmentFilesOptions = {},
): Promise<SegmentBatchResult> {
  const names = outputNames(files);
  const { metadata } = segmenter;
  const results = await ResultsWriter.start(
    outDir,
    { model: { dir: segmenter.modelDir, architecture: metadata.architecture, preset: metadata.preset ?? null }, umPerPx: options.umPerPx ?? null },
    files,
    options.flushEveryMs,
  );
  const decode = (i: number): Promise<RgbImage> => decodeImage(files[i], files[i], { maxPixels: options.maxPixels });
  const lookahead = 2;
  const pending: Array<Promise<RgbImage>> = files.slice(0, lookahead).map((_, i) => decode(i));
  // Rejections are read in order below; mark them handled now so none counts as unhandled meanwhile.
  pending.forEach((p) => p.catch(() => {}));
  for (let i = 0; i < files.length && !options.signal?.aborted; i++) {
    if (i + lookahead < files.length) {
      const next = decode(i + lookahead);
      next.catch(() => {});
      pending.push(next);
    }
    try {
      const image = await pending[i];
      const file = files[i];
      const r = await segmenter.segment({ ...image, channels: 3 }, {
        umPerPx: options.umPerPx,
        name: file,
        mode: options.mode,
        cellDiameter: options.cellDiameter,
        onProgress: options.onField && ((p) => options.onField!(file, p)),
      });
      const pngs = await imageOutputs(r);
      await writeFileAtomic(join(outDir, `${names[i]}.mask.png`), pngs.mask);
      await writeFileAtomic(join(outDir, `${names[i]}.cells.png`), pngs.cells);
      await writeFileAtomic(join(outDir, `${names[i]}.overlay.png`), pngs.overlay);
      if (options.cropsDir !== undefined) await writeCellCrops(options.cropsDir, names[i], r);
      await results.add(...segmentRows(file, names[i], r));
      options.onImage?.(i + 1, files[i]);
    } catch (err) {
      results.fail(files[i], messageOf(err));
      options.onImage?.(i + 1, files[i], messageOf(err));
    }
    delete pending[i];
  }
  const interruptedBy = options.signal?.aborted ? String(options.signal.reason) : null;
  const seconds = results.seconds;
  await results.flush(interruptedBy === null ? 'complete' : 'interrupted', interruptedBy);
  return { rows: results.rows, failed: results.failed, seconds, interruptedBy };
}

/** One line for the terminal: cells per type over the run, uncertain ones named as such. */
export function differentialSummary(rows: readonly SegmentRow[]): string {
  const count = (t: string) => rows.filter((r) => r.cellType === t).length;
  const typed = [...CELL_TYPES].filter((t) => count(t) > 0).map((t) => `${t} ${count(t)}`);
  const uncertain = count(UNCERTAIN);
  const parts = [...typed, ...(uncertain > 0 ? [`uncertain ${uncertain} (confidence below the classifier's threshold: review them)`] : [])];
  return `cell types: ${parts.length > 0 ? parts.join(', ') : 'none typed'}; per folder in differential.csv`;
}
