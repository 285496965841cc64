// `leukoseg segment` on folders types every cell: cellType, its confidence and the five probabilities
// in each row, and differential.csv counting cells per type per folder; --no-classify leaves the
// columns empty; the library's segmenter gives the same verdict as the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, sharedDataRoot } from '../testing/paths.js';
import { CELL_TYPES, CELL_TYPE_COLUMNS, UNCERTAIN } from '../classify/cell-types.js';
import { loadSegmenter } from '../infer/segmenter.js';
import { DEFAULT_CLASSIFIER_DIR } from '../classify/classifier.js';

const run = promisify(execFile);
const segment = (...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin', 'leukoseg.js'), 'segment', ...args], { maxBuffer: 1 << 24 });

/** Two slide folders of linked images: three of Dataset 1, two of Dataset 2. */
async function slides(root: string): Promise<string> {
  const input = join(root, 'in');
  for (const [folder, dataset, ids] of [['slide-a', 'Dataset 1', ['001', '002', '003']], ['slide-b', 'Dataset 2', ['001', '002']]] as const) {
    await mkdir(join(input, folder), { recursive: true });
    for (const id of ids) await symlink(join(sharedDataRoot(), dataset, `${id}.bmp`), join(input, folder, `${id}.bmp`));
  }
  return input;
}

function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const names = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

test('segment types each cell and writes differential.csv per folder; --no-classify leaves the type empty', async () => {
  const root = await mkdtemp(join(tmpdir(), 'leukoseg-seg-types-'));
  try {
    const input = await slides(root);
    const out = join(root, 'out');
    const { stdout } = await segment(input, '--out', out);
    assert.match(stdout, /cell types: .*; per folder in differential\.csv/);
    const rows = parseCsv(await readFile(join(out, 'results.csv'), 'utf8'));
    assert.equal(rows.length, 5);
    for (const r of rows) {
      assert.ok([...CELL_TYPES, UNCERTAIN].includes(r.cellType as never), `cellType ${r.cellType}`);
      const probs = CELL_TYPE_COLUMNS.slice(2).map((c) => Number(r[c]));
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities ${probs}`);
      assert.equal(Number(r.cellTypeConfidence), Math.max(...probs));
    }
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.equal(json.images[0].cellType, rows[0].cellType);
    const diff = parseCsv(await readFile(join(out, 'differential.csv'), 'utf8'));
    const folders = [...new Set(diff.map((d) => d.folder))];
    assert.deepEqual(folders, [join(input, 'slide-a'), join(input, 'slide-b'), 'all']);
    for (const folder of folders) {
      const block = diff.filter((d) => d.folder === folder);
      assert.deepEqual(block.map((d) => d.cellType), [...CELL_TYPES, UNCERTAIN, 'not typed']);
      const typed = block.filter((d) => d.cellType !== 'not typed');
      assert.ok(Math.abs(typed.reduce((n, d) => n + Number(d.percent), 0) - 100) < 0.5, `${folder} percentages`);
    }
    const counts = (folder: string) => diff.filter((d) => d.folder === folder && d.cellType !== 'not typed').reduce((n, d) => n + Number(d.count), 0);
    assert.deepEqual([counts(join(input, 'slide-a')), counts(join(input, 'slide-b')), counts('all')], [3, 2, 5]);

    // The library gives the command's verdict for the same image.
    const seg = await loadSegmenter();
    try {
      assert.equal(seg.classifierDir, DEFAULT_CLASSIFIER_DIR);
      const r = await seg.segment(rows[0].file);
      assert.equal(r.cellType?.cellType, rows[0].cellType);
      assert.ok(Math.abs(r.cellType!.confidence - Number(rows[0].cellTypeConfidence)) < 1e-6);
    } finally {
      seg.dispose();
    }

    const plain = join(root, 'plain');
    await segment(join(input, 'slide-a'), '--out', plain, '--no-classify');
    const untyped = parseCsv(await readFile(join(plain, 'results.csv'), 'utf8'));
    assert.ok(untyped.every((r) => CELL_TYPE_COLUMNS.every((c) => r[c] === '')));
    assert.match(await readFile(join(plain, 'differential.csv'), 'utf8'), /,not typed,3,$/m);
    await assert.rejects(segment(input, '--out', plain, '--no-classify', '--classifier', DEFAULT_CLASSIFIER_DIR), /--classifier and --no-classify contradict/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
