// The class colour palette shared by prediction grids, legends and the HTML report, so a
// nucleus is the same purple in every figure.
import { CLASS_NAMES, type ClassName } from '../data/types.js';

export type Rgb = readonly [number, number, number];

/**
 * Background dark gray rather than black so panel edges stay visible; cytoplasm light blue and
 * nucleus magenta-purple, which stay distinct for the common red-green colour blindnesses.
 */
export const CLASS_COLORS: Record<ClassName, Rgb> = {
  background: [38, 38, 38],
  cytoplasm: [130, 200, 255],
  nucleus: [170, 40, 190],
};

/** Colours by class index (0 background, 1 cytoplasm, 2 nucleus). */
export const PALETTE: readonly Rgb[] = CLASS_NAMES.map((name) => CLASS_COLORS[name]);

/** "#rrggbb" for SVG and CSS. */
export function rgbToHex([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}
