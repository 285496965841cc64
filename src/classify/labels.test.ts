// Label files: the collection's own CSVs (their class counts), ids matched by number, and errors that
// name the file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { idKey, labelFileOf, parseLabelCsv, readSourceLabels } from './labels.js';
import { sharedDataRoot } from '../testing/paths.js';

test("the collection's label files give the counts its README states", async () => {
  const expected: Record<string, number[]> = { 'Dataset 1': [176, 53, 48, 22, 1], 'Dataset 2': [33, 37, 15, 12, 3] };
  for (const [name, counts] of Object.entries(expected)) {
    const source = { name, dir: resolve(sharedDataRoot(), name) };
    assert.match(labelFileOf(source), new RegExp(`Class Labels of ${name}\\.csv$`));
    const total = counts.reduce((a, b) => a + b, 0);
    const ids = Array.from({ length: total }, (_, i) => String(i + 1).padStart(3, '0'));
    const labels = await readSourceLabels(source, [...ids, '999']);
    assert.deepEqual(labels.unlabelled, ['999']);
    const got = [0, 1, 2, 3, 4].map((c) => [...labels.byId.values()].filter((l) => l === c).length);
    assert.deepEqual(got, counts, name);
    if (name === 'Dataset 1') assert.equal(labels.byId.get('001'), 1, 'image 001 of Dataset 1 is a lymphocyte (label 2)');
  }
});

test('parsing: numbers or names, CRLF, blank lines; bad lines named with file and line', () => {
  const labels = parseLabelCsv('image ID,class label\r\n1,2\r\n\r\n007,eosinophil\r\nx7,Basophil\n', 'l.csv');
  assert.deepEqual([...labels.entries()], [['1', 1], ['7', 3], ['x7', 4]]);
  assert.equal(idKey('007'), '7');
  assert.throws(() => parseLabelCsv('id,label\n1,6\n', 'l.csv'), /l\.csv:2: label "6" is not a cell type/);
  assert.throws(() => parseLabelCsv('id,label\n1\n', 'l.csv'), /l\.csv:2: expected "id,label"/);
  assert.throws(() => parseLabelCsv('id,label\n1,1\n01,2\n', 'l.csv'), /l\.csv:3: image 01 is labelled both neutrophil and lymphocyte/);
});

test('a folder of pairs reads its labels.csv, and says how to give one when it has none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-labels-'));
  try {
    await assert.rejects(readSourceLabels({ name: 'lab', dir }, ['1']), /no cell-type labels .*labels\.csv: ENOENT.*"id,label"/);
    await writeFile(join(dir, 'labels.csv'), 'id,label\na,monocyte\n');
    const labels = await readSourceLabels({ name: 'lab', dir }, ['a', 'b']);
    assert.deepEqual([[...labels.byId.entries()], labels.unlabelled], [[['a', 2]], ['b']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
