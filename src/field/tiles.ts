// The tiling of a field at the working scale: where square tiles start so that neighbours overlap,
// and the tapered weight that blends overlapping predictions into one without seams (Cellpose's
// design). Pure.

/**
 * Starts of tiles of `size` along an axis of `length` so that neighbours overlap by at least
 * `overlap`: evenly spread from 0 to length - size. An axis no longer than a tile gets one tile at 0
 * (the tile reaches past the end; the window code reflects the image there).
 */
export function tileStarts(length: number, size: number, overlap: number): number[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`tileStarts: length must be a whole number >= 1, got ${length}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) throw new Error(`tileStarts: overlap must be 0..${size - 1}, got ${overlap}`);
  if (length <= size) return [0];
  const count = Math.ceil((length - overlap) / (size - overlap));
  const last = length - size;
  return Array.from({ length: count }, (_, i) => Math.round((i * last) / (count - 1)));
}

/**
 * Weight of each of the `size` positions across a tile: a raised cosine from near 0 at the tile's
 * edge to 1 at `overlap` from it, flat in between. Where two tiles overlap, the weights of both
 * sum to about 1, so the blend slides from one tile's prediction to the other's instead of jumping at
 * a tile edge, and the pixels near a tile's edge (where the network sees the least context) count the
 * least. Never 0, so a pixel that only one tile covers (the field's own edge) keeps that tile's output.
 */
export function taperWeights(size: number, overlap: number): Float32Array {
  const weights = new Float32Array(size);
  const ramp = Math.max(1, overlap);
  for (let i = 0; i < size; i++) {
    const fromEdge = Math.min(i, size - 1 - i) + 0.5;
    weights[i] = fromEdge >= ramp ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * fromEdge) / ramp);
  }
  return weights;
}
