// The differential: per folder counts and percentages of the typed cells, uncertain ones counted on
// their own, untyped images apart, a block over all folders when there are several.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_FOLDERS, differential, differentialCsv, folderOf, NOT_TYPED } from './differential.js';

test('counts and percentages per folder, then over all of them', () => {
  const rows = [
    { file: '/slides/a/1.bmp', cellType: 'neutrophil' },
    { file: '/slides/a/2.bmp', cellType: 'neutrophil' },
    { file: '/slides/a/3.bmp', cellType: 'lymphocyte' },
    { file: '/slides/a/4.bmp', cellType: 'uncertain' },
    { file: '/slides/a/5.bmp', cellType: null },
    { file: '/slides/b/1.bmp', cellType: 'eosinophil' },
  ];
  const d = differential(rows);
  const get = (folder: string, type: string) => d.find((r) => r.folder === folder && r.cellType === type)!;
  assert.deepEqual(get('/slides/a', 'neutrophil'), { folder: '/slides/a', cellType: 'neutrophil', count: 2, percent: 50 });
  assert.equal(get('/slides/a', 'uncertain').percent, 25);
  assert.deepEqual(get('/slides/a', NOT_TYPED), { folder: '/slides/a', cellType: NOT_TYPED, count: 1, percent: null });
  assert.equal(get('/slides/b', 'eosinophil').percent, 100);
  assert.equal(get(ALL_FOLDERS, 'neutrophil').percent, 40);
  assert.equal(d.length, 3 * 7);
  const csv = differentialCsv(d).split('\n');
  assert.equal(csv[0], 'folder,cellType,count,percent');
  assert.equal(csv[1], '/slides/a,neutrophil,2,50.0');
  assert.equal(csv[7], '/slides/a,not typed,1,');
  assert.equal(differential(rows.slice(0, 2)).length, 7, 'one folder: no block over all');
  assert.equal(folderOf('C:\\x\\y.bmp'), 'C:\\x');
  assert.equal(folderOf('y.bmp'), '');
  assert.match(differentialCsv(differential([{ file: '/a,b/1.bmp', cellType: 'monocyte' }])), /^"\/a,b",monocyte,1,100\.0$/m);
});

test("a field's cells count one by one in their folder, and the field gets a block of its own", () => {
  const rows = [
    { file: '/slide/f1.png', cellType: 'neutrophil', mode: 'field' },
    { file: '/slide/f1.png', cellType: 'neutrophil', mode: 'field' },
    { file: '/slide/f1.png', cellType: 'monocyte', mode: 'field' },
    { file: '/slide/f2.png', cellType: null, mode: 'field' },
    { file: '/slide/c.bmp', cellType: 'lymphocyte', mode: 'crop' },
  ];
  const d = differential(rows);
  const get = (folder: string, type: string) => d.find((r) => r.folder === folder && r.cellType === type)!;
  assert.deepEqual(get('/slide', 'neutrophil'), { folder: '/slide', cellType: 'neutrophil', count: 2, percent: 50 });
  assert.equal(get('/slide', NOT_TYPED).count, 1);
  assert.deepEqual(get('/slide/f1.png', 'neutrophil'), { folder: '/slide/f1.png', cellType: 'neutrophil', count: 2, percent: (100 * 2) / 3 });
  assert.equal(get('/slide/f2.png', NOT_TYPED).count, 1);
  assert.equal(d.filter((r) => r.folder === '/slide/c.bmp').length, 0, 'a crop has no block of its own');
  assert.equal(d.length, 3 * 7, 'the folder, then the two fields; one folder: no block over all');
  assert.equal(differential(rows, { perField: false }).length, 7);
});
