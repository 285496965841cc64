// leukoseg's WebAssembly SIMD kernels (native/wasm/kernels.c): the embedded module is the one built
// from the source beside it, it loads on the wasm backend when the addon is not in use, and its
// BatchNormalization passes agree with the JS loops they replace, touching nothing on the heap but
// their outputs (the module shares tfjs's memory). fused_training.test.ts checks the same kernels
// against tfjs-layers on the cpu backend, wasm_threads.test.ts on the threaded build's shared heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { engineInfo, initEngine } from './index.js';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/batch_norm_training.js';
import { adamInPlace, adamUpdateLoop, type AdamUpdateAttrs } from './kernels/adam.js';
import type { BackendWasm } from './kernels/scratch.js';
import { simdKernels, useSimdKernels } from './kernels/simd.js';
import { COMPILER, SOURCE_SHA256 } from './kernels/simd_binary.js';
import { randomValues, relativeError, rng } from './testing.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = join(root, 'native', 'wasm', 'kernels.c');
const generated = join(root, 'src', 'engine', 'kernels', 'simd_binary.ts');

test('the embedded module was built from native/wasm/kernels.c as it is', () => {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex');
  assert.equal(SOURCE_SHA256, hash, 'kernels.c changed since simd_binary.ts was made: run npm run build:wasm-kernels');
});

test('rebuilding it with the same compiler gives the same bytes', async (t) => {
  const version = spawnSync('clang-14', ['--version'], { encoding: 'utf8' });
  const objdump = spawnSync('wasm-objdump', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0 || objdump.status !== 0) {
    t.skip('clang-14 or wasm-objdump not installed (apt install clang-14 lld-14 wabt)');
    return;
  }
  if (version.stdout.split('\n')[0].trim() !== COMPILER) {
    t.skip(`another compiler here (${version.stdout.split('\n')[0]}) than the one that built it (${COMPILER})`);
    return;
  }
  assert.ok(existsSync(generated));
  const build = await import(join(root, 'native', 'wasm', 'build.mjs'));
  assert.equal(build.render(build.buildModules()), readFileSync(generated, 'utf8'), 'run npm run build:wasm-kernels');
});

interface Step { y: Float32Array; stats: Float32Array; grads: Float32Array; guard: Float32Array }

/** One training pass and its gradient by the kernels in use, with a guard tensor made before them. */
function batchNormStep(shape: number[], seed: number): Step {
  const next = rng(seed);
  const c = shape[shape.length - 1];
  const size = shape.reduce((a, b) => a * b, 1);
  const guardValues = randomValues(next, 4096);
  const guard = tf.tensor1d(guardValues);
  const x = tf.tensor(randomValues(next, size).map((v) => v * 2 + 5), shape);
  const dy = tf.tensor(randomValues(next, size), shape);
  const perChannel = () => tf.tensor1d(randomValues(next, c).map((v) => 1 + v / 2));
  const [scale, offset, movingMean, movingVariance] = [perChannel(), perChannel(), perChannel(), perChannel()];
  const attrs = { epsilon: 1e-3, momentum: 0.99 };
  const [y, mean, variance, newMean, newVariance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset, movingMean, movingVariance }, attrs) as tf.Tensor[];
  const grads = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x, mean, variance, scale }, attrs) as tf.Tensor[];
  const flat = (ts: tf.Tensor[]) => Float32Array.from(ts.flatMap((t) => Array.from(t.dataSync())));
  const out = { y: y.dataSync() as Float32Array, stats: flat([mean, variance, newMean, newVariance]), grads: flat(grads), guard: guard.dataSync() as Float32Array };
  assert.deepEqual(Array.from(out.guard), Array.from(guardValues), 'a tensor the kernels do not write changed');
  tf.dispose([guard, x, dy, scale, offset, movingMean, movingVariance, y, mean, variance, newMean, newVariance, ...grads]);
  return out;
}

test('on wasm without the addon the SIMD kernels load, and match the JS loops they replace', async () => {
  await initEngine({ backend: 'wasm', native: false, training: true });
  const info = engineInfo();
  assert.equal(info.simdKernels, true, info.simdKernelsUnavailable);
  const kernels = simdKernels();
  assert.ok(kernels !== null);
  // 300 channels outgrow the first scratch block (256 channels), 3 fit it.
  for (const [shape, seed] of [[[2, 33, 17, 16], 1], [[5, 300], 2], [[1, 3, 1, 3], 3], [[2, 64, 64, 32], 4]] as Array<[number[], number]>) {
    const simd = batchNormStep(shape, seed);
    useSimdKernels(null);
    let loops: Step;
    try {
      loops = batchNormStep(shape, seed);
    } finally {
      useSimdKernels(kernels);
    }
    for (const part of ['y', 'stats', 'grads'] as const) {
      const error = relativeError(simd[part], loops[part]);
      assert.ok(error <= 1e-5, `${shape}: ${part} differ by ${error}`);
    }
  }
});

test("the SIMD module's Adam step gives the JS loop's bits for every variable of one call: moments in place, values new", async () => {
  await initEngine({ backend: 'wasm', native: false, training: true });
  assert.ok(simdKernels() !== null, engineInfo().simdKernelsUnavailable);
  const next = rng(21);
  // A large rate so each step shows in the weights' last bits; sizes with and without a tail of 1-3.
  const attrs: AdamUpdateAttrs = { learningRate: 0.3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, correction1: 1 - 0.9 ** 3, correction2: 1 - 0.999 ** 3 };
  const variables = [10007, 4096, 3].map((size) => ({
    value: randomValues(next, size),
    m: randomValues(next, size).map((x) => x / 10),
    v: randomValues(next, size).map((x) => (x * x) / 100),
    gradient: randomValues(next, size),
  }));
  const tensors = variables.map((v) => ({ value: tf.tensor1d(v.value), m: tf.tensor1d(v.m), v: tf.tensor1d(v.v), gradient: tf.tensor1d(v.gradient) }));
  const backend = tf.backend() as unknown as BackendWasm;
  const info = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as never;
  const { rest, values } = adamInPlace(backend, tensors.map((t) => ({ value: info(t.value), m: info(t.m), v: info(t.v), gradient: info(t.gradient) })), attrs);
  assert.equal(rest.length, 0, 'every variable is stepped in the one call');
  const stepped = values.map(({ value }) => tf.engine().makeTensorFromTensorInfo(value));
  variables.forEach((expected, k) => {
    const out = { value: new Float32Array(expected.value.length), m: new Float32Array(expected.value.length), v: new Float32Array(expected.value.length) };
    adamUpdateLoop(expected.value, expected.m, expected.v, expected.gradient, out.value, out.m, out.v, attrs);
    const actual = { value: stepped[k], m: tensors[k].m, v: tensors[k].v };
    for (const part of ['value', 'm', 'v'] as const) {
      assert.deepEqual(Array.from(actual[part].dataSync()), Array.from(out[part]), `variable ${k} (${expected.value.length} values): ${part} differs`);
    }
    // The old value's buffer is left as it was (a cached operator keyed by it must not see new weights under the old id).
    assert.deepEqual(Array.from(tensors[k].value.dataSync()), Array.from(expected.value), `variable ${k}: the old value changed`);
    assert.deepEqual(Array.from(tensors[k].gradient.dataSync()), Array.from(expected.gradient), `variable ${k}: the gradient changed`);
  });
  tf.dispose([...stepped, ...tensors.flatMap((t) => Object.values(t))]);
});

test('with the addon in use the SIMD kernels are not loaded', async (t) => {
  await initEngine({ backend: 'wasm', training: true });
  if (engineInfo().native === null) {
    t.skip(`the addon is not in use here: ${engineInfo().nativeUnavailable}`);
    return;
  }
  assert.equal(engineInfo().simdKernels, false);
  assert.equal(simdKernels(), null);
  await initEngine({ backend: 'wasm', native: false, training: true });
  assert.equal(engineInfo().simdKernels, true);
});
