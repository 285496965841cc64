// Field-like context for augmentation: a training square shown as a window of a 3x3 arrangement of
// squares of its own source, itself in the middle, the window shifted off its centre. In a field,
// stage 2 segments each cell in one model input centred on it, beside parts of its neighbours; a model
// trained only on crops alone never saw a neighbour at its edge nor its cell off the crop's centre.
// Pure; new arrays out.
//
//   const out = amongNeighbours(centre, eightOthers, 20, -7);   // the window 20 px right, 7 px up of centre
//   out.mask;   // the centre square's labels; its neighbours' pixels background (or 'kept': theirs)
import type { ImageMaskPair, LabelMask, RgbImage } from './types.js';

/**
 * What a neighbour's pixels are labelled: 'background', as a crop's truth labels the part of another
 * cell at its edge (so crops and windows teach the same thing), or 'kept', each a cell as in a field.
 */
export type NeighbourLabels = 'background' | 'kept';

/**
 * The `centre` pair's square among `neighbours` (8 pairs of the same size, row by row around the
 * middle: top-left, top, top-right, left, right, bottom-left, bottom, bottom-right), cut as one square
 * of that size shifted by (`offsetX`, `offsetY`) pixels from the middle, the neighbours' pixels
 * labelled as `labels` says. Offsets are rounded and limited to half a side, so the window always
 * holds at least a quarter of the centre square.
 */
export function amongNeighbours(
  centre: ImageMaskPair,
  neighbours: readonly ImageMaskPair[],
  offsetX: number,
  offsetY: number,
  labels: NeighbourLabels = 'background',
): ImageMaskPair {
  const size = centre.image.width;
  if (neighbours.length !== 8) throw new Error(`amongNeighbours: needs 8 neighbours, got ${neighbours.length}`);
  for (const p of [centre, ...neighbours]) {
    if (p.image.width !== size || p.image.height !== size || p.mask.width !== size || p.mask.height !== size) {
      throw new Error(`amongNeighbours: every image and mask must be ${size}x${size}, got ${p.image.width}x${p.image.height} and ${p.mask.width}x${p.mask.height}`);
    }
  }
  const limit = Math.floor(size / 2);
  const dx = Math.max(-limit, Math.min(limit, Math.round(offsetX)));
  const dy = Math.max(-limit, Math.min(limit, Math.round(offsetY)));
  const grid = [...neighbours.slice(0, 4), centre, ...neighbours.slice(4)];
  const image: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  const mask: LabelMask = { width: size, height: size, data: new Uint8Array(size * size) };
  for (let y = 0; y < size; y++) {
    const gy = size + dy + y;
    const row = Math.floor(gy / size);
    const ty = gy - row * size;
    for (let x = 0; x < size; x++) {
      const gx = size + dx + x;
      const column = Math.floor(gx / size);
      const tx = gx - column * size;
      const tile = grid[row * 3 + column];
      const from = ty * size + tx;
      const to = y * size + x;
      for (let ch = 0; ch < 3; ch++) image.data[to * 3 + ch] = tile.image.data[from * 3 + ch];
      mask.data[to] = tile === centre || labels === 'kept' ? tile.mask.data[from] : 0;
    }
  }
  return { image, mask };
}
