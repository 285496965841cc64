// Plain-text and HTML tables of classifier scores, for the terminal (`evaluate`, `train`, `cv`) and the
// reports: the headline figures per data set and pooled, and the per-type table, where a type with
// too few cells to judge says so beside its numbers instead of vanishing into an average.
import { escapeHtml } from '../report/html.js';
import { CELL_TYPES } from './cell-types.js';
import type { ClassScores } from './metrics.js';
import type { CellScores } from './score.js';

/** Fewer true cells than this and a type's figures are flagged as anecdotal. */
export const FEW_CELLS = 10;

const f3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));

/** One line per scored set: cells, accuracy, balanced accuracy, macro-F1 (present types, and the four main ones), confident cells. */
export function headlineRows(sets: ReadonlyArray<{ name: string; scores: CellScores }>): string[][] {
  return sets.map(({ name, scores: s }) => [
    name,
    String(s.cells),
    f3(s.metrics.accuracy),
    f3(s.metrics.balancedAccuracy),
    f3(s.metrics.macroF1),
    f3(s.macroF1Main),
    Number.isFinite(s.confident.threshold) ? `${s.confident.cells} (${f3(s.confident.accuracy)})` : '–',
    String(s.untyped),
  ]);
}

export const HEADLINE_HEADER = ['data', 'cells', 'accuracy', 'balanced acc.', 'macro-F1', 'macro-F1 (4 main)', 'confident (their acc.)', 'untyped'];

/** Per type: true cells, predicted cells, precision, recall, F1, and a note when there are too few. */
export function perClassRows(perClass: Record<string, ClassScores>): string[][] {
  return CELL_TYPES.map((t) => {
    const c = perClass[t];
    const note = c.support === 0 ? 'no cells of this type' : c.support < FEW_CELLS ? `only ${c.support} cell(s): no claim` : '';
    return [t, String(c.support), String(c.predicted), f3(c.precision), f3(c.recall), f3(c.f1), note];
  });
}

export const PER_CLASS_HEADER = ['type', 'true', 'predicted', 'precision', 'recall', 'F1', ''];

/** An aligned text table (first column left, the rest right). */
export function textTable(header: readonly string[], rows: readonly string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), '-'.repeat(line(header).length), ...rows.map(line)].join('\n');
}

export function htmlTable(header: readonly string[], rows: readonly string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>\n${rows
    .map((r) => `<tr>${r.map((v, i) => (i === 0 ? `<th>${escapeHtml(v)}</th>` : `<td>${escapeHtml(v)}</td>`)).join('')}</tr>`)
    .join('\n')}\n</tbody></table>`;
}

/** The confusion matrix as text: rows true types, columns predicted ones. */
export function confusionText(confusion: number[][]): string {
  const short = CELL_TYPES.map((t) => t.slice(0, 5));
  return textTable(['true \\ predicted', ...short], confusion.map((row, i) => [CELL_TYPES[i], ...row.map(String)]));
}
