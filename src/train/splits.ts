// The split of a training run: for each data source on its own, a seeded train/test split (sklearn's
// rule, so Dataset 1 keeps the study's 90 test images) and a validation part carved from its training
// images. Written to split.json; a model records each source's test and validation ids by name.
import { stratifiedTrainTestSplit, trainTestSplit, type TrainTestSplitOptions } from '../data/split.js';
import type { DataSource } from '../data/locate.js';
import type { RecordedSplit } from '../models/io.js';

export interface SourceSplit {
  /** The source's name ("Dataset 1"), which keys its split in the model. */
  name: string;
  /** Absolute folder the images were read from: what `--resume` and `evaluate` read when --data is not given. */
  dir: string;
  train: string[];
  /** Carved from the training part (seed + 1) when valFraction > 0; picks the best epoch. */
  validation: string[];
  test: string[];
}

export interface SplitFile {
  version: 2;
  testFraction: number;
  seed: number;
  sources: SourceSplit[];
}

export interface MakeSplitsOptions {
  testFraction: number;
  valFraction: number;
  seed: number;
  /** Train/test ids per source name chosen by the caller (cross-validation folds) instead of the seeded split. */
  given?: Record<string, { train: string[]; test: string[] }>;
  /** Keep only the first N training images of each source (validation and test unchanged). */
  trainLimit?: number;
  /**
   * Per source name, each image's stratum (its cell type, for a classifier): the test split and the
   * validation part then keep every stratum's share (stratifiedTrainTestSplit). Every id needs one.
   */
  strata?: Record<string, ReadonlyMap<string, number>>;
}

/** Splits each source's ids (sorted as the study sorted them) on its own. */
export function makeSplits(sources: ReadonlyArray<DataSource & { ids: readonly string[] }>, options: MakeSplitsOptions): SplitFile {
  const splits = sources.map((source) => {
    const ids = [...source.ids].sort();
    const given = options.given?.[source.name];
    if (options.given && !given) throw new Error(`no fold given for data source "${source.name}"`);
    const strata = options.strata?.[source.name];
    if (options.strata && !strata) throw new Error(`no strata given for data source "${source.name}"`);
    const split = (items: string[], splitOptions: TrainTestSplitOptions) => {
      if (!strata) return trainTestSplit(items, splitOptions);
      const missing = items.filter((id) => !strata.has(id));
      if (missing.length > 0) throw new Error(`data source "${source.name}": no stratum for ${missing.length} image(s) (e.g. ${missing[0]})`);
      return stratifiedTrainTestSplit(items, items.map((id) => strata.get(id)!), splitOptions);
    };
    const { train: trainAll, test } = given ?? split(ids, { testFraction: options.testFraction, seed: options.seed });
    const { train, test: validation } =
      options.valFraction > 0
        ? split(trainAll, { testFraction: options.valFraction, seed: options.seed + 1 })
        : { train: trainAll, test: [] as string[] };
    return { name: source.name, dir: source.dir, train: options.trainLimit ? train.slice(0, options.trainLimit) : train, validation, test };
  });
  return { version: 2, testFraction: options.testFraction, seed: options.seed, sources: splits };
}

interface SplitFileV1 {
  dataset: number;
  testFraction: number;
  seed: number;
  train: string[];
  validation?: string[];
  test: string[];
}

/**
 * A run's split.json, also as written before several sources (one "Dataset N" split); the folder of
 * a v1 split is the `fallbackDir` given (it was not recorded then).
 */
export function readSplitFile(json: unknown, path: string, fallbackDir?: string): SplitFile {
  const parsed = json as Partial<SplitFile> & Partial<SplitFileV1>;
  if (parsed && parsed.version === 2 && Array.isArray(parsed.sources)) return parsed as SplitFile;
  if (parsed && typeof parsed.dataset === 'number' && Array.isArray(parsed.train) && Array.isArray(parsed.test)) {
    if (!fallbackDir) throw new Error(`${path}: this run's split does not record where its data is; give --data`);
    return {
      version: 2,
      testFraction: parsed.testFraction ?? 0.3,
      seed: parsed.seed ?? 42,
      sources: [{ name: `Dataset ${parsed.dataset}`, dir: fallbackDir, train: parsed.train, validation: parsed.validation ?? [], test: parsed.test }],
    };
  }
  throw new Error(`${path}: not a leukoseg split file (expected "sources" with train/validation/test ids)`);
}

/** What the model records of a split: each source's test and validation ids. */
export function toRecordedSplits(split: SplitFile): RecordedSplit[] {
  return split.sources.map((s) => ({
    dataset: s.name,
    dir: s.dir,
    testFraction: split.testFraction,
    seed: split.seed,
    testIds: s.test,
    // Recorded so that `calibrate` fits on these images and never on the test split.
    ...(s.validation.length > 0 ? { validationIds: s.validation } : {}),
  }));
}
