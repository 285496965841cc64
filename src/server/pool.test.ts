// The worker pool on its own: a model that cannot load fails start() with the reason, a worker that
// dies is replaced and the next image is served, and jobs still waiting at close() are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerPool } from './pool.js';
import { datasetImage } from './fixtures.js';

test('a model folder that cannot be loaded fails start() with the reason', async () => {
  await assert.rejects(WorkerPool.start({ model: '/nonexistent/leukoseg-model', maxPixels: 1_000_000, workers: 1 }), /could not load the model: .*nonexistent/);
});

test('a worker that dies is replaced, and the next image is served; waiting jobs are refused at close', async () => {
  const bytes = await readFile(datasetImage('001'));
  const logged: string[] = [];
  const { pool } = await WorkerPool.start({ maxPixels: 1_000_000, workers: 1 }, (m) => logged.push(m));
  try {
    const first = await pool.segment({ bytes, fileName: '001.bmp', answer: 'mask' });
    assert.equal(first.contentType, 'image/png');
    // The pool's only worker stops (as after a crash); reached through the private field on purpose.
    const { slots } = pool as unknown as { slots: Array<{ worker: Worker }> };
    await slots[0]!.worker.terminate();
    await sleep(50);
    assert.match(logged.join('\n'), /the segmentation worker stopped: exited with code 1; starting a new one/);
    const again = await pool.segment({ bytes, fileName: '001.bmp', answer: 'mask' });
    assert.deepEqual(again.body, first.body);
    const jobs = Array.from({ length: 4 }, () => pool.segment({ bytes, fileName: '001.bmp', answer: 'json' }).then(() => 'done', (err: Error) => err.message));
    await sleep(5);
    await pool.close();
    const outcomes = await Promise.all(jobs);
    assert.ok(outcomes.includes('the server is shutting down'), outcomes.join('; '));
    await assert.rejects(pool.segment({ bytes, fileName: '001.bmp', answer: 'mask' }), /shutting down/);
  } finally {
    await pool.close();
  }
});
