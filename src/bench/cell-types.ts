// The cell type of each image of segmentation_WBC, from its 'Class Labels of Dataset N.csv', by the
// file's image id: the classifier's label reader (src/classify/labels.ts) keyed as the files are named.
//
//   (await readCellTypes('.../Class Labels of Dataset 1.csv')).get('204'); // 'neutrophil'
import { readFile } from 'node:fs/promises';
import { CELL_TYPES, type CellType } from '../classify/cell-types.js';
import { parseLabelCsv } from '../classify/labels.js';

export { CELL_TYPES, type CellType };

/** Image id as the files are named ('204', '007') -> cell type. */
export async function readCellTypes(file: string): Promise<Map<string, CellType>> {
  const labels = parseLabelCsv(await readFile(file, 'utf8'), file);
  return new Map([...labels].map(([id, label]) => [id.padStart(3, '0'), CELL_TYPES[label]]));
}
