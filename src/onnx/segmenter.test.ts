// The segmenter on ONNX Runtime against the same segmenter on tfjs, on real Dataset 1 images at their own
// size: identical raw and cleaned masks and cell measurements, with and without flip TTA; no tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { loadSegmenter } from '../infer/segmenter.js';
import { findPairs } from '../data/dataset.js';
import { sharedDataset1 } from '../testing/paths.js';

function differingPixels(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

test('ONNX is the default runtime, and its masks equal the tfjs ones on real images (TTA off and on)', async (t) => {
  const { pairs } = await findPairs(sharedDataset1());
  const files = pairs.filter((_, i) => i % 60 === 7).map((p) => p.imagePath); // 5 images spread over the set
  // tta: false explicitly, since a bundled model's metadata may turn flips on by default.
  const onnx = await loadSegmenter({ tta: false });
  const tfjs = await loadSegmenter({ runtime: 'tfjs', tta: false });
  const onnxTta = await loadSegmenter({ runtime: 'onnx', tta: true });
  const tfjsTta = await loadSegmenter({ runtime: 'tfjs', tta: true });
  try {
    assert.equal(onnx.runtime, 'onnx');
    assert.equal(tfjs.runtime, 'tfjs');
    let pixels = 0;
    for (const file of files) {
      for (const [a, b] of [[onnx, tfjs], [onnxTta, tfjsTta]] as const) {
        const [ra, rb] = [await a.segment(file), await b.segment(file)];
        pixels += ra.rawMask.data.length;
        // Probabilities differ by < 1e-6; a pixel could only flip where two classes tie that closely.
        assert.equal(differingPixels(ra.rawMask.data, rb.rawMask.data), 0, `${file}: raw masks differ`);
        assert.equal(differingPixels(ra.mask.data, rb.mask.data), 0, `${file}: masks differ`);
        assert.equal(ra.stats.nucleusAreaPx, rb.stats.nucleusAreaPx);
        assert.ok(Math.abs((ra.stats.meanConfidence?.nucleus ?? 0) - (rb.stats.meanConfidence?.nucleus ?? 0)) < 1e-5);
      }
    }
    t.diagnostic(`${files.length} images, ${pixels} mask pixels compared, 0 differ`);
  } finally {
    for (const s of [onnx, tfjs, onnxTta, tfjsTta]) s.dispose();
  }
});

test('the ONNX segmenter frees every tfjs tensor it makes; a bad runtime name is refused', async () => {
  const { pairs } = await findPairs(sharedDataset1());
  const seg = await loadSegmenter({ runtime: 'onnx' });
  try {
    await seg.segment(pairs[0].imagePath);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await seg.segment(pairs[i].imagePath);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    seg.dispose();
  }
  await assert.rejects(loadSegmenter({ runtime: 'tensorflow' as 'onnx' }), /runtime must be 'onnx' or 'tfjs', but got 'tensorflow'/);
});
