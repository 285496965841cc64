// Command-line options that name data: --data (repeatable), --dataset (N, a list, or all), and the
// sources a model is scored or calibrated on when none are given (the folders it records).
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parseDatasetSelection, resolveSources, type DataSource } from '../data/dataset.js';
import type { RecordedSplit } from '../models/io.js';

export function datasetSelection(value: string): number | number[] | 'all' {
  try {
    return parseDatasetSelection(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Repeated --data flags, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const DATA_HELP = 'data-set root or folder of image/mask pairs; repeat for several sources (default: $LEUKOSEG_DATA, then the download cache)';
export const DATASET_HELP = 'which "Dataset N" of a collection root: N, a list such as 1,2, or all';

/** The sources a model was trained on, as it records them (for evaluate/calibrate without --data). */
function recordedSources(splits: readonly RecordedSplit[]): DataSource[] | undefined {
  const withDir = splits.filter((s) => s.dir !== undefined && existsSync(s.dir));
  return withDir.length > 0 && withDir.length === splits.length ? withDir.map((s) => ({ name: s.dataset, dir: s.dir! })) : undefined;
}

/** Data sources for scoring a model: --data/--dataset when given, else the folders it records, else Dataset 1 of the usual places. */
export function sourcesForModel(opts: { data?: string[]; dataset?: number | number[] | 'all' }, splits: readonly RecordedSplit[]): DataSource[] {
  if (opts.data === undefined && opts.dataset === undefined) {
    const recorded = recordedSources(splits);
    if (recorded) return recorded;
  }
  const names = splits.map((s) => Number(/^Dataset (\d+)$/.exec(s.dataset)?.[1])).filter((n) => Number.isInteger(n) && n > 0);
  return resolveSources({ data: opts.data, dataset: opts.dataset ?? (names.length > 0 ? names : 1) });
}

