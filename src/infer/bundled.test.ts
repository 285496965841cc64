// The bundled model, used as a user would (loadSegmenter() with no arguments, no data set configured),
// on each data set's test split recorded with it: mask quality against the truth, and morphometrics that agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadSegmenter } from './segmenter.js';
import { measureCell } from './morphometrics.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import { decodeMaskLevels } from '../data/decode.js';
import { labelsFromGray } from '../data/masks.js';
import { sharedDataRoot } from '../testing/paths.js';
import { recordedSplits } from '../models/io.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((x, y) => x + y, 0) / a.length;
  const mb = b.reduce((x, y) => x + y, 0) / b.length;
  let num = 0;
  let da = 0;
  let db = 0;
  a.forEach((v, i) => {
    num += (v - ma) * (b[i] - mb);
    da += (v - ma) ** 2;
    db += (b[i] - mb) ** 2;
  });
  return num / Math.sqrt(da * db);
}

/**
 * Floors a little under what the bundled model measures on each data set's recorded test split
 * (README, "The bundled model"): a regression in decoding, resizing, post-processing or the weights
 * shows up here. N:C divides two areas, so it carries both areas' errors.
 */
const FLOORS = {
  'Dataset 1': { nucleus: 0.965, cytoplasm: 0.945, wholeCell: 0.98, ncMedianError: 0.12, ncPearson: 0.95 },
  'Dataset 2': { nucleus: 0.97, cytoplasm: 0.93, wholeCell: 0.965, ncMedianError: 0.12, ncPearson: 0.88 },
} as const;

test('the bundled model segments each data set\'s recorded test split well, and its N:C ratios agree with the truth', async () => {
  const seg = await loadSegmenter();
  try {
    const splits = recordedSplits(seg.metadata);
    assert.deepEqual(splits.map((s) => [s.dataset, s.testIds.length]), [['Dataset 1', 90], ['Dataset 2', 30]], 'the bundled model records both test splits');
    for (const split of splits) {
      const folder = join(sharedDataRoot(), split.dataset);
      assert.ok(existsSync(folder), `no data set at ${folder}: set LEUKOSEG_DATA or lay ../shared beside the checkout`);
      const floors = FLOORS[split.dataset as keyof typeof FLOORS];
      const meter = new SegmentationMeter();
      const truthNc: number[] = [];
      const predNc: number[] = [];
      for (const id of split.testIds) {
        const result = await seg.segment(join(folder, `${id}.bmp`));
        const truth = labelsFromGray(await decodeMaskLevels(join(folder, `${id}.png`)), { maxDistance: 127 }).mask;
        assert.deepEqual([result.width, result.height], [truth.width, truth.height], `${id}: mask at the image's own size`);
        meter.add(result.mask.data, truth.data);
        truthNc.push(measureCell(truth).ncRatio ?? Number.NaN);
        predNc.push(result.stats.ncRatio ?? Number.NaN);
      }
      const m = meter.aggregate();
      const relErrors = truthNc.map((t, i) => Math.abs(predNc[i] - t) / t);
      console.log(`bundled model (${seg.metadata.preset}), ${split.dataset}: ${m.images} test images at native size, post-processed: ` +
        `Dice nucleus ${m.dice.nucleus.toFixed(4)} cytoplasm ${m.dice.cytoplasm.toFixed(4)} whole cell ${m.dice.wholeCell.toFixed(4)}; ` +
        `N:C median relative error ${median(relErrors).toFixed(3)}, Pearson r ${pearson(truthNc, predNc).toFixed(3)}`);
      assert.ok(m.dice.nucleus >= floors.nucleus, `${split.dataset}: nucleus Dice ${m.dice.nucleus}`);
      assert.ok(m.dice.cytoplasm >= floors.cytoplasm, `${split.dataset}: cytoplasm Dice ${m.dice.cytoplasm}`);
      assert.ok(m.dice.wholeCell >= floors.wholeCell, `${split.dataset}: whole-cell Dice ${m.dice.wholeCell}`);
      assert.ok(predNc.every(Number.isFinite), `${split.dataset}: every test image yields an N:C ratio`);
      assert.ok(median(relErrors) <= floors.ncMedianError, `${split.dataset}: median N:C relative error ${median(relErrors)}`);
      assert.ok(pearson(truthNc, predNc) >= floors.ncPearson, `${split.dataset}: N:C correlation ${pearson(truthNc, predNc)}`);
    }
  } finally {
    seg.dispose();
  }
});
