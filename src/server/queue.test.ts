// The queue in front of the workers: arrival order, at most `concurrency` jobs at once, a failure or
// a give-up touches only its own request, and a full queue (count or bytes) refuses at once;
// withTimeout answers 503 and skips queued work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue, withTimeout } from './queue.js';
import { ApiError } from './errors.js';

test('jobs run one at a time, in arrival order; a failing job does not stop the next', async () => {
  const queue = new WorkQueue(1, 10);
  const log: string[] = [];
  let running = 0;
  const job = (name: string, fail = false) => async () => {
    running++;
    assert.equal(running, 1, 'two jobs ran at once');
    log.push(`start ${name}`);
    await sleep(5);
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const results = await Promise.allSettled([queue.run(job('a')), queue.run(job('b', true)), queue.run(job('c'))]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(queue.waiting + queue.running, 0);
});

test('a full queue answers 503 at once; a cancelled job never runs', async () => {
  const queue = new WorkQueue(1, 1);
  let ran = 0;
  const slow = queue.run(async () => sleep(20).then(() => ++ran));
  const given = assert.rejects(queue.run(async () => ++ran, { cancelled: () => true }), (err: unknown) => err instanceof ApiError && err.statusCode === 503 && /given up/.test(err.message));
  await assert.rejects(queue.run(async () => ++ran), (err: unknown) => err instanceof ApiError && err.statusCode === 503 && /busy/.test(err.message));
  await slow;
  await given;
  assert.equal(ran, 1);
});

test('withTimeout rejects with 503 after the limit and tells queued work it was given up', async () => {
  const queue = new WorkQueue(1, 10);
  let ran = 0;
  const blocker = queue.run(() => sleep(60).then(() => ++ran));
  const started = performance.now();
  await assert.rejects(
    withTimeout(20, () => false, (cancelled) => queue.run(async () => ++ran, { cancelled })),
    (err: unknown) => err instanceof ApiError && err.statusCode === 503 && /longer than 0.02 s/.test(err.message),
  );
  assert.ok(performance.now() - started < 55, 'the timeout did not wait for the queue');
  await blocker;
  await sleep(5);
  assert.equal(ran, 1, 'the timed-out job ran anyway');
  assert.equal(await withTimeout(1000, () => false, async () => 'ok'), 'ok');
});

test('with concurrency 2, two jobs run at once and the third starts when one ends; waiting bytes are capped', async () => {
  const queue = new WorkQueue(2, 10, 100);
  let running = 0;
  let most = 0;
  const log: string[] = [];
  const job = (name: string, ms: number) => async () => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${name}`);
    await sleep(ms);
    running--;
    return name;
  };
  const a = queue.run(job('a', 30), { bytes: 500 });
  const b = queue.run(job('b', 10), { bytes: 500 });
  assert.equal(queue.running, 2);
  // Nothing waits, so one upload larger than the cap is still taken; a second waiting one is not.
  const c = queue.run(job('c', 5), { bytes: 90 });
  assert.equal(queue.waitingBytes, 90);
  await assert.rejects(queue.run(job('d', 5), { bytes: 20 }), (err: unknown) => err instanceof ApiError && err.statusCode === 503 && /MB of images waiting/.test(err.message));
  assert.deepEqual(await Promise.all([a, b, c]), ['a', 'b', 'c']);
  assert.equal(most, 2);
  assert.deepEqual(log, ['start a', 'start b', 'start c']);
  assert.equal(queue.waitingBytes + queue.waiting + queue.running, 0);
  assert.throws(() => new WorkQueue(0, 1), /concurrency must be a whole number/);
});

test('a weight budget keeps two heavy jobs from running together, while light ones share', async () => {
  const queue = new WorkQueue(2, 10, Number.POSITIVE_INFINITY, 100);
  const log: string[] = [];
  const job = (name: string, ms: number) => async () => {
    log.push(`start ${name}`);
    await sleep(ms);
    log.push(`end ${name}`);
  };
  await Promise.all([queue.run(job('big1', 20), { weight: 80 }), queue.run(job('big2', 5), { weight: 80 })]);
  assert.deepEqual(log, ['start big1', 'end big1', 'start big2', 'end big2']);
  log.length = 0;
  await Promise.all([queue.run(job('small1', 20), { weight: 10 }), queue.run(job('small2', 5), { weight: 10 })]);
  assert.deepEqual(log, ['start small1', 'start small2', 'end small2', 'end small1']);
  // Heavier than the whole budget: runs alone rather than never.
  await queue.run(job('huge', 1), { weight: 1000 });
  assert.equal(log.at(-1), 'end huge');
});
