// Texture of a cell's nucleus and cytoplasm, measured on the classifier's crop (its working scale and,
// with stain standardisation, its standard colours): granules, vacuoles and chromatin show as fine
// grey-level variation that the shape and mean-stain features do not see. Pure.
import type { LabelMask, RgbImage } from '../data/types.js';

/**
 * Per region (nucleus, cytoplasm): 'Texture' is the mean absolute 4-neighbour Laplacian of the grey
 * level (0-1) over the region's pixels whose four neighbours are in the region too (fine structure:
 * granules, clumped chromatin); 'Spread' the standard deviation of the grey level over the region
 * (coarser variation: vacuoles, pale and dark parts).
 */
export const TEXTURE_FEATURE_NAMES = ['nucleusTexture', 'nucleusSpread', 'cytoplasmTexture', 'cytoplasmSpread'] as const;

const NUCLEUS = 2;
const CYTOPLASM = 1;

/** The texture features of the crop's regions, in TEXTURE_FEATURE_NAMES order; NaN for a region without pixels (or interior pixels, for 'Texture'). */
export function cropTexture(image: RgbImage, mask: LabelMask): Float32Array {
  const { width, height } = mask;
  if (image.width !== width || image.height !== height) throw new Error(`cropTexture: image ${image.width}x${image.height} and mask ${width}x${height} disagree`);
  const grey = new Float32Array(width * height);
  for (let p = 0; p < grey.length; p++) grey[p] = (image.data[p * 3] + image.data[p * 3 + 1] + image.data[p * 3 + 2]) / 765;
  const region = (label: number): [number, number] => {
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    let interior = 0;
    let laplacian = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        if (mask.data[p] !== label) continue;
        n++;
        sum += grey[p];
        sumSq += grey[p] * grey[p];
        if (x === 0 || y === 0 || x === width - 1 || y === height - 1) continue;
        const around = [p - 1, p + 1, p - width, p + width];
        if (around.some((q) => mask.data[q] !== label)) continue;
        interior++;
        laplacian += Math.abs(4 * grey[p] - around.reduce((s, q) => s + grey[q], 0));
      }
    }
    const spread = n === 0 ? Number.NaN : Math.sqrt(Math.max(0, sumSq / n - (sum / n) ** 2));
    return [interior === 0 ? Number.NaN : laplacian / interior, spread];
  };
  return Float32Array.from([...region(NUCLEUS), ...region(CYTOPLASM)]);
}
