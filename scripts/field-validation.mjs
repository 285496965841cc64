// The field tests' rules (src/testing/field-check.ts) on mosaics of a model's *validation* crops, to
// choose among candidate models before the tests on test crops confirm or refuse the choice:
// a Dataset 1 4x3 and 3x3 field, a Dataset 2 2x2 and 3x3, a Dataset 2 4000x3000 (boxes and agreement
// with each crop alone), and touching pairs of Dataset 1 cells (cell size given and measured).
// Run from the repository after npm run build:dev:
//   node scripts/field-validation.mjs runs/<id>/model [--json]
import { join } from 'node:path';
import { loadSegmenter } from '../dist-dev/infer/segmenter.js';
import { recordedSplits } from '../dist-dev/models/io.js';
import { buildMosaic, cellDice, matchCells, readCrop } from '../dist-dev/testing/field-mosaic.js';
import { boxesOf, boxNear, checkMosaicField, checkTouchingPair, formatDice, LARGE_FIELD_AGREEMENT, mosaicFieldProblems } from '../dist-dev/testing/field-check.js';

const [model, ...rest] = process.argv.slice(2);
if (model === undefined || rest.some((a) => a !== '--json')) throw new Error('usage: node scripts/field-validation.mjs MODEL_DIR [--json] (data: $LEUKOSEG_DATA or ../shared/datasets/segmentation_WBC)');
const root = process.env.LEUKOSEG_DATA ?? '../shared/datasets/segmentation_WBC';
const seg = await loadSegmenter({ model });
const ids = (dataset) => recordedSplits(seg.metadata).find((s) => s.dataset === dataset).validationIds;
const crops = async (dataset, list) => Promise.all(list.map((id) => readCrop(join(root, dataset), id)));
const checks = [];
const record = (name, problems, detail) => {
  checks.push({ name, pass: problems.length === 0, problems, detail });
  if (!rest.includes('--json')) console.log(`${problems.length === 0 ? 'pass' : 'FAIL'}  ${name}  ${detail}${problems.map((p) => `\n      ${p}`).join('')}`);
};

const FIELDS = [
  { dataset: 'Dataset 1', first: 0, columns: 4, rows: 3, width: 640, height: 480, seed: 3 },
  { dataset: 'Dataset 1', first: 12, columns: 3, rows: 3, width: 480, height: 480, seed: 8 },
  { dataset: 'Dataset 2', first: 0, columns: 2, rows: 2, width: 700, height: 700, seed: 9 },
  { dataset: 'Dataset 2', first: 2, columns: 3, rows: 3, width: 1000, height: 1000, seed: 10 },
];
try {
  for (const f of FIELDS) {
    const list = ids(f.dataset).slice(f.first, f.first + f.columns * f.rows);
    const m = buildMosaic(await crops(f.dataset, list), { ...f, cutLast: 0.35 });
    const check = await checkMosaicField(seg, m);
    const whole = check.cells.filter((c) => !c.cut);
    const worst = Math.min(...whole.map((c) => c.field.cytoplasm - Math.min(...c.alone.map((d) => d.cytoplasm))));
    record(`${f.dataset} ${f.columns}x${f.rows} of ${f.width}x${f.height}`, mosaicFieldProblems(check), `${check.cells.length} cells, diameter ${check.cellDiameter?.toFixed(1)} px; worst cytoplasm against alone ${worst.toFixed(3)}`);
  }

  // 4000 x 3000 of Dataset 2's validation crops (11: the first comes again to fill the 4x3 grid).
  const list = ids('Dataset 2');
  const m = buildMosaic(await crops('Dataset 2', [...list, ...list].slice(0, 12)), { width: 4000, height: 3000, columns: 4, rows: 3, seed: 21 });
  const r = await seg.segment({ ...m.image, channels: 3 }, { mode: 'field' });
  const { match, extra } = matchCells(m.instances, r.instances, 12, r.cells.length);
  const problems = [];
  if (match.includes(0) || new Set(match).size !== 12 || extra.length > 0) problems.push(`cells matched ${match.join(',')}, extra ${extra.length}`);
  const truthBoxes = boxesOf(m.instances, 4000, 12);
  for (const [i, k] of match.entries()) {
    if (k === 0) continue;
    const found = r.cells[k - 1];
    const box = { width: found.bbox.width, height: found.bbox.height };
    if (!boxNear(box, truthBoxes[i])) problems.push(`${m.placed[i].crop.id}: box ${box.width}x${box.height}, true cell ${truthBoxes[i].width}x${truthBoxes[i].height}`);
    const placed = m.placed[i];
    const alone = await seg.segment({ ...placed.pasted, channels: 3 }, { mode: 'crop' });
    const w = placed.crop.image.width;
    const field = new Uint8Array(w * placed.crop.image.height);
    for (let p = 0; p < field.length; p++) {
      const q = (placed.y + Math.floor(p / w)) * 4000 + placed.x + (p % w);
      if (r.instances[q] === k) field[p] = r.mask.data[q];
    }
    const agreement = cellDice(field, alone.mask.data);
    if (agreement.wholeCell < LARGE_FIELD_AGREEMENT || agreement.nucleus < LARGE_FIELD_AGREEMENT) problems.push(`${placed.crop.id}: field against its crop alone ${formatDice(agreement)}`);
  }
  record('Dataset 2 4x3 of 4000x3000', problems, `${r.cells.length} cells, diameter ${r.cellDiameter?.toFixed(1)} px`);

  const d1 = ids('Dataset 1');
  const apart = { given: 0, measured: 0 };
  for (let i = 0; i < 10; i += 2) {
    const [a, b] = await crops('Dataset 1', [d1[i], d1[i + 1]]);
    for (const how of ['given', 'measured']) if ((await checkTouchingPair(seg, a, b, how === 'given' ? 75 : undefined)).apart) apart[how]++;
  }
  record('Dataset 1 touching pairs', [], `apart of 5: size given ${apart.given}, measured ${apart.measured}`);
} finally {
  seg.dispose();
}
if (rest.includes('--json')) console.log(JSON.stringify({ model, checks }, null, 1));
else console.log(`${checks.slice(0, -1).filter((c) => c.pass).length} of ${checks.length - 1} field checks pass (touching pairs reported, not judged: their floor is set on the test crops)`);
