// Test-time views: the eight views are the eight distinct flips and quarter turns of a crop, the
// dihedral average is the same for a crop and its quarter turn (the flips' average is not), and a
// model.json's views are read as saved, with the older flag and a command's --tta / --no-tta.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../engine/index.js';
import { predictTensors } from './predict.js';
import { viewTransforms, viewsFor } from './views.js';

before(async () => {
  await initEngine();
});

/** A 3x3 one-channel crop with nine different values: every flip and quarter turn of it differs. */
const asymmetric = () => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);

test('none, flips and dihedral make 1, 4 and 8 views; the 8 are every distinct flip and quarter turn', () => {
  assert.deepEqual((['none', 'flips', 'dihedral'] as const).map((v) => viewTransforms(v).length), [1, 4, 8]);
  const views = tf.tidy(() => viewTransforms('dihedral').map((view) => Array.from(view(asymmetric()).dataSync()).join(',')));
  assert.equal(views[0], '1,2,3,4,5,6,7,8,9', 'the first view is the crop itself');
  assert.equal(new Set(views).size, 8, views.join(' | '));
  // A quarter turn (clockwise: 7 4 1 / 8 5 2 / 9 6 3) is among them; the flips alone do not hold it.
  assert.ok(views.includes('7,4,1,8,5,2,9,6,3'));
  assert.ok(!views.slice(0, 4).includes('7,4,1,8,5,2,9,6,3'));
});

test('the dihedral average is the same for a crop and its quarter turn; the flips average is not', () => {
  // A dense layer on the flattened crop: its softmax depends on where each pixel is.
  const input = tfl.input({ shape: [3, 3, 1] });
  const head = tfl.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) }).apply(tfl.layers.flatten().apply(input)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: head });
  try {
    const turned = () => tf.reverse(tf.transpose(asymmetric(), [0, 2, 1, 3]), [2]);
    const gap = (views: 'none' | 'flips' | 'dihedral') =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(predictTensors(model, [asymmetric()], views), predictTensors(model, [turned()], views)))).dataSync()[0]);
    assert.ok(gap('dihedral') < 1e-6, `dihedral: ${gap('dihedral')}`);
    assert.ok(gap('flips') > 1e-3, `flips: ${gap('flips')}`);
    assert.ok(gap('none') > 1e-3, `none: ${gap('none')}`);
    const sums = tf.tidy(() => Array.from(tf.sum(predictTensors(model, [asymmetric()], 'dihedral'), 1).dataSync()));
    assert.ok(Math.abs(sums[0] - 1) < 1e-5, 'an average of softmaxes sums to 1');
  } finally {
    model.dispose();
  }
});

test("a model.json's views: as saved, else the older inference.tta flag; --tta keeps them (at least flips), --no-tta drops them", () => {
  assert.equal(viewsFor({ views: 'dihedral' }, false), 'dihedral');
  assert.equal(viewsFor({}, true), 'flips');
  assert.equal(viewsFor({}, undefined), 'none');
  assert.equal(viewsFor({ views: 'dihedral' }, false, true), 'dihedral');
  assert.equal(viewsFor({}, false, true), 'flips');
  assert.equal(viewsFor({ views: 'dihedral' }, true, false), 'none');
});
