// The cell-type label of each image of a data source: segmentation_WBC's "Class Labels of Dataset N.csv"
// beside its "Dataset N/" folder, or a `labels.csv` inside any folder of pairs (`id,label`, the label a
// number 1..5 in CELL_TYPES order or a type's name). Ids match image names by number: "7" is 007.bmp.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DataSource } from '../data/locate.js';
import { CELL_TYPES } from './cell-types.js';

/** The label file of a folder of pairs that is not a collection's "Dataset N". */
export const LABELS_FILE = 'labels.csv';

/** Where the labels of `source` are: the collection's file for "Dataset N/", else labels.csv in the folder. */
export function labelFileOf(source: Pick<DataSource, 'dir'>): string {
  const folder = basename(source.dir);
  const collectionFile = join(dirname(source.dir), `Class Labels of ${folder}.csv`);
  if (/^Dataset \d+$/.test(folder) && existsSync(collectionFile)) return collectionFile;
  return join(source.dir, LABELS_FILE);
}

/** The key ids are matched by: a number's value ("007" and "7" are one image), else the id itself. */
export function idKey(id: string): string {
  return /^\d+$/.test(id.trim()) ? String(Number(id.trim())) : id.trim();
}

/**
 * Parses a label file: a header line, then `id,label` per line (CRLF or LF; blank lines skipped).
 * Returns id key -> class index (0 neutrophil ... 4 basophil). Throws naming the file and line of
 * anything else, and of an id given twice with different labels.
 */
export function parseLabelCsv(text: string, file: string): Map<string, number> {
  const lines = text.split(/\r?\n/);
  const labels = new Map<string, number>();
  lines.forEach((line, i) => {
    if (i === 0 || line.trim() === '') return;
    const cells = line.split(',').map((c) => c.trim());
    const where = `${file}:${i + 1}`;
    if (cells.length < 2 || cells[0] === '') throw new Error(`${where}: expected "id,label", got "${line}"`);
    const [id, value] = cells;
    const byNumber = /^\d+$/.test(value) ? Number(value) - 1 : -1;
    const index = byNumber >= 0 && byNumber < CELL_TYPES.length ? byNumber : (CELL_TYPES as readonly string[]).indexOf(value.toLowerCase());
    if (index < 0) {
      throw new Error(`${where}: label "${value}" is not a cell type (1..${CELL_TYPES.length} or ${CELL_TYPES.join(', ')})`);
    }
    const key = idKey(id);
    const earlier = labels.get(key);
    if (earlier !== undefined && earlier !== index) throw new Error(`${where}: image ${id} is labelled both ${CELL_TYPES[earlier]} and ${CELL_TYPES[index]}`);
    labels.set(key, index);
  });
  return labels;
}

export interface SourceLabels {
  file: string;
  /** Sample id -> class index, for the ids given that have a label. */
  byId: Map<string, number>;
  /** Ids given without a label in the file (they cannot be trained or scored on). */
  unlabelled: string[];
}

/** The labels of `ids` (a source's image ids) from the source's label file; throws when there is none. */
export async function readSourceLabels(source: DataSource, ids: readonly string[]): Promise<SourceLabels> {
  const file = labelFileOf(source);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `${source.dir}: no cell-type labels (${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). ` +
        `Give "${LABELS_FILE}" in the folder with lines "id,label" (label 1..5 or ${CELL_TYPES.join(', ')}).`,
    );
  }
  const parsed = parseLabelCsv(text, file);
  const byId = new Map<string, number>();
  const unlabelled: string[] = [];
  for (const id of ids) {
    const label = parsed.get(idKey(id));
    if (label === undefined) unlabelled.push(id);
    else byId.set(id, label);
  }
  return { file, byId, unlabelled };
}
