// The labelled cells of data sources for training and scoring a classifier: each image/mask pair with
// its cell-type label (labels.ts), and the masks it is cut out with: the annotated ones, or those a
// segmenter predicts (what `segment` will hand the classifier).
import { loadDataset } from '../data/dataset.js';
import type { DataSource } from '../data/locate.js';
import type { LabelMask, RgbImage } from '../data/types.js';
import type { CellStats } from '../infer/morphometrics.js';
import type { Segmenter } from '../infer/segmenter.js';
import { readSourceLabels } from './labels.js';

export interface LabelledCell {
  id: string;
  /** The source's name ("Dataset 2"). */
  source: string;
  imagePath: string;
  /** Class index in CELL_TYPES. */
  label: number;
  image: RgbImage;
  /** The annotated mask at the image's size. */
  truth: LabelMask;
}

export interface LoadedCells {
  /** Per source, in the order given, its labelled cells sorted by id. */
  sources: Array<DataSource & { cells: LabelledCell[]; labelFile: string }>;
  /** Lines for the log: skipped files, images without a label. */
  notes: string[];
}

/** Loads every labelled image/mask pair of each source; images without a label are left out and noted. */
export async function loadLabelledCells(sources: readonly DataSource[]): Promise<LoadedCells> {
  const notes: string[] = [];
  const out: LoadedCells['sources'] = [];
  for (const source of sources) {
    // The square fit is not used (cells are cut from the images at their own size); 16 keeps it cheap.
    const dataset = await loadDataset({ dir: source.dir, size: 16 });
    for (const issue of dataset.issues) notes.push(`skipped ${issue.file}: ${issue.problem}`);
    const labels = await readSourceLabels(source, dataset.samples.map((s) => s.id));
    if (labels.unlabelled.length > 0) {
      notes.push(`${source.name}: ${labels.unlabelled.length} image(s) without a label in ${labels.file} left out (e.g. ${labels.unlabelled[0]})`);
    }
    const cells = dataset.samples
      .filter((s) => labels.byId.has(s.id))
      .map((s) => ({ id: s.id, source: source.name, imagePath: s.imagePath, label: labels.byId.get(s.id)!, image: s.originalImage, truth: s.originalMask }));
    if (cells.length === 0) throw new Error(`${source.dir}: no image has a cell-type label in ${labels.file}`);
    out.push({ ...source, cells, labelFile: labels.file });
  }
  return { sources: out, notes };
}

/** Key of a cell across sources. */
export function cellKey(cell: Pick<LabelledCell, 'source' | 'id'>): string {
  return `${cell.source}/${cell.id}`;
}

/** A mask to cut a cell with, and its measurements. */
export interface CellMask {
  mask: LabelMask;
  stats?: CellStats;
}

/**
 * The segmenter's masks (post-processed, as `segment` gives them) of `cells`, by cellKey. An image the
 * segmenter finds no cell in gets its empty mask: the classifier then cannot type it, as in `segment`.
 */
export async function predictedMasks(segmenter: Segmenter, cells: readonly LabelledCell[]): Promise<Map<string, CellMask>> {
  const masks = new Map<string, CellMask>();
  for (const cell of cells) {
    const r = await segmenter.segment({ ...cell.image, channels: 3 }, { name: cell.imagePath });
    masks.set(cellKey(cell), { mask: r.mask, stats: r.stats });
  }
  return masks;
}
