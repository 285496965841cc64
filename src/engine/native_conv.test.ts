// The native (oneDNN) convolutions: built where CI installs oneDNN, turned on and off by initEngine,
// and the forward Conv2D (which replaces XNNPACK's when native) against the cpu backend. The two
// gradients are checked in both engine modes by the conv2d_backprop_* and gradients tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { engineInfo, initEngine } from './index.js';
import { describe, MODEL_CASES, randomCases } from './conv_cases.js';
import type { ConvCase } from './conv_cases.js';
import { builtAddon, compareBackends, randomValues, rng, setupBackends, TOLERANCE } from './testing.js';

test('the native kernels are built where oneDNN is installed (CI installs it)', async (t) => {
  const addon = builtAddon(t);
  if (addon === null) return;
  assert.match(addon.version(), /^\d+\.\d+\.\d+$/);
  // OpenMP threads must not spin: under load from another process that made training 14x slower.
  if (process.env.GOMP_SPINCOUNT === undefined) assert.ok(process.env.OMP_WAIT_POLICY !== undefined, 'no OpenMP wait policy set');
  await initEngine({ native: true });
  assert.equal(engineInfo().native, `oneDNN ${addon.version()}`);
  await initEngine({ native: false });
  assert.equal(engineInfo().native, null);
  assert.equal(engineInfo().nativeUnavailable, 'turned off by the caller');
  await initEngine();
  assert.equal(engineInfo().native, `oneDNN ${addon.version()}`, 'native is the default when built');
});

test('the addon refuses tensors outside the heap and malformed calls', (t) => {
  const addon = builtAddon(t);
  if (addon === null) return;
  const heap = new ArrayBuffer(1024);
  // 1x4x4x1 input, 3x3x1x1 filter, 'same': offsets 0 / 64 / 128 fit; the output at 1000 does not.
  const params = Int32Array.from([1, 4, 4, 1, 3, 3, 1, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 64, 1000, 0, 0, 0, 0, 0]);
  assert.throws(() => addon.conv(0, heap, params), /outside the wasm heap/);
  params[21] = 128;
  assert.doesNotThrow(() => addon.conv(0, heap, params));
  // Through a ReLU: dy at 64 (4x4), y at 1000 does not fit.
  params.set([0, 64, 128, 0, 1000, 192], 19);
  assert.throws(() => addon.conv(3, heap, params), /outside the wasm heap/);
  // The whole layer's gradient through the ReLU: y at 1000 does not fit; then, y at 256 and the filter
  // at 320, dx at 1000 does not; without the ReLU y is not read.
  params[18] = 1;
  assert.throws(() => addon.conv(4, heap, params), /outside the wasm heap/);
  params.set([0, 64, 128, 0, 256, 192, 320, 1000], 19);
  assert.throws(() => addon.conv(4, heap, params), /outside the wasm heap/);
  params[26] = 384;
  assert.doesNotThrow(() => addon.conv(4, heap, params));
  params[18] = 0;
  params[23] = 1000;
  assert.doesNotThrow(() => addon.conv(4, heap, params));
  assert.throws(() => addon.conv(5 as 0, heap, params), /kind must be/);
  assert.throws(() => addon.conv(0, heap, new Int32Array(5)), /Int32Array of 27/);
});

function forward(c: ConvCase & { dilations?: [number, number] }, seed: number): () => tf.Tensor {
  const next = rng(seed);
  const x = randomValues(next, c.xShape.reduce((a, b) => a * b));
  const w = randomValues(next, c.filterShape.reduce((a, b) => a * b));
  return () => tf.engine().runKernel('Conv2D', { x: tf.tensor4d(x, c.xShape), filter: tf.tensor4d(w, c.filterShape) },
    { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations ?? [1, 1], dimRoundingMode: c.dimRoundingMode } as
      unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Runs `body` with the native kernels on; skipped (failing in CI) where the addon is not built. */
function nativeTest(name: string, body: () => Promise<void>): void {
  test(name, async (t) => {
    if (builtAddon(t) === null) return;
    await setupBackends(true);
    await body();
  });
}

/** Whether the native kernel takes the geometry (else it leaves it to WebAssembly): see native_conv.ts. */
function nativeTakes(c: ConvCase): boolean {
  const info = backend_util.computeConv2DInfo(c.xShape, c.filterShape, c.strides, 1, c.pad, c.dimRoundingMode, false, 'channelsLast');
  const bottom = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight - info.inHeight - info.padInfo.top;
  const right = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth - info.inWidth - info.padInfo.left;
  return bottom >= 0 && right >= 0;
}

// The shipped XNNPACK Conv2D is wrong for some strided geometries (e.g. x 2x6x4x7, filter 2x2, stride 3,
// 'same') and corrupts its heap on others (numeric padding with unequal strides), so the forward op is
// checked where the native kernel runs it; the models never use those geometries.
nativeTest('native Conv2D matches cpu on the model geometries and random ones', async () => {
  const cases = [...MODEL_CASES, ...randomCases(9876, 80)].filter(nativeTakes);
  assert.ok(cases.length >= 50, `only ${cases.length} geometries`);
  for (const [i, c] of cases.entries()) {
    const { error } = await compareBackends(forward(c, 900 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)}: relative error ${error}`);
  }
});

nativeTest('native Conv2D matches cpu with dilations', async () => {
  const cases = [
    { xShape: [2, 11, 9, 3], filterShape: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilations: [2, 2], dyShape: [0, 0, 0, 0] },
    { xShape: [1, 12, 12, 4], filterShape: [3, 2, 4, 2], strides: [1, 1], pad: 'valid', dilations: [2, 3], dyShape: [0, 0, 0, 0] },
  ] as Array<ConvCase & { dilations: [number, number] }>;
  for (const [i, c] of cases.entries()) {
    const { error } = await compareBackends(forward(c, 990 + i));
    assert.ok(error <= TOLERANCE, `${describe(c)} dilations=${c.dilations}: relative error ${error}`);
  }
});

nativeTest('native FusedConv2D (bias, ReLU) matches cpu; other activations keep the shipped kernel', async () => {
  const cases = [...MODEL_CASES, ...randomCases(4242, 30)].filter(nativeTakes);
  for (const [i, c] of cases.entries()) {
    const next = rng(1200 + i);
    const x = randomValues(next, c.xShape.reduce((a, b) => a * b));
    const w = randomValues(next, c.filterShape.reduce((a, b) => a * b));
    const b = randomValues(next, c.filterShape[3]);
    // 'elu' goes to the shipped kernel, which is checked on the model geometries only (see above).
    const activations = i < MODEL_CASES.length ? (['linear', 'relu', 'elu'] as const) : (['linear', 'relu'] as const);
    for (const activation of activations) {
      for (const withBias of [true, false]) {
        const { error } = await compareBackends(() =>
          tf.fused.conv2d({
            x: tf.tensor4d(x, c.xShape), filter: tf.tensor4d(w, c.filterShape), strides: c.strides, pad: c.pad as 'same',
            dimRoundingMode: c.dimRoundingMode, bias: withBias ? tf.tensor1d(b) : undefined, activation,
          }));
        assert.ok(error <= TOLERANCE, `${describe(c)} ${activation} bias=${withBias}: relative error ${error}`);
      }
    }
  }
});
