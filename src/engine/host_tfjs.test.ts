// Importing leukoseg leaves the host's TensorFlow.js as it was: tfjs's Softmax, Relu and Mean gradients
// tfjs-layers' BatchNormalization.call / Conv2D.call / L1L2.apply and tfjs-core's way of saving
// tensors for gradients stay the shipped ones, also after an inference
// initEngine; initEngine({ training: true }) installs leukoseg's, and they can be put back. When a
// private tfjs field the engine reads is gone, it runs plain TensorFlow.js and says which field.
// Each case runs in its own Node process, importing the package by its name as a host would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../testing/paths.js';

const HOST_PRELUDE = `
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
const bn = Object.getPrototypeOf(tfl.layers.batchNormalization({}));
const l1l2 = Object.getPrototypeOf(tfl.regularizers.l2({ l2: 0.01 }));
const conv = Object.getPrototypeOf(tfl.layers.conv2d({ filters: 1, kernelSize: 1 }));
const grad = (name) => tf.getGradient(name).gradFunc;
const save = () => tf.engine().saveTensorsForBackwardMode;
const shipped = { Softmax: grad('Softmax'), Relu: grad('Relu'), Mean: grad('Mean'), call: bn.call, conv: conv.call, apply: l1l2.apply, save: save() };
const now = () => ({ Softmax: grad('Softmax'), Relu: grad('Relu'), Mean: grad('Mean'), call: bn.call, conv: conv.call, apply: l1l2.apply, save: save() });
const same = () => Object.fromEntries(Object.entries(now()).map(([k, v]) => [k, v === shipped[k]]));
const out = {};
`;

async function runHost(body: string): Promise<{ out: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', HOST_PRELUDE + body + '\nconsole.log(JSON.stringify(out));'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LEUKOSEG_NATIVE: '0' },
  });
  return { out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>, stderr };
}

const ALL_SHIPPED = { Softmax: true, Relu: true, Mean: true, call: true, conv: true, apply: true, save: true };
const NONE_SHIPPED = { Softmax: false, Relu: false, Mean: false, call: false, conv: false, apply: false, save: false };

test('importing leukoseg and initEngine for inference leave tfjs as shipped; training installs leukoseg\'s; both can be undone', async () => {
  const { out } = await runHost(`
    const leukoseg = await import('leukoseg');
    out.afterImport = same();
    await leukoseg.initEngine();
    out.afterInferenceInit = same();
    await leukoseg.initEngine({ training: true });
    out.afterTrainingInit = same();
    const { engineInfo, useLayersAsShipped, useShippedGradients } = await import('./dist/engine/index.js');
    out.training = engineInfo().training;
    useLayersAsShipped();
    useShippedGradients();
    out.afterUndo = same();
  `);
  assert.deepEqual(out.afterImport, ALL_SHIPPED);
  assert.deepEqual(out.afterInferenceInit, ALL_SHIPPED);
  assert.deepEqual(out.afterTrainingInit, NONE_SHIPPED);
  assert.equal(out.training, true);
  assert.deepEqual(out.afterUndo, ALL_SHIPPED);
});

test('a missing private tfjs field makes the engine run plain tfjs, named in a message and in engineInfo', async () => {
  const { out, stderr } = await runHost(`
    delete l1l2.apply; // as if a tfjs release had renamed L1L2's method
    const { initEngine, engineInfo } = await import('./dist/engine/index.js');
    await initEngine({ training: true });
    const info = engineInfo();
    out.missing = info.missingInternals;
    out.replacedKernels = info.replacedKernels.length;
    out.training = info.training;
    out.native = info.native;
    out.gradientsShipped = [same().Softmax, same().Relu];
    out.callShipped = same().call;
  `);
  assert.deepEqual(out.missing, ['L1L2.apply']);
  assert.equal(out.replacedKernels, 0);
  assert.equal(out.training, false);
  assert.equal(out.native, null);
  assert.deepEqual(out.gradientsShipped, [true, true]);
  assert.equal(out.callShipped, true);
  assert.match(stderr, /leukoseg engine: this TensorFlow\.js lacks L1L2\.apply; running plain TensorFlow\.js/);
});
