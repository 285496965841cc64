// Test-time views of a cell's crop: the orientations whose predictions the classifier averages. A
// cell has no preferred orientation and training shows every flip and quarter turn, so averaging over
// them removes a source of noise at the cost of one forward pass per view.
import * as tf from '@tensorflow/tfjs-core';

/**
 * 'none': the crop alone; 'flips': it and its horizontal, vertical and double flips (4 views);
 * 'dihedral': those and their transposes, i.e. every flip and quarter turn (8 views).
 */
export const CELL_VIEWS = ['none', 'flips', 'dihedral'] as const;
export type CellViews = (typeof CELL_VIEWS)[number];

/** The transforms of a square [n, h, w, c] crop batch that make each view, the identity first. */
export function viewTransforms(views: CellViews): Array<(x: tf.Tensor) => tf.Tensor> {
  const flips: Array<(x: tf.Tensor) => tf.Tensor> = [(x) => x, (x) => tf.reverse(x, [2]), (x) => tf.reverse(x, [1]), (x) => tf.reverse(x, [1, 2])];
  if (views === 'none') return flips.slice(0, 1);
  if (views === 'flips') return flips;
  return [...flips, ...flips.map((flip) => (x: tf.Tensor) => flip(tf.transpose(x, [0, 2, 1, 3])))];
}

/**
 * The views a classifier's model.json asks for: its cellType.views, else the older flag
 * inference.tta (true: 'flips'). `override` is a command's --tta (the model's views, at least the
 * flips) or --no-tta ('none').
 */
export function viewsFor(saved: { views?: CellViews }, inferenceTta: boolean | undefined, override?: boolean): CellViews {
  const own: CellViews = saved.views ?? (inferenceTta ? 'flips' : 'none');
  if (override === undefined) return own;
  return override ? (own === 'none' ? 'flips' : own) : 'none';
}
