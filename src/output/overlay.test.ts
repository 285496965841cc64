// Outline overlay on a hand-made mask: which pixels are painted, which stay as they were, the
// image edge, wider outlines, and a PNG round trip through sharp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { RgbImage } from '../data/types.js';
import { OVERLAY_COLORS, renderOverlay } from './overlay.js';
import { maskFromRows as mask } from '../testing/masks.js';

const PINK: [number, number, number] = [230, 180, 200];

/** A uniform image, each pixel a slightly different shade so moved pixels would show. */
function image(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set([PINK[0], PINK[1], (PINK[2] + p) % 256], p * 3);
  return { width, height, data };
}

/** 'C' cell outline colour, 'N' nucleus outline colour, '-' the original pixel. */
function paint(original: RgbImage, out: RgbImage): string[] {
  const rows: string[] = [];
  for (let y = 0; y < out.height; y++) {
    let row = '';
    for (let x = 0; x < out.width; x++) {
      const p = (y * out.width + x) * 3;
      const rgb = [...out.data.subarray(p, p + 3)];
      if (rgb.every((v, c) => v === OVERLAY_COLORS.cell[c])) row += 'C';
      else if (rgb.every((v, c) => v === OVERLAY_COLORS.nucleus[c])) row += 'N';
      else if (rgb.every((v, c) => v === original.data[p + c])) row += '-';
      else row += '?';
    }
    rows.push(row);
  }
  return rows;
}

test('outlines: cell edge in the cell colour, nucleus edge in the nucleus colour, the rest unchanged', () => {
  const cases: { name: string; rows: string[]; expected: string[]; outlineWidth?: number }[] = [
    {
      // The cytoplasm ring's outer pixels touch background; the nucleus 3x3's ring touches cytoplasm;
      // the nucleus centre and the cytoplasm between the two outlines are interior.
      name: 'cell with nucleus',
      rows: ['.........', '.ccccccc.', '.ccccccc.', '.ccnnncc.', '.ccnnncc.', '.ccnnncc.', '.ccccccc.', '.ccccccc.', '.........'],
      expected: ['---------', '-CCCCCCC-', '-C-----C-', '-C-NNN-C-', '-C-N-N-C-', '-C-NNN-C-', '-C-----C-', '-CCCCCCC-', '---------'],
    },
    {
      // Nucleus reaching the background: the nucleus colour wins on its edge.
      name: 'nucleus on the cell edge',
      rows: ['.....', '.nnc.', '.nnc.', '.ccc.', '.....'],
      expected: ['-----', '-NNC-', '-NNC-', '-CCC-', '-----'],
    },
    {
      // The image edge is not an outline: the cell cut by the left edge stays open there.
      name: 'cut by the image edge',
      rows: ['ccc..', 'ccc..', 'ccc..', 'ccc..'],
      expected: ['--C--', '--C--', '--C--', '--C--'],
    },
    {
      // Width 2: a 7x7 cell keeps its 3x3 middle, every pixel of which has the radius-2 disk inside the cell.
      name: 'width 2',
      outlineWidth: 2,
      rows: ['.........', '.ccccccc.', '.ccccccc.', '.ccccccc.', '.ccccccc.', '.ccccccc.', '.ccccccc.', '.ccccccc.', '.........'],
      expected: ['---------', '-CCCCCCC-', '-CCCCCCC-', '-CC---CC-', '-CC---CC-', '-CC---CC-', '-CCCCCCC-', '-CCCCCCC-', '---------'],
    },
  ];
  for (const c of cases) {
    const m = mask(c.rows);
    const img = image(m.width, m.height);
    const before = new Uint8Array(img.data);
    const out = renderOverlay(img, m, c.outlineWidth === undefined ? undefined : { outlineWidth: c.outlineWidth });
    assert.deepEqual(paint(img, out), c.expected, c.name);
    assert.deepEqual(img.data, before, `${c.name}: input unchanged`);
    assert.equal(out.width, m.width);
    assert.equal(out.height, m.height);
  }
});

test('size checks', () => {
  const m = mask(['..', '..']);
  assert.throws(() => renderOverlay(image(3, 2), m), /mask is 2x2 but the image is 3x2/);
  assert.throws(() => renderOverlay(image(2, 2), m, { outlineWidth: 0 }), /outlineWidth/);
});

test('the overlay survives a PNG round trip through sharp', async () => {
  const m = mask(['......', '.cccc.', '.cnnc.', '.cnnc.', '.cccc.', '......']);
  const out = renderOverlay(image(6, 6), m);
  const png = await sharp(Buffer.from(out.data), { raw: { width: 6, height: 6, channels: 3 } }).png().toBuffer();
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [6, 6, 3]);
  assert.deepEqual(new Uint8Array(data), out.data);
});
