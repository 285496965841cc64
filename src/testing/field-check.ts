// The field-mode checks of src/field/field.test.ts and field-large.test.ts as functions, so that the
// same rules judge a candidate model on mosaics of its *validation* crops (scripts/field-validation.mjs)
// before any test crop is looked at: a model is chosen on validation images, and the tests on the
// recorded test crops then only confirm or refuse it.
//
//   const check = await checkMosaicField(seg, mosaic);      // segments the field and each crop alone
//   const problems = mosaicFieldProblems(check);             // [] when every rule holds
import type { Segmenter } from '../infer/segmenter.js';
import type { CellTypeResult } from '../classify/cell-types.js';
import { buildTouchingPair, cellDice, matchCells, rectOf, type Crop, type Mosaic } from './field-mosaic.js';

export type CellDice = ReturnType<typeof cellDice>;
export const CLASSES = ['nucleus', 'cytoplasm', 'wholeCell'] as const;

/** Each crop alone is its field rectangle and that rectangle moved by these (a lab's cut is arbitrary by a pixel or two). */
export const SHIFTS: ReadonlyArray<readonly [number, number]> = [[0, 0], [2, 1], [-1, -2]];
/** Of the field's mean over its whole cells against the unmoved crops alone. */
export const MEAN_TOLERANCE = 0.01;
/** Of each whole cell against the worst of its crops alone. */
export const PER_CELL = { nucleus: 0.01, wholeCell: 0.015, cytoplasm: 0.03 } as const;
/** A cell cut by the field's edge: whole-cell Dice over its visible part. */
export const CUT_CELL_MIN = 0.8;

export interface CellCheck {
  id: string;
  /** Cut by the field's edge (the mosaic's last crop). */
  cut: boolean;
  flaggedTouchesBorder: boolean;
  field: CellDice;
  /** Its crop alone at each of SHIFTS (empty for a cut cell). */
  alone: CellDice[];
  typeInField: CellTypeResult | null;
  typeAlone: CellTypeResult | null;
}

export interface MosaicFieldCheck {
  /** The mode 'auto' chose ('field' for a field) and where the cell size came from ('estimated'). */
  mode: string;
  cellDiameterSource: string | null;
  cellDiameter: number | null;
  missed: string[];
  /** Two truth cells taken for one found cell. */
  merged: boolean;
  extra: number[];
  /** The cells found (missed ones left out). */
  cells: CellCheck[];
}

/** Segments the mosaic as `segment` would (mode and cell size its own choice) and each found cell's crop alone. */
export async function checkMosaicField(seg: Segmenter, m: Mosaic): Promise<MosaicFieldCheck> {
  const r = await seg.segment({ ...m.image, channels: 3 });
  const { match, extra } = matchCells(m.instances, r.instances, m.placed.length, r.cells.length);
  const cells: CellCheck[] = [];
  for (const [i, placed] of m.placed.entries()) {
    if (match[i] === 0) continue;
    const found = r.cells[match[i] - 1];
    const home = { x: placed.x, y: placed.y, width: placed.crop.image.width, height: placed.crop.image.height };
    const area = rectOf(m, i + 1, home);
    const predicted = new Uint8Array(area.truth.length);
    for (let y = 0; y < area.rect.height; y++) {
      for (let x = 0; x < area.rect.width; x++) {
        const p = (area.rect.y + y) * m.image.width + area.rect.x + x;
        if (r.instances[p] === found.index) predicted[y * area.rect.width + x] = r.mask.data[p];
      }
    }
    const cut = i === m.placed.length - 1 && (placed.x + home.width > m.image.width || placed.x < 0);
    const alone: CellDice[] = [];
    let typeAlone: CellTypeResult | null = null;
    if (!cut) {
      for (const [s, [dx, dy]] of SHIFTS.entries()) {
        const moved = rectOf(m, i + 1, { ...home, x: home.x + dx, y: home.y + dy });
        // At the model's own fit, as a lab's crops of one magnification are: the field too has one scale
        // for all its cells, where crop mode's estimate may bring one crop's cell to another (Dataset 2 040).
        const a = await seg.segment({ ...moved.image, channels: 3 }, { mode: 'crop', cellDiameter: 'native' });
        if (s === 0) typeAlone = a.cellType;
        alone.push(cellDice(a.mask.data, moved.truth));
      }
    }
    cells.push({
      id: placed.crop.id, cut, flaggedTouchesBorder: found.stats.warnings.includes('touches-border'),
      field: cellDice(predicted, area.truth), alone, typeInField: found.cellType, typeAlone,
    });
  }
  return { mode: r.mode, cellDiameterSource: r.cellDiameterSource ?? null, cellDiameter: r.cellDiameter ?? null, missed: m.placed.filter((_, i) => match[i] === 0).map((p) => p.crop.id), merged: new Set(match.filter((k) => k !== 0)).size !== match.filter((k) => k !== 0).length, extra, cells };
}

export function formatDice(d: CellDice): string {
  return `${d.nucleus.toFixed(3)}/${d.cytoplasm.toFixed(3)}/${d.wholeCell.toFixed(3)}`;
}

/** Mean Dice over the whole (not cut) cells: in the field, and of their unmoved crops alone. */
export function wholeCellMeans(check: MosaicFieldCheck): { field: CellDice; alone: CellDice } {
  const whole = check.cells.filter((c) => !c.cut);
  const mean = (pick: (c: CellCheck) => CellDice): CellDice => {
    const sum = { nucleus: 0, cytoplasm: 0, wholeCell: 0 };
    for (const c of whole) for (const k of CLASSES) sum[k] += pick(c)[k] / whole.length;
    return sum;
  };
  return { field: mean((c) => c.field), alone: mean((c) => c.alone[0]) };
}

/** The rules a field must keep (see field.test.ts), each broken one as a sentence naming the cell. */
export function mosaicFieldProblems(check: MosaicFieldCheck): string[] {
  const problems: string[] = [];
  if (check.mode !== 'field' || check.cellDiameterSource !== 'estimated') problems.push(`segmented as ${check.mode} with the cell size ${check.cellDiameterSource}, not as a field with it estimated`);
  if (check.missed.length > 0) problems.push(`cells missed: ${check.missed.join(', ')}`);
  if (check.merged) problems.push('two truth cells taken for one');
  if (check.extra.length > 0) problems.push(`cells found where there is none: ${check.extra.length}`);
  for (const c of check.cells) {
    if (c.cut) {
      if (!c.flaggedTouchesBorder) problems.push(`${c.id}: cut by the edge but not flagged`);
      if (c.field.wholeCell < CUT_CELL_MIN) problems.push(`${c.id} (cut): whole-cell Dice ${c.field.wholeCell.toFixed(3)} over its visible part`);
      continue;
    }
    if (c.flaggedTouchesBorder) problems.push(`${c.id}: flagged touches-border inside the field`);
    for (const k of CLASSES) {
      if (c.field[k] < Math.min(...c.alone.map((d) => d[k])) - PER_CELL[k]) {
        problems.push(`${c.id}: ${k}, field ${formatDice(c.field)}, crop alone ${c.alone.map(formatDice).join(' · ')} (nucleus/cytoplasm/whole cell)`);
      }
    }
  }
  if (check.cells.some((c) => !c.cut)) {
    const { field, alone } = wholeCellMeans(check);
    for (const k of CLASSES) if (field[k] < alone[k] - MEAN_TOLERANCE) problems.push(`mean ${k} Dice: field ${formatDice(field)}, crops alone ${formatDice(alone)}`);
  }
  return problems;
}

export interface TouchingPairCheck {
  cells: number;
  /** Each truth cell's Dice, null when missed. */
  dice: Array<CellDice | null>;
  /** Exactly its two cells, each with whole-cell Dice >= 0.93. */
  apart: boolean;
}

/** Two crops' cells pressed together on a 640 x 480 field, segmented with the cell size given or measured. */
export async function checkTouchingPair(seg: Segmenter, a: Crop, b: Crop, cellDiameter: number | undefined): Promise<TouchingPairCheck & { contact: number }> {
  const m = buildTouchingPair(a, b, { gap: 0, width: 640, height: 480 });
  let contact = 0;
  for (let p = 0; p + 1 < m.instances.length; p++) if (m.instances[p] === 1 && m.instances[p + 1] === 2) contact++;
  const r = await seg.segment({ ...m.image, channels: 3 }, { mode: 'field', cellDiameter });
  const { match, extra } = matchCells(m.instances, r.instances, 2, r.cells.length);
  const dice = [1, 2].map((k) => match[k - 1] === 0 ? null : cellDice(
    Uint8Array.from(r.mask.data, (v, p) => (r.instances[p] === match[k - 1] ? v : 0)),
    Uint8Array.from(m.mask.data, (v, p) => (m.instances[p] === k ? v : 0)),
  ));
  const apart = r.cells.length === 2 && extra.length === 0 && match[0] !== match[1] && dice.every((d) => d !== null && d.wholeCell >= 0.93);
  return { cells: r.cells.length, dice, apart, contact };
}

/** The bounding box of each of the `count` instances of a label image `width` pixels wide. */
export function boxesOf(instances: Uint16Array, width: number, count: number): Array<{ width: number; height: number }> {
  const [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1].map((v) => new Array<number>(count + 1).fill(v));
  for (let p = 0; p < instances.length; p++) {
    const k = instances[p]!;
    if (k === 0) continue;
    const [x, y] = [p % width, Math.floor(p / width)];
    x0[k] = Math.min(x0[k]!, x);
    y0[k] = Math.min(y0[k]!, y);
    x1[k] = Math.max(x1[k]!, x);
    y1[k] = Math.max(y1[k]!, y);
  }
  return Array.from({ length: count }, (_, i) => ({ width: x1[i + 1]! - x0[i + 1]! + 1, height: y1[i + 1]! - y0[i + 1]! + 1 }));
}

/** A found box within this share of the true cell's box on each side (field-large.test.ts says why). */
export const BOX_TOLERANCE = 0.2;
/** A large field's cell against its crop alone: whole-cell and nucleus Dice at least this. */
export const LARGE_FIELD_AGREEMENT = 0.95;

export function boxNear(found: { width: number; height: number }, truth: { width: number; height: number }): boolean {
  const near = (f: number, want: number) => Math.abs(f - want) <= BOX_TOLERANCE * want;
  return near(found.width, truth.width) && near(found.height, truth.height);
}
