// The five white-cell types leukoseg tells apart, in the order of the classifier's outputs and of
// the data sets' label files (1 neutrophil ... 5 basophil), and the result-row columns they fill.
// Pure (no Node imports): the page builds the same rows and differential as the command line.

export const CELL_TYPES = ['neutrophil', 'lymphocyte', 'monocyte', 'eosinophil', 'basophil'] as const;
export type CellType = (typeof CELL_TYPES)[number];

/** What `cellType` says when the classifier's confidence is below the model's threshold. */
export const UNCERTAIN = 'uncertain';

/** One cell's verdict: the type (or 'uncertain'), the top probability, and every type's probability. */
export interface CellTypeResult {
  cellType: CellType | typeof UNCERTAIN;
  /** The likeliest type, also when `cellType` is 'uncertain'. */
  likeliest: CellType;
  /** Its probability. */
  confidence: number;
  probabilities: Record<CellType, number>;
  /** The confidence below which a cell is reported as uncertain (chosen on validation cells). */
  threshold: number;
}

/** Result-row column of each type's probability: pNeutrophil, ... */
export const PROBABILITY_COLUMNS = CELL_TYPES.map((t) => `p${t[0].toUpperCase()}${t.slice(1)}`) as ReadonlyArray<`p${Capitalize<CellType>}`>;

/** Columns a classified row adds (empty when no cell was found or classification is off). */
export const CELL_TYPE_COLUMNS = ['cellType', 'cellTypeConfidence', ...PROBABILITY_COLUMNS] as const;
export type CellTypeColumn = (typeof CELL_TYPE_COLUMNS)[number];

/** The row cells of one verdict; null (no cell, or classification off) gives empty cells. */
export function cellTypeRow(result: CellTypeResult | null): Record<CellTypeColumn, string | number | null> {
  const row = { cellType: result?.cellType ?? null, cellTypeConfidence: result?.confidence ?? null } as Record<CellTypeColumn, string | number | null>;
  CELL_TYPES.forEach((t, i) => (row[PROBABILITY_COLUMNS[i]] = result?.probabilities[t] ?? null));
  return row;
}

/**
 * The verdict from the classifier's probabilities (in CELL_TYPES order): the likeliest type, or
 * 'uncertain' when its probability is below `threshold`, never silently assigned.
 */
export function verdict(probabilities: ArrayLike<number>, threshold: number): CellTypeResult {
  if (probabilities.length !== CELL_TYPES.length) {
    throw new Error(`expected ${CELL_TYPES.length} cell-type probabilities, got ${probabilities.length}`);
  }
  let best = 0;
  for (let c = 1; c < CELL_TYPES.length; c++) if (probabilities[c] > probabilities[best]) best = c;
  const confidence = probabilities[best];
  const likeliest = CELL_TYPES[best];
  return {
    cellType: confidence >= threshold ? likeliest : UNCERTAIN,
    likeliest,
    confidence,
    probabilities: Object.fromEntries(CELL_TYPES.map((t, i) => [t, probabilities[i]])) as Record<CellType, number>,
    threshold,
  };
}
