// Plain-text rendering of SegmentationMetrics for the terminal: an aligned Dice/IoU table
// plus pixel accuracy and the study's headline global soft Dice.
import { SCORE_KEYS, type ScoreKey, type SegmentationMetrics } from './scores.js';

/** Human labels of the score rows, shared with the HTML report. */
export const SCORE_LABELS: Record<ScoreKey, string> = {
  background: 'background',
  cytoplasm: 'cytoplasm',
  nucleus: 'nucleus',
  mean: 'mean',
  foreground: 'foreground',
  wholeCell: 'whole cell',
};

/** Label of the headline metric, named so that readers can match it to the study's 0.942. */
export const SOFT_DICE_LABEL = "global soft Dice (the study's MeanDice)";

/** A score with 4 decimals; NaN/null/undefined as "n/a". */
export function formatScore(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(4);
}

/**
 * For example:
 *   class        Dice     IoU
 *   background   0.9876   0.9755
 *   ...
 *   pixel accuracy: 0.9812
 *   global soft Dice (the study's MeanDice): 0.9420
 */
export function formatMetricsTable(m: SegmentationMetrics): string {
  const header = ['class', 'Dice', 'IoU'];
  const rows = SCORE_KEYS.map((key) => [SCORE_LABELS[key], formatScore(m.dice[key]), formatScore(m.iou[key])]);
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => row[col]!.length)));
  // Label column left-aligned, numbers right-aligned so decimal points line up.
  const line = (row: string[]): string =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('   ');
  const rule = '-'.repeat(line(header).length);
  const softDice =
    m.globalSoftDice === null ? 'n/a (no softmax probabilities given)' : formatScore(m.globalSoftDice);
  return [
    `${m.images} image${m.images === 1 ? '' : 's'}, ${m.pixels} pixels`,
    line(header),
    rule,
    ...rows.slice(0, 3).map(line),
    rule,
    ...rows.slice(3).map(line),
    '',
    `pixel accuracy: ${formatScore(m.pixelAccuracy)}`,
    `${SOFT_DICE_LABEL}: ${softDice}`,
  ].join('\n');
}
