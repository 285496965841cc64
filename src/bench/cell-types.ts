// The cell type of each image of segmentation_WBC, from its 'Class Labels of Dataset N.csv'
// (a header, then `image ID,label` with 1 neutrophil .. 5 basophil; Dataset 1's file has CRLF ends).
//
//   (await readCellTypes('.../Class Labels of Dataset 1.csv')).get('204'); // 'neutrophil'
import { readFile } from 'node:fs/promises';

export const CELL_TYPES = ['neutrophil', 'lymphocyte', 'monocyte', 'eosinophil', 'basophil'] as const;
export type CellType = (typeof CELL_TYPES)[number];

/** Image id as the files are named ('204', '007') -> cell type. */
export async function readCellTypes(file: string): Promise<Map<string, CellType>> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '');
  const types = new Map<string, CellType>();
  for (const [i, line] of lines.slice(1).entries()) {
    const [id, label] = line.split(',').map((s) => s.trim());
    const type = CELL_TYPES[Number(label) - 1];
    if (!/^\d+$/.test(id ?? '') || type === undefined) throw new Error(`${file}, line ${i + 2}: expected 'image id,label 1-5', got '${line}'`);
    types.set(id.padStart(3, '0'), type);
  }
  return types;
}
