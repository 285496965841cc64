// Finds image/mask file pairs in a data folder by name, and reports every file it cannot pair.
// Ids are sorted as Python's sorted() sorts strings, so index i means the same image as in the study.
//
// Naming rules (the segmentation_WBC layout is the first one):
//   NNN.bmp|jpg|jpeg|tif|tiff + NNN.png           mask beside a non-PNG image
//   NNN.<any image ext>       + NNN_mask.png      mask with a suffix (needed when images are PNG)
//   NNN.<any image ext>       + NNN.mask.png
//   NNN.<any image ext>       + masks/NNN.png     masks in a subfolder
// When several masks match one image the first rule in this order wins: masks/NNN.png, NNN_mask.png,
// NNN.mask.png, NNN.png; the others are reported. Files with other extensions are ignored.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataIssue } from './types.js';

export const IMAGE_EXTENSIONS = ['.bmp', '.png', '.jpg', '.jpeg', '.tif', '.tiff'] as const;
export const MASKS_SUBFOLDER = 'masks';

export interface ImageMaskPair {
  id: string;
  imagePath: string;
  maskPath: string;
}

export interface FoundPairs {
  /** Sorted by id. */
  pairs: ImageMaskPair[];
  issues: DataIssue[];
}

/** What the folder should look like, for error messages. */
export const EXPECTED_LAYOUT =
  'image/mask pairs such as 001.bmp + 001.png (masks: 8-bit gray, 0 background, 128 cytoplasm, 255 nucleus); ' +
  'PNG images need their mask as 001_mask.png, 001.mask.png or masks/001.png';

/** Python's sorted() order for strings: by Unicode code point (JS < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (ch) => ch.codePointAt(0) ?? 0);
  const cb = Array.from(b, (ch) => ch.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return ca[i] - cb[i];
  }
  return ca.length - cb.length;
}

/** Pairs images with masks in `dir` (see the naming rules at the top of this file). */
export async function findPairs(dir: string): Promise<FoundPairs> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries.filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.')).map((e) => e.name);
  const hasMasksFolder = entries.some((e) => e.isDirectory() && e.name === MASKS_SUBFOLDER);
  const subfolderMasks = hasMasksFolder
    ? (await readdir(join(dir, MASKS_SUBFOLDER), { withFileTypes: true }))
        .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && extensionOf(e.name) === '.png')
        .map((e) => e.name)
    : [];

  // Candidate masks per id, in precedence order; paths are relative to dir until the end.
  const masks = new Map<string, string[]>();
  const addMask = (id: string, relPath: string) => masks.set(id, [...(masks.get(id) ?? []), relPath]);
  for (const name of subfolderMasks) addMask(stemOf(name), join(MASKS_SUBFOLDER, name));
  const images = new Map<string, string[]>();
  const plainPngs: string[] = [];
  for (const name of files) {
    const ext = extensionOf(name);
    if (!(IMAGE_EXTENSIONS as readonly string[]).includes(ext)) continue;
    const stem = stemOf(name);
    if (ext === '.png' && /(_mask|\.mask)$/i.test(stem)) continue; // added below, after subfolder masks
    if (ext === '.png') plainPngs.push(name);
    else images.set(stem, [...(images.get(stem) ?? []), name]);
  }
  for (const suffix of ['_mask', '.mask']) {
    for (const name of files) {
      const stem = stemOf(name);
      if (extensionOf(name) === '.png' && stem.toLowerCase().endsWith(suffix)) addMask(stem.slice(0, -suffix.length), name);
    }
  }
  // A plain NNN.png is the mask when a non-PNG image NNN.* exists; otherwise it is an image.
  for (const name of plainPngs) {
    const stem = stemOf(name);
    if (images.has(stem)) addMask(stem, name);
    else images.set(stem, [name]);
  }

  const issues: DataIssue[] = [];
  const pairs: ImageMaskPair[] = [];
  for (const [id, imageNames] of images) {
    const [imageName, ...extraImages] = imageNames.sort(compareCodePoints);
    for (const extra of extraImages) {
      issues.push({ file: join(dir, extra), problem: `second image for id ${id} (using ${imageName}); remove or rename one` });
    }
    const [maskName, ...extraMasks] = masks.get(id) ?? [];
    masks.delete(id);
    if (maskName === undefined) {
      issues.push({ file: join(dir, imageName), problem: noMaskProblem(id, imageName) });
      continue;
    }
    for (const extra of extraMasks) {
      issues.push({ file: join(dir, extra), problem: `second mask for ${imageName} (using ${maskName}); remove or rename one` });
    }
    pairs.push({ id, imagePath: join(dir, imageName), maskPath: join(dir, maskName) });
  }
  for (const [id, maskNames] of masks) {
    for (const name of maskNames) {
      issues.push({ file: join(dir, name), problem: `mask without an image (expected ${id}.bmp, .jpg, .jpeg, .tif, .tiff or .png)` });
    }
  }
  pairs.sort((a, b) => compareCodePoints(a.id, b.id));
  issues.sort((a, b) => compareCodePoints(a.file, b.file));
  return { pairs, issues };
}

function noMaskProblem(id: string, imageName: string): string {
  const suffixed = `${id}_mask.png, ${id}.mask.png or ${MASKS_SUBFOLDER}/${id}.png`;
  return extensionOf(imageName) === '.png'
    ? `no mask found (expected ${suffixed}; if this file is itself a mask, its image ${id}.bmp is missing)`
    : `no mask found (expected ${id}.png, ${suffixed})`;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? name : name.slice(0, dot);
}
