// Scores a cell-type classifier on labelled cells: each data source's test split recorded with the
// model (or every labelled image with `all`), cut out with the annotated masks or with the masks a
// segmenter predicts, as `segment` would give them. What `leukoseg evaluate` prints for a classifier.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DataSource } from '../data/locate.js';
import type { LoadedModel } from '../models/io.js';
import { idsToScore } from '../infer/evaluate.js';
import { loadSegmenter } from '../infer/segmenter.js';
import { cellKey, loadLabelledCells, predictedMasks, type CellMask, type LabelledCell, type LoadedCells } from './cells.js';
import { cellTypeInfo, type CellTypeInfo } from './model-info.js';
import { prepareCell } from './prepare.js';
import { predictCells } from './predict.js';
import { viewsFor, type CellViews } from './views.js';
import { scoreBySource, type CellPrediction, type CellScores } from './score.js';
import { CELL_TYPES } from './cell-types.js';
import { join } from 'node:path';

/** Which masks the cells are cut out with. */
export type MaskChoice = 'truth' | 'predicted';

export interface ClassifierEvaluation {
  masks: MaskChoice;
  /** 'test-split' when every source was scored on the split the model records. */
  scope: 'test-split' | 'all-images' | 'mixed';
  threshold: number;
  /** Whether the predictions average several views of each crop, and which (views.ts). */
  tta: boolean;
  views: CellViews;
  pooled: CellScores;
  sources: Array<{ dataset: string; dir: string; scope: 'test-split' | 'all-images' } & CellScores>;
  predictions: CellPrediction[];
}

type Pixels = LoadedModel['metadata']['preprocessing'];

/**
 * The classifier's probabilities for `cells`, each cut out with its mask in `masks` (by cellKey) or,
 * without it, its annotated mask. Cells with nothing to type get probs null.
 */
export async function classifyLabelledCells(
  model: tfl.LayersModel,
  info: CellTypeInfo,
  pixels: Pixels,
  cells: readonly LabelledCell[],
  masks: ReadonlyMap<string, CellMask> | null,
  options: { views?: CellViews } = {},
): Promise<CellPrediction[]> {
  const prepared = cells.map((cell) => {
    const given = masks?.get(cellKey(cell));
    if (masks && !given) throw new Error(`no predicted mask for ${cell.imagePath}`);
    return prepareCell(cell.image, given?.mask ?? cell.truth, info.crop, given?.stats);
  });
  const typed = prepared.flatMap((p) => (p ? [p] : []));
  const probs = await predictCells(model, typed, info, pixels, options);
  let next = 0;
  return cells.map((cell, i) => {
    const row = prepared[i] ? Array.from(probs.subarray(next * CELL_TYPES.length, ++next * CELL_TYPES.length)) : null;
    return { id: cell.id, source: cell.source, label: cell.label, probs: row };
  });
}

export interface EvaluateClassifierOptions {
  /** Score every labelled image, whatever split the model records. */
  all?: boolean;
  masks?: MaskChoice;
  /** The segmenter of predicted masks (a model folder; default the bundled one). */
  segmenter?: string;
  /** true: the model's views, at least its flips; false: the crop alone; absent: as the model says (views.ts). */
  tta?: boolean;
  /** Cells already loaded (cross-validation, training), instead of reading the sources. */
  loaded?: LoadedCells;
  /** Predicted masks already made, by cellKey. */
  predicted?: ReadonlyMap<string, CellMask>;
}

export async function evaluateClassifier(loaded: LoadedModel, sources: readonly DataSource[], options: EvaluateClassifierOptions = {}): Promise<ClassifierEvaluation> {
  const where = join(loaded.dir, 'model.json');
  const info = cellTypeInfo(loaded.metadata, where);
  const data = options.loaded ?? (await loadLabelledCells(sources));
  const picked = sources.map((source) => {
    const found = data.sources.find((s) => s.name === source.name);
    if (!found) throw new Error(`evaluateClassifier: source "${source.name}" was not loaded`);
    const ids = idsToScore(loaded.metadata, source, options.all);
    if (!ids) return { source, cells: found.cells, scope: 'all-images' as const };
    const byId = new Map(found.cells.map((c) => [c.id, c]));
    const cells = ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
    if (cells.length === 0) throw new Error(`${source.dir}: none of the model's ${ids.length} test images are here with a label (e.g. ${ids[0]}); is it the right data set?`);
    return { source, cells, scope: 'test-split' as const };
  });
  const all = picked.flatMap((p) => p.cells);
  const masks = options.masks ?? 'truth';
  let predicted: ReadonlyMap<string, CellMask> | null = null;
  if (masks === 'predicted') {
    predicted = options.predicted ?? null;
    if (!predicted) {
      const segmenter = await loadSegmenter({ model: options.segmenter, classify: false });
      try {
        predicted = await predictedMasks(segmenter, all);
      } finally {
        segmenter.dispose();
      }
    }
  }
  const views = viewsFor(info, loaded.metadata.inference?.tta, options.tta);
  const predictions = await classifyLabelledCells(loaded.model, info, loaded.metadata.preprocessing, all, predicted, { views });
  const scored = scoreBySource(predictions, info.threshold);
  const scopes = new Set(picked.map((p) => p.scope));
  return {
    masks,
    scope: scopes.size === 1 ? picked[0].scope : 'mixed',
    threshold: info.threshold,
    tta: views !== 'none',
    views,
    pooled: scored.pooled,
    sources: picked.map((p) => {
      const s = scored.sources.find((x) => x.source === p.source.name)!;
      return { dataset: p.source.name, dir: p.source.dir, scope: p.scope, ...s };
    }),
    predictions,
  };
}
