// Checks of mask colouring, PNG encoding, prediction-grid layout, curves rendering and HTML
// escaping; the figures themselves are decoded with sharp to check their size and pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { LabelMask, RgbImage } from '../data/types.js';
import { SegmentationMeter } from '../metrics/confusion.js';
import { CLASS_COLORS, PALETTE, rgbToHex } from '../output/colors.js';
import { maskToGray, maskToRgb } from '../output/masks.js';
import { encodePng, writePng } from '../output/png.js';
import { layoutPredictionGrid, renderPredictionGrid, upscaleNearest, type GridRow } from './grid.js';
import { curvesSpec, renderCurves, type EpochPoint } from './curves.js';
import { escapeHtml, renderReportHtml, type ReportInput } from './html.js';

const mask = (width: number, height: number, labels: number[]): LabelMask => ({ width, height, data: Uint8Array.from(labels) });

test('maskToRgb colours each class with the palette', () => {
  // 2x2 mask [0 1 / 2 0] -> bg, cyto, nucleus, bg colours in row-major order.
  const rgb = maskToRgb(mask(2, 2, [0, 1, 2, 0]));
  assert.equal(rgb.width, 2);
  assert.equal(rgb.height, 2);
  const [bg, cyto, nuc] = [CLASS_COLORS.background, CLASS_COLORS.cytoplasm, CLASS_COLORS.nucleus];
  assert.deepEqual(Array.from(rgb.data), [...bg, ...cyto, ...nuc, ...bg]);
  assert.deepEqual(PALETTE, [bg, cyto, nuc]);
  assert.equal(rgbToHex([255, 0, 16]), '#ff0010');
  assert.throws(() => maskToRgb(mask(1, 1, [3])), /not a class/);
});

test('maskToGray uses the dataset levels 0/128/255', () => {
  assert.deepEqual(Array.from(maskToGray(mask(3, 1, [2, 0, 1]))), [255, 0, 128]);
});

test('encodePng round-trips RGB and gray pixels; writePng writes the file', async () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.from([255, 0, 0, 0, 0, 255]) };
  const decoded = await sharp(await encodePng(img)).raw().toBuffer({ resolveWithObject: true });
  assert.equal(decoded.info.width, 2);
  assert.equal(decoded.info.channels, 3);
  assert.deepEqual(Array.from(decoded.data), [255, 0, 0, 0, 0, 255]);
  const grayPng = await encodePng({ width: 1, height: 2, channels: 1, data: Uint8Array.from([7, 200]) });
  const gray = await sharp(grayPng).metadata();
  assert.deepEqual([gray.width, gray.height, gray.channels], [1, 2, 1], 'gray stays a 1-channel PNG');
  assert.deepEqual(Array.from(await sharp(grayPng).extractChannel(0).raw().toBuffer()), [7, 200]);
  await assert.rejects(() => encodePng({ width: 2, height: 2, data: new Uint8Array(3) }), /expected 2x2x3/);

  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-png-'));
  try {
    const path = join(dir, 'sub', 'x.png');
    await writePng(path, img);
    assert.equal((await sharp(await readFile(path)).metadata()).width, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('upscaleNearest repeats pixels into blocks', () => {
  const big = upscaleNearest({ width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) }, 2);
  assert.equal(big.width, 4);
  assert.equal(big.height, 2);
  const row = [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6];
  assert.deepEqual(Array.from(big.data), [...row, ...row]);
});

function gridRow(id: string, size: number, seed: number): GridRow {
  const image: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3).map((_, i) => (i * seed) % 256) };
  const labels = Array.from({ length: size * size }, (_, i) => (i + seed) % 3);
  return { id, image, truth: mask(size, size, labels), pred: mask(size, size, labels.map((l, i) => (i % 5 === 0 ? 0 : l))) };
}

test('prediction grid: 3 rows of 8x8 at scale 2 has the laid-out size and panel pixels', async () => {
  const rows = [gridRow('a', 8, 1), gridRow('b<&>', 8, 2), gridRow('c', 8, 3)];
  const png = await renderPredictionGrid(rows, { title: 'test <grid>' });
  const layout = layoutPredictionGrid(rows, { title: 'test <grid>' });
  // Hand layout: panels 16x16; label column at its minimum 120; margins 16.
  // width  = 16 + 120 + 3·16 + 2·8 (panel gaps) + 16 = 216
  // height = 16 + 30 (title) + 24 (headers) + 3·16 + 2·10 (row gaps) + 34 (legend) + 16 = 188
  assert.equal(layout.width, 216);
  assert.equal(layout.height, 188);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [216, 188, 3]);
  // The middle of the first row's truth panel pixel (0,0) block is class (0+1)%3 = cytoplasm.
  const x = layout.columnLeft[1] + 1;
  const y = layout.rowsTop + 1;
  const at = (y * info.width + x) * 3;
  assert.deepEqual(Array.from(data.subarray(at, at + 3)), [...CLASS_COLORS.cytoplasm]);
});

test('prediction grid rejects empty input and mismatched mask sizes', async () => {
  await assert.rejects(() => renderPredictionGrid([]), /at least one row/);
  const bad = gridRow('x', 4, 1);
  bad.pred = mask(2, 2, [0, 0, 0, 0]);
  await assert.rejects(() => renderPredictionGrid([bad]), /pred is 2x2/);
});

test('curves PNG decodes with a sane size, for 1 epoch and for 40', async () => {
  const one: EpochPoint[] = [{ epoch: 1, trainLoss: 0.9, trainDice: 0.6, testDice: 0.55 }];
  const forty: EpochPoint[] = Array.from({ length: 40 }, (_, i) => ({
    epoch: i + 1,
    trainLoss: Math.exp(-i / 8),
    trainDice: 0.95 - 0.5 * Math.exp(-i / 6),
    testDice: 0.93 - 0.5 * Math.exp(-i / 6),
    testLoss: Math.exp(-i / 9) + 0.1,
    valDice: 0.92 - 0.5 * Math.exp(-i / 6),
  }));
  for (const history of [one, forty]) {
    const meta = await sharp(await renderCurves(history)).metadata();
    assert.equal(meta.format, 'png');
    // Two ~340x240 charts side by side at pixel ratio 2, plus axes and legends.
    assert.ok(meta.width! > 1200 && meta.width! < 2600, `width ${meta.width}`);
    assert.ok(meta.height! > 500 && meta.height! < 900, `height ${meta.height}`);
  }
  assert.throws(() => curvesSpec([]), /empty/);
  // val appears only when given.
  assert.doesNotMatch(JSON.stringify(curvesSpec(one)), /"val"/);
  assert.match(JSON.stringify(curvesSpec(forty)), /"val"/);
});

function reportInput(): ReportInput {
  const meter = new SegmentationMeter();
  meter.add(Uint8Array.from([0, 1, 2, 1]), Uint8Array.from([0, 1, 2, 2]), { probs: new Float32Array(12).fill(1 / 3) });
  const metrics = meter.aggregate();
  return {
    runId: 'run-<7>',
    title: 'Cells & "nuclei"',
    config: { model: 'unet', note: '<script>alert(1)</script>', lr: 0.001 },
    epochs: [1, 2].map((epoch) => ({
      epoch,
      trainLoss: 0.5 / epoch,
      trainDice: 0.8,
      testDice: 0.75 + epoch / 100,
      testDicePerClass: { background: 0.99, cytoplasm: 0.7, nucleus: 0.81 },
      trainSeconds: 12.34,
      imagesPerSecond: 25.6,
    })),
    best: { epoch: 2, metrics },
    final: { epoch: 2, metrics },
    curvesFile: 'curves.png',
    predictionFiles: [
      { epoch: 10, file: 'predictions-epoch-10.png' },
      { epoch: 2, file: 'predictions-epoch-02.png' },
    ],
    notes: ['trained on <CPU>'],
  };
}

test('HTML report escapes text and references the figures in order', () => {
  const html = renderReportHtml(reportInput());
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.ok(!html.includes('<script'), 'config value must not become a script tag');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('run-&lt;7&gt;'));
  assert.ok(html.includes('Cells &amp; &quot;nuclei&quot;'));
  assert.ok(html.includes('trained on &lt;CPU&gt;'));
  assert.ok(html.includes('src="curves.png"'));
  const first = html.indexOf('src="predictions-epoch-02.png"');
  const second = html.indexOf('src="predictions-epoch-10.png"');
  assert.ok(first > 0 && second > first, 'prediction grids in epoch order');
  // Metrics from the hand 2x2 case (see metrics tests): cytoplasm Dice 2/3, whole cell 1, soft Dice 1/3.
  assert.match(html, /cytoplasm<\/th><td>0\.6667<\/td><td>0\.5000<\/td>/);
  assert.match(html, /whole cell<\/th><td>1\.0000<\/td>/);
  assert.match(html, /global soft Dice \(the study&#39;s MeanDice\)<\/th><td colspan="2">0\.3333/);
  // Per-epoch table, best epoch highlighted.
  assert.match(html, /<tr class="best"[^>]*><td>2<\/td><td>0\.2500<\/td><td>0\.8000<\/td><td>0\.7700<\/td><td>0\.9900<\/td><td>0\.7000<\/td><td>0\.8100<\/td><td>12\.3<\/td><td>25\.6<\/td>/);
  // Self-contained: no external URLs or scripts.
  assert.doesNotMatch(html, /https?:\/\//);
});

test('HTML report encodes odd file names instead of trusting them as URLs', () => {
  const input = { ...reportInput(), curvesFile: 'javascript:alert(1)', predictionFiles: [{ epoch: 1, file: 'my run/pred #1.png' }] };
  const html = renderReportHtml(input);
  assert.ok(html.includes('src="javascript%3Aalert(1)"'));
  assert.ok(html.includes('src="my%20run/pred%20%231.png"'));
});
