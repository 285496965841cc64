// Tests for random.ts: the generator repeats per seed, stays in [0, 1), and its gaussians look gaussian.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, fillGaussian, forkRng, randomInt } from './random.js';

test('the same seed repeats the stream, another seed does not', () => {
  const draw = (seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: 8 }, () => rng());
  };
  assert.deepEqual(draw(1), draw(1));
  assert.notDeepEqual(draw(1), draw(2));
  // mulberry32's first output for seed 0, as the reference C implementation gives it.
  assert.equal(Math.round(createRng(0)() * 4294967296), 1144304738);
});

test('draws are uniform in [0, 1) and whole numbers cover [0, n)', () => {
  const rng = createRng(7);
  let sum = 0;
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const u = rng();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    counts[randomInt(rng, 4)]++;
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  for (const c of counts) assert.ok(Math.abs(c / 20000 - 0.25) < 0.02);
});

test('gaussians have mean 0 and variance 1; a fork advances its parent by one draw', () => {
  const g = fillGaussian(createRng(3), new Float32Array(20001));
  const mean = g.reduce((a, b) => a + b, 0) / g.length;
  const variance = g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  const a = createRng(4);
  const b = createRng(4);
  forkRng(a);
  b();
  assert.equal(a(), b());
});
