// Ctrl-C during `leukoseg segment` of a folder: a real CLI process, interrupted once a few masks are
// written, must exit 130 with results.csv / .json / .jsonl holding exactly the images whose masks are
// on disk, and a results.csv of an earlier run must be gone from the moment the run starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT, sharedDataset1 } from '../testing/paths.js';

const masksIn = async (dir: string): Promise<string[]> =>
  (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.mask.png')).map((f) => f.slice(0, -'.mask.png'.length)).sort();

test('SIGINT during segment of a folder keeps every finished row and no row of an earlier run', async () => {
  const out = await mkdtemp(join(tmpdir(), 'leukoseg-interrupt-'));
  let child: ChildProcess | undefined;
  try {
    const stale = 'file,name,width,height\n/elsewhere/old-run.bmp,old-run,120,120\n';
    await writeFile(join(out, 'results.csv'), stale);
    const run = spawn(process.execPath, [resolve(PROJECT_ROOT, 'bin', 'leukoseg.js'), 'segment', sharedDataset1(), '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = run;
    let stderr = '';
    run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => run.on('exit', (code) => done(code)));
    let sawFirstMask = false;
    for (let waited = 0; ; waited += 20) {
      assert.ok(waited < 60_000, `no masks written within a minute: ${stderr}`);
      const masks = await masksIn(out);
      if (masks.length > 0 && !sawFirstMask) {
        sawFirstMask = true;
        // The run is under way: the earlier run's results must already be replaced.
        assert.doesNotMatch(await readFile(join(out, 'results.csv'), 'utf8'), /old-run/);
      }
      if (masks.length >= 5) break;
      await sleep(20);
    }
    run.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted by SIGINT: \d+ image\(s\) not processed/);

    const masks = await masksIn(out);
    assert.ok(masks.length >= 5 && masks.length < 300, `${masks.length} masks`);
    const overlays = (await readdir(out)).filter((f) => f.endsWith('.overlay.png')).length;
    assert.equal(overlays, masks.length);
    const csv = (await readFile(join(out, 'results.csv'), 'utf8')).trim().split('\n');
    assert.match(csv[0], /^file,name,width,height,cellIndex,bboxX,bboxY,bboxWidth,bboxHeight,centroidX,centroidY,cellAreaPx,/);
    assert.deepEqual(csv.slice(1).map((line) => line.split(',')[1]).sort(), masks);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.equal(json.status, 'interrupted');
    assert.equal(json.signal, 'SIGINT');
    assert.deepEqual(json.images.map((r: { name: string }) => r.name).sort(), masks);
    assert.equal(json.images.length + json.failed.length + json.notProcessed.length, 300);
    const jsonl = (await readFile(join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { name: string });
    assert.deepEqual(jsonl.map((r) => r.name).sort(), masks);
  } finally {
    // A failed assertion must not leave the run going (it would write into `out` after the rm).
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((done) => child!.once('exit', done));
      child.kill('SIGKILL');
      await gone;
    }
    await rm(out, { recursive: true, force: true });
  }
});
