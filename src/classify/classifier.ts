// Types one segmented cell at a time: what `segment` and `loadSegmenter()` call after measuring a
// cell. `const c = await loadCellClassifier(); const r = await c.classify(image, mask, stats)` gives
// r.cellType ('neutrophil' ... or 'uncertain'), r.confidence and every type's probability.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabelMask, RgbImage } from '../data/types.js';
import type { CellStats } from '../infer/morphometrics.js';
import { loadModel, resolveModelDir, type ModelMetadata } from '../models/io.js';
import { verdict, type CellTypeResult } from './cell-types.js';
import { cellTypeInfo, type CellTypeInfo } from './model-info.js';
import { prepareCell } from './prepare.js';
import { predictCells } from './predict.js';
import { viewsFor } from './views.js';
import { DEFAULT_CELL_TO_IMAGE, fieldCellView } from './field-view.js';
import type { SegmentedCell } from '../field/cells.js';

/** The classifier that ships with the package, used by `segment` unless told otherwise. */
export const DEFAULT_CLASSIFIER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'classifier');

export interface CellClassifier {
  readonly modelDir: string;
  readonly metadata: ModelMetadata;
  readonly info: CellTypeInfo;
  /**
   * The type of the mask's main cell (the one measured in `stats`, when given) in `image`; null when
   * there is no cell with a nucleus to type.
   */
  classify(image: RgbImage, mask: LabelMask, stats?: CellStats): Promise<CellTypeResult | null>;
  /** The type of one cell of a field (field-view.ts: typed in a window framed as a crop frames its cell). */
  classifyInField(image: RgbImage, cell: Pick<SegmentedCell, 'bbox' | 'mask' | 'centroidX' | 'centroidY' | 'stats'>): Promise<CellTypeResult | null>;
  dispose(): void;
}

/** Loads a classifier (the bundled one by default); the tfjs engine must be initialised (loadSegmenter does it). */
export async function loadCellClassifier(dir: string = DEFAULT_CLASSIFIER_DIR): Promise<CellClassifier> {
  const modelDir = await resolveModelDir(dir);
  const { model, metadata } = await loadModel(modelDir);
  let info: CellTypeInfo;
  try {
    info = cellTypeInfo(metadata, join(modelDir, 'model.json'));
  } catch (err) {
    model.dispose();
    throw err;
  }
  const views = viewsFor(info, metadata.inference?.tta);
  const sizeFeature = info.features.names.indexOf('cellToImage');
  const cellToImage = sizeFeature >= 0 ? info.features.mean[sizeFeature] : DEFAULT_CELL_TO_IMAGE;
  let disposed = false;
  const classify = async (image: RgbImage, mask: LabelMask, stats?: CellStats) => {
    if (disposed) throw new Error('this cell classifier was disposed');
    const prepared = prepareCell(image, mask, info.crop, stats);
    if (!prepared) return null;
    const probs = await predictCells(model, [prepared], info, metadata.preprocessing, { views });
    return verdict(probs, info.threshold);
  };
  return {
    modelDir,
    metadata,
    info,
    classify,
    async classifyInField(image, cell) {
      const view = fieldCellView(image, cell, cellToImage);
      return classify(view.image, view.mask, cell.stats);
    },
    dispose() {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}
