// Field mode on synthetic smear fields made of Dataset 1 and 2 test crops (2x2, 3x3 and 4x3
// mosaics on a background of the crops' own, one cell cut by the field's edge): every cell is found,
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
import { UNCERTAIN, type CellTypeResult } from '../classify/cell-types.js';
import { buildMosaic, buildTouchingPair, cellDice, matchCells, readCrop, rectOf, type Mosaic } from '../testing/field-mosaic.js';

/** Dataset 2's test crop 045: another white cell touches its cell, which the data set's mask leaves unlabelled (field mode finds it). */
const NOT_ALONE = new Set(['045']);
const SHIFTS: ReadonlyArray<readonly [number, number]> = [[0, 0], [2, 1], [-1, -2]];
/** Of the field's mean over its whole cells, and of each cell's nucleus. */
const TOLERANCE = 0.01;
const PER_CELL = { nucleus: 0.01, wholeCell: 0.015, cytoplasm: 0.03 } as const;
const CLASSES = ['nucleus', 'cytoplasm', 'wholeCell'] as const;

let seg: Segmenter;
before(async () => {
  seg = await loadSegmenter();
});
after(() => seg.dispose());

async function mosaicOf(dataset: string, first: number, columns: number, rows: number, width: number, height: number, seed: number): Promise<Mosaic> {
  const split = recordedSplits(seg.metadata).find((s) => s.dataset === dataset)!;
  const ids = split.testIds.filter((id) => !NOT_ALONE.has(id)).slice(first, first + columns * rows);
  const crops = await Promise.all(ids.map((id) => readCrop(join(sharedDataRoot(), dataset), id)));
  return buildMosaic(crops, { width, height, columns, rows, seed, cutLast: 0.35 });
}

const FIELDS = [
  { dataset: 'Dataset 1', first: 0, columns: 4, rows: 3, width: 640, height: 480, seed: 3 },
  { dataset: 'Dataset 1', first: 12, columns: 3, rows: 3, width: 480, height: 480, seed: 8 },
  { dataset: 'Dataset 2', first: 0, columns: 2, rows: 2, width: 700, height: 700, seed: 9 },
  { dataset: 'Dataset 2', first: 4, columns: 3, rows: 3, width: 1000, height: 1000, seed: 10 },
] as const;

for (const f of FIELDS) {
  test(`${f.dataset}, a ${f.columns}x${f.rows} field of ${f.width}x${f.height}: every cell found, none invented, each as good as its crop alone`, async (t) => {
    const m = await mosaicOf(f.dataset, f.first, f.columns, f.rows, f.width, f.height, f.seed);
    const r = await seg.segment({ ...m.image, channels: 3 });
    assert.equal(r.mode, 'field');
    assert.equal(r.cellDiameterSource, 'estimated');
    const { match, extra } = matchCells(m.instances, r.instances, m.placed.length, r.cells.length);
    assert.deepEqual(match.filter((k) => k === 0).length, 0, `cells missed: ${m.placed.filter((_, i) => match[i] === 0).map((p) => p.crop.id)}`);
    assert.equal(new Set(match).size, match.length, 'two truth cells taken for one');
    assert.deepEqual(extra, [], 'cells found where there is none');
    t.diagnostic(`${r.cells.length} cells; cell diameter ${r.cellDiameter!.toFixed(1)} px (estimated)`);
    let strict = 0;
    const types = { cells: 0, same: 0 };
    const sums = { field: { nucleus: 0, cytoplasm: 0, wholeCell: 0 }, alone: { nucleus: 0, cytoplasm: 0, wholeCell: 0 }, cells: 0 };
    for (const [i, placed] of m.placed.entries()) {
      const cut = i === m.placed.length - 1;
      const found = r.cells[match[i] - 1];
      const own = (rect: { x: number; y: number; width: number; height: number }) => {
        const area = rectOf(m, i + 1, rect);
        const predicted = new Uint8Array(area.truth.length);
        for (let y = 0; y < area.rect.height; y++) {
          for (let x = 0; x < area.rect.width; x++) {
            const p = (area.rect.y + y) * m.image.width + area.rect.x + x;
            if (r.instances[p] === found.index) predicted[y * area.rect.width + x] = r.mask.data[p];
          }
        }
        return { area, field: cellDice(predicted, area.truth) };
      };
      const home = { x: placed.x, y: placed.y, width: placed.crop.image.width, height: placed.crop.image.height };
      const { field } = own(home);
      if (cut) {
        assert.ok(found.stats.warnings.includes('touches-border'), `${placed.crop.id}: cut by the edge but not flagged`);
        assert.ok(field.wholeCell >= 0.8, `${placed.crop.id} (cut): whole-cell Dice ${field.wholeCell.toFixed(3)} over its visible part`);
        t.diagnostic(`${placed.crop.id} (cut by the edge): ${fmt(field)}`);
        continue;
      }
      assert.ok(!found.stats.warnings.includes('touches-border'), `${placed.crop.id}: flagged touches-border inside the field`);
      const typesAlone: Array<CellTypeResult | null> = [];
      const alone = await Promise.all(SHIFTS.map(async ([dx, dy], s) => {
        const area = rectOf(m, i + 1, { ...home, x: home.x + dx, y: home.y + dy });
        // At the model's own fit, as a lab's crops of one magnification are: the field too has one scale
        // for all its cells, where crop mode's estimate may bring one crop's cell to another (Dataset 2 040).
        const a = await seg.segment({ ...area.image, channels: 3 }, { mode: 'crop', cellDiameter: 'native' });
        typesAlone[s] = a.cellType;
        return cellDice(a.mask.data, area.truth);
      }));
      // The type: the field's cell is typed in a window framed as a crop (classify/field-view.ts). A
      // cell may come out otherwise only where field or crop is unsure of it (below the threshold).
      types.cells++;
      const [inField, inCrop] = [found.cellType!, typesAlone[0]!];
      if (inField.likeliest === inCrop.likeliest) types.same++;
      else {
        const what = `${placed.crop.id}: ${inField.likeliest} (${inField.confidence.toFixed(2)}) in the field, ${inCrop.likeliest} (${inCrop.confidence.toFixed(2)}) alone`;
        t.diagnostic(what);
        assert.ok(inField.cellType === UNCERTAIN || inCrop.cellType === UNCERTAIN, `typed otherwise with confidence: ${what}`);
      }
      const where = `${placed.crop.id}: field ${fmt(field)}, crop alone ${alone.map(fmt).join(' · ')} (nucleus/cytoplasm/whole cell)`;
      for (const k of CLASSES) {
        assert.ok(field[k] >= Math.min(...alone.map((d) => d[k])) - PER_CELL[k], `${k}, ${where}`);
        sums.field[k] += field[k];
        sums.alone[k] += alone[0][k];
      }
      sums.cells++;
      if (CLASSES.every((k) => field[k] >= alone[0][k] - TOLERANCE)) strict++;
      else t.diagnostic(where);
    }
    const mean = (d: typeof sums.field) => ({ nucleus: d.nucleus / sums.cells, cytoplasm: d.cytoplasm / sums.cells, wholeCell: d.wholeCell / sums.cells });
    const [fieldMean, aloneMean] = [mean(sums.field), mean(sums.alone)];
    for (const k of CLASSES) assert.ok(fieldMean[k] >= aloneMean[k] - TOLERANCE, `mean ${k} Dice: field ${fmt(fieldMean)}, crops alone ${fmt(aloneMean)}`);
    t.diagnostic(`${strict} of ${sums.cells} whole cells within ${TOLERANCE} of the unmoved crop alone in all three; mean Dice field ${fmt(fieldMean)}, crops alone ${fmt(aloneMean)}`);
    t.diagnostic(`type: ${types.same} of ${types.cells} whole cells given the likeliest type of their crop alone`);
  });
}

function fmt(d: { nucleus: number; cytoplasm: number; wholeCell: number }): string {
  return `${d.nucleus.toFixed(3)}/${d.cytoplasm.toFixed(3)}/${d.wholeCell.toFixed(3)}`;
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
    const m = buildTouchingPair(a!, b!, { gap: 0, width: 640, height: 480 });
    let contact = 0;
    for (let p = 0; p + 1 < m.instances.length; p++) if (m.instances[p] === 1 && m.instances[p + 1] === 2) contact++;
    assert.ok(contact > 0, `${first} and ${second} do not touch`);
    for (const how of ['given', 'measured'] as const) {
      const r = await seg.segment({ ...m.image, channels: 3 }, { mode: 'field', cellDiameter: how === 'given' ? 75 : undefined });
      const { match, extra } = matchCells(m.instances, r.instances, 2, r.cells.length);
      const dice = [1, 2].map((k) => match[k - 1] === 0 ? null : cellDice(
        Uint8Array.from(r.mask.data, (v, p) => (r.instances[p] === match[k - 1] ? v : 0)),
        Uint8Array.from(m.mask.data, (v, p) => (m.instances[p] === k ? v : 0)),
      ));
      const apart = r.cells.length === 2 && extra.length === 0 && match[0] !== match[1] && dice.every((d) => d !== null && d.wholeCell >= 0.93);
      if (apart) separated[how]++;
      t.diagnostic(`${first} touching ${second}, cell size ${how}: ${r.cells.length} cells${dice.map((d) => (d ? `; ${fmt(d)}` : '; missed')).join('')}`);
    }
  }
  for (const how of ['given', 'measured'] as const) {
    assert.ok(separated[how] >= TOUCHING_SEPARATED[how], `cell size ${how}: ${separated[how]} of ${TOUCHING.length} touching pairs came apart as their two cells`);
  }
});
