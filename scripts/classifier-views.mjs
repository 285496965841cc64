// Developer tool: scores classifiers on the validation cells and, separately, the test cells their
// model.json records (a cross-validation folder: every fold-K/model), once per test-time view mode,
// so a view mode can be chosen on validation cells without retraining. Needs `npm run build` first.
//   node scripts/classifier-views.mjs <cv-dir | model-dir> [none,flips,dihedral] [--json out.json]
// Prints, per mode, the pooled validation and test figures (accuracy, cross-entropy, macro-F1 of the
// four main types, accuracy per source); with --json also every fold's.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initEngine } from '../dist/engine/index.js';
import { loadModel } from '../dist/models/io.js';
import { cellKey, loadLabelledCells } from '../dist/classify/cells.js';
import { cellTypeInfo } from '../dist/classify/model-info.js';
import { prepareCell } from '../dist/classify/prepare.js';
import { predictCells } from '../dist/classify/predict.js';
import { scoreBySource } from '../dist/classify/score.js';
import { CELL_VIEWS } from '../dist/classify/views.js';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const [target, modeList = CELL_VIEWS.join(',')] = args;
if (!target) throw new Error('usage: node scripts/classifier-views.mjs <cv-dir> [none,flips,dihedral] [--json out.json]');
const modes = modeList.split(',');
for (const m of modes) if (!CELL_VIEWS.includes(m)) throw new Error(`unknown view mode "${m}": must be one of ${CELL_VIEWS.join(', ')}`);

await initEngine();
const entries = await readdir(target).catch(() => []);
const folds = entries.filter((e) => /^fold-\d+$/.test(e)).sort();
const modelDirs = folds.length > 0 ? folds.map((f) => [f, join(target, f, 'model')]) : [['model', target]];
let loaded;
const results = [];
for (const [fold, dir] of modelDirs) {
  const model = await loadModel(dir).catch(() => null);
  if (!model) {
    console.log(`${dir}: no model yet; left out`);
    continue;
  }
  const splits = model.metadata.splits ?? [];
  loaded ??= await loadLabelledCells(splits.map((s) => ({ name: s.dataset, dir: s.dir })));
  const byKey = new Map(loaded.sources.flatMap((s) => s.cells).map((c) => [cellKey(c), c]));
  const info = cellTypeInfo(model.metadata, join(dir, 'model.json'));
  const part = (ids) =>
    splits.flatMap((s) =>
      (s[ids] ?? []).flatMap((id) => {
        const cell = byKey.get(`${s.dataset}/${id}`);
        const prepared = prepareCell(cell.image, cell.truth, info.crop);
        return prepared ? [{ ...prepared, cell }] : [];
      }),
    );
  const parts = { validation: part('validationIds'), test: part('testIds') };
  for (const views of modes) {
    for (const [name, cells] of Object.entries(parts)) {
      const probs = await predictCells(model.model, cells, info, model.metadata.preprocessing, { views });
      const predictions = cells.map((c, i) => ({ id: c.cell.id, source: c.cell.source, label: c.cell.label, probs: Array.from(probs.subarray(i * 5, (i + 1) * 5)) }));
      results.push({ fold, views, part: name, predictions });
    }
  }
  model.model.dispose();
}

const crossEntropy = (ps) => ps.reduce((s, p) => s - Math.log(Math.max(p.probs[p.label], 1e-7)), 0) / ps.length;
const row = (ps) => {
  const s = scoreBySource(ps, Number.NaN);
  const bySource = Object.fromEntries(s.sources.map((x) => [x.source, x.metrics.accuracy]));
  return { cells: ps.length, accuracy: s.pooled.metrics.accuracy, loss: crossEntropy(ps), macroF1Main: s.pooled.macroF1Main, bySource };
};
const summary = [];
for (const part of ['validation', 'test']) {
  for (const views of modes) {
    const picked = results.filter((r) => r.part === part && r.views === views);
    const pooled = row(picked.flatMap((r) => r.predictions));
    const perFold = picked.map((r) => ({ fold: r.fold, ...row(r.predictions) }));
    summary.push({ part, views, folds: picked.map((r) => r.fold), pooled, perFold });
    const src = Object.entries(pooled.bySource).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
    console.log(`${part.padEnd(10)} ${views.padEnd(8)} ${picked.length} folds, ${pooled.cells} cells: accuracy ${pooled.accuracy.toFixed(3)}, loss ${pooled.loss.toFixed(4)}, macro-F1 (4) ${pooled.macroF1Main.toFixed(3)}; ${src}`);
  }
}
if (jsonOut) await writeFile(jsonOut, JSON.stringify(summary, null, 2) + '\n');
