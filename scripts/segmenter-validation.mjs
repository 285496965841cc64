// Validation Dice of segmenters on the validation images the first one records (both sources), at each
// image's own size, plain argmax with flips, post-processed as segment does and raw as evaluate scores
// (a model that labels other cells or specks as cell loses only the raw figure); each model alone, then
// all of them with their probabilities averaged. Run from the repository after npm run build:
//   node scripts/segmenter-validation.mjs models/default runs/<id>/model [...]
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset, loadModel, initEngine } from '../dist/index.js';
import { prepareInput, finishSegmentation } from '../dist/infer/pipeline.js';
import { predictProbs, probsToImageSize } from '../dist/models/predict.js';
import { squareFitOf } from '../dist/models/preprocessing.js';
await initEngine();
const dirs = process.argv.slice(2);
const models = await Promise.all(dirs.map((d) => loadModel(d)));
const meta = models[0].metadata;
const pre = meta.preprocessing;
if (dirs.length === 0) throw new Error('usage: node scripts/segmenter-validation.mjs MODEL_DIR [MODEL_DIR ...] (data: $LEUKOSEG_DATA or ../shared/datasets/segmentation_WBC)');
const root = process.env.LEUKOSEG_DATA ?? '../shared/datasets/segmentation_WBC';
const variants = [...dirs.map((_, i) => [i]), ...(dirs.length > 1 ? [dirs.map((_, i) => i)] : [])];
for (const src of ['Dataset 1', 'Dataset 2']) {
  const ids = new Set(meta.splits.find((s) => s.dataset === src).validationIds);
  const ds = await loadDataset({ dir: `${root}/${src}` });
  const counts = () => ({ c: [0, 0, 0], n: [0, 0, 0], w: [0, 0, 0] });
  const tot = variants.map(() => ({ post: counts(), raw: counts() }));
  for (const s of ds.samples.filter((s) => ids.has(s.id))) {
    const { width, height } = s.originalImage;
    const input = prepareInput(s.originalImage, pre);
    const probs = models.map(({ model }) => tf.tidy(() => probsToImageSize(tf.squeeze(predictProbs(model, tf.tensor4d(input, [1, pre.inputSize, pre.inputSize, 3]), true), [0]), width, height, squareFitOf(pre)).dataSync()));
    variants.forEach((v, vi) => {
      const p = new Float32Array(probs[0].length);
      for (const i of v) for (let j = 0; j < p.length; j++) p[j] += probs[i][j] / v.length;
      const done = finishSegmentation(p, width, height, { image: s.originalImage });
      const t = s.originalMask.data;
      for (const [m, acc] of [[done.mask.data, tot[vi].post], [done.rawMask.data, tot[vi].raw]]) {
        for (let i = 0; i < t.length; i++) {
          for (const [k, cls] of [['c', 1], ['n', 2]]) { const a = t[i] === cls, b = m[i] === cls; acc[k][0] += a && b; acc[k][1] += a; acc[k][2] += b; }
          const a = t[i] > 0, b = m[i] > 0; acc.w[0] += a && b; acc.w[1] += a; acc.w[2] += b;
        }
      }
    });
  }
  const dice = (a) => ((2 * a[0]) / (a[1] + a[2])).toFixed(4);
  const figures = (acc) => `nucleus ${dice(acc.n)} cytoplasm ${dice(acc.c)} whole ${dice(acc.w)}`;
  variants.forEach((v, vi) => console.log(src, ids.size, 'images', v.map((i) => dirs[i]).join(' + '), 'post-processed:', figures(tot[vi].post), '| raw:', figures(tot[vi].raw)));
}
