// The results files of a segment run: an earlier run's are replaced at the start, every row is in
// results.jsonl at once, and results.csv / results.json follow at each flush with the run's status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsWriter } from './results-writer.js';
import { segmentRows, type SegmentRow } from '../output/results.js';
import { measureCell } from '../infer/morphometrics.js';

const header = { model: { dir: '/m', architecture: 'unet-small', preset: null }, umPerPx: null };
const row = (name: string): SegmentRow =>
  segmentRows(`/in/${name}.bmp`, name, { width: 4, height: 4, mode: 'crop', cells: [], stats: measureCell({ width: 4, height: 4, data: new Uint8Array(16) }), cellDiameter: null, inferenceMs: 1 })[0];
const read = async (dir: string, file: string): Promise<string> => readFile(join(dir, file), 'utf8');

test('earlier results are replaced at the start; rows reach results.jsonl at once and the CSV/JSON at each flush', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-results-'));
  try {
    await writeFile(join(dir, 'results.csv'), 'file,name\n/old/x.bmp,old-run\n');
    await writeFile(join(dir, 'results.json'), '{"images":[{"name":"old-run"}]}');
    await writeFile(join(dir, 'results.jsonl'), '{"name":"old-run"}\n');
    const files = ['/in/a.bmp', '/in/b.bmp', '/in/c.bmp'];
    const slow = await ResultsWriter.start(dir, header, files, 60_000);
    for (const f of ['results.csv', 'results.json', 'results.jsonl']) assert.doesNotMatch(await read(dir, f), /old-run/, f);
    assert.equal(JSON.parse(await read(dir, 'results.json')).status, 'running');
    await slow.add(row('a'));
    assert.equal((await read(dir, 'results.jsonl')).trim(), JSON.stringify(row('a')));
    assert.doesNotMatch(await read(dir, 'results.csv'), /\/in\/a\.bmp/, 'not flushed yet: the minute has not passed');

    const eager = await ResultsWriter.start(dir, header, files, 0);
    await eager.add(row('a'));
    eager.fail('/in/b.bmp', 'b.bmp: not an image');
    await eager.add(row('c'));
    assert.equal((await read(dir, 'results.csv')).trim().split('\n').length, 3);
    await eager.flush('interrupted', 'SIGTERM');
    const json = JSON.parse(await read(dir, 'results.json'));
    assert.deepEqual([json.status, json.signal, json.images.map((r: SegmentRow) => r.name), json.failed.length, json.notProcessed], ['interrupted', 'SIGTERM', ['a', 'c'], 1, []]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
