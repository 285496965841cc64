// Field mode on synthetic smear fields made of Dataset 1 and 2 test crops (and one of validation
// crops that once broke the cell-size probe): 2x2, 3x3 and 4x3 mosaics on a background of the crops' own, one cell cut by the field's edge): every cell is found,
// none is invented, and each whole cell is segmented as well as its crop alone. "Its crop alone" is
// the crop's rectangle of the field segmented in crop mode, and, since where a lab cuts its crop is
// arbitrary by a pixel or two, also that rectangle moved by up to 2 px; a cell is compared with the
// worst of those. On average over a field's whole cells, nucleus, cytoplasm and whole-cell Dice are
// within 0.01 of the crops alone; every cell's nucleus Dice is within 0.01, its whole-cell Dice
// within 0.015 and its cytoplasm Dice within 0.03: a thin rim moves by more than 0.01 between one
// crop and the same crop cut 2 px off (Dataset 2 040: 0.856-0.880), a tight Dataset 1 crop has
// the field's background right at its cell's edge where crop mode reflects the crop, and the field's
// own estimate of the cell size is a few percent off the scale a lab's crops were cut at. Each cell
// outside 0.01 of its unmoved crop is printed with its figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { recordedSplits } from '../models/io.js';
import { sharedDataRoot } from '../testing/paths.js';
import { UNCERTAIN } from '../classify/cell-types.js';
import { buildMosaic, readCrop, type Mosaic } from '../testing/field-mosaic.js';
import { checkMosaicField, checkTouchingPair, formatDice, MEAN_TOLERANCE, mosaicFieldProblems, wholeCellMeans, CLASSES } from '../testing/field-check.js';

/** Dataset 2's test crop 045: another white cell touches its cell, which the data set's mask leaves unlabelled (field mode finds it). */
const NOT_ALONE = new Set(['045']);

let seg: Segmenter;
before(async () => {
  seg = await loadSegmenter();
});
after(() => seg.dispose());

async function mosaicOf(dataset: string, first: number, columns: number, rows: number, width: number, height: number, seed: number, part: 'test' | 'validation'): Promise<Mosaic> {
  const split = recordedSplits(seg.metadata).find((s) => s.dataset === dataset)!;
  const ids = (part === 'test' ? split.testIds : split.validationIds ?? []).filter((id) => !NOT_ALONE.has(id)).slice(first, first + columns * rows);
  const crops = await Promise.all(ids.map((id) => readCrop(join(sharedDataRoot(), dataset), id)));
  return buildMosaic(crops, { width, height, columns, rows, seed, cutLast: 0.35 });
}

const FIELDS = [
  { dataset: 'Dataset 1', first: 0, columns: 4, rows: 3, width: 640, height: 480, seed: 3, part: 'test' },
  { dataset: 'Dataset 1', first: 12, columns: 3, rows: 3, width: 480, height: 480, seed: 8, part: 'test' },
  { dataset: 'Dataset 2', first: 0, columns: 2, rows: 2, width: 700, height: 700, seed: 9, part: 'test' },
  { dataset: 'Dataset 2', first: 4, columns: 3, rows: 3, width: 1000, height: 1000, seed: 10, part: 'test' },
  // The largest probe took this field for one cell of 1108 px (73 working px, all of it cut by the
  // field's edge), nearer the working size than the 150 px probe's nine whole cells, and the field
  // came out as that one "cell" (segment-field.ts now ranks such probes last).
  { dataset: 'Dataset 2', first: 2, columns: 3, rows: 3, width: 1000, height: 1000, seed: 10, part: 'validation' },
] as const;

for (const f of FIELDS) {
  test(`${f.dataset}, a ${f.columns}x${f.rows} field of ${f.width}x${f.height} (${f.part} crops): every cell found, none invented, each as good as its crop alone`, async (t) => {
    const m = await mosaicOf(f.dataset, f.first, f.columns, f.rows, f.width, f.height, f.seed, f.part);
    const check = await checkMosaicField(seg, m);
    t.diagnostic(`${check.cells.length} cells; cell diameter ${check.cellDiameter?.toFixed(1)} px (${check.cellDiameterSource})`);
    let strict = 0;
    const types = { cells: 0, same: 0 };
    for (const c of check.cells) {
      if (c.cut) {
        t.diagnostic(`${c.id} (cut by the edge): ${formatDice(c.field)}`);
        continue;
      }
      // The type: the field's cell is typed in a window framed as a crop (classify/field-view.ts). A
      // cell may come out otherwise only where field or crop is unsure of it (below the threshold).
      types.cells++;
      const [inField, inCrop] = [c.typeInField!, c.typeAlone!];
      if (inField.likeliest === inCrop.likeliest) types.same++;
      else {
        const what = `${c.id}: ${inField.likeliest} (${inField.confidence.toFixed(2)}) in the field, ${inCrop.likeliest} (${inCrop.confidence.toFixed(2)}) alone`;
        t.diagnostic(what);
        assert.ok(inField.cellType === UNCERTAIN || inCrop.cellType === UNCERTAIN, `typed otherwise with confidence: ${what}`);
      }
      if (CLASSES.every((k) => c.field[k] >= c.alone[0]![k] - MEAN_TOLERANCE)) strict++;
      else t.diagnostic(`${c.id}: field ${formatDice(c.field)}, crop alone ${c.alone.map(formatDice).join(' · ')} (nucleus/cytoplasm/whole cell)`);
    }
    assert.deepEqual(mosaicFieldProblems(check), []);
    const { field, alone } = wholeCellMeans(check);
    t.diagnostic(`${strict} of ${types.cells} whole cells within ${MEAN_TOLERANCE} of the unmoved crop alone in all three; mean Dice field ${formatDice(field)}, crops alone ${formatDice(alone)}`);
    t.diagnostic(`type: ${types.same} of ${types.cells} whole cells given the likeliest type of their crop alone`);
  });
}

/**
 * Pairs of Dataset 1 test crops whose cells are pressed together (no background between them where
 * they come closest), each pair alone on a 640 x 480 field; a pair counts as apart when it gives
 * exactly its two cells, each with whole-cell Dice >= 0.93. Measured as of writing, 3 of the 5 in
 * either case. With the cell size given, 153 and 010 (pressed along a wide border) are taken for one
 * cell, and 197 and 110 are parted off their true border (110: whole-cell Dice 0.89). With the size
 * measured, 204 + 267 and 197 + 110 are not found at all: at Dataset 1's magnification the first
 * probe shows the cells at 33 model px, about the smallest the model finds, and a field of only two
 * such cells can be missed. A weak spot, held here so that it does not get worse.
 */
const TOUCHING = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]] as const;
const TOUCHING_SEPARATED = { given: 3, measured: 3 } as const;

test('two white cells that touch come out as two, parted where they meet', { timeout: 300_000 }, async (t) => {
  const split = recordedSplits(seg.metadata).find((s) => s.dataset === 'Dataset 1')!;
  const separated = { given: 0, measured: 0 };
  for (const [i, j] of TOUCHING) {
    const [first, second] = [split.testIds[i]!, split.testIds[j]!];
    const [a, b] = await Promise.all([first, second].map((id) => readCrop(join(sharedDataRoot(), 'Dataset 1'), id)));
    for (const how of ['given', 'measured'] as const) {
      const pair = await checkTouchingPair(seg, a!, b!, how === 'given' ? 75 : undefined);
      assert.ok(pair.contact > 0, `${first} and ${second} do not touch`);
      if (pair.apart) separated[how]++;
      t.diagnostic(`${first} touching ${second}, cell size ${how}: ${pair.cells} cells${pair.dice.map((d) => (d ? `; ${formatDice(d)}` : '; missed')).join('')}`);
    }
  }
  for (const how of ['given', 'measured'] as const) {
    assert.ok(separated[how] >= TOUCHING_SEPARATED[how], `cell size ${how}: ${separated[how]} of ${TOUCHING.length} touching pairs came apart as their two cells`);
  }
});
