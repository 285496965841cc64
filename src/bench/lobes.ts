// Nucleus lobes against the data sets' cell-type labels: per data set, on ground-truth masks and on the
// bundled model's masks, how many lobes neutrophils, lymphocytes, monocytes and eosinophils get, for the
// 'opening' count (before) and the 'necks' count (after); a grid of neck ratios for tuning; a picture.
//
//   npm run build && npm run build:dev && node dist-dev/bench/lobes.js                 # the README table (test split)
//   node dist-dev/bench/lobes.js --part tuning --neck-ratios 0.3,0.5,0.6,0.7,0.8,0.9   # the tuning grid
//   node dist-dev/bench/lobes.js --picture lobes.png --images 1/204,1/003 --masks truth
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import sharp from 'sharp';
import { decodeImage, decodeMaskLevels } from '../data/decode.js';
import { labelsFromGray } from '../data/masks.js';
import type { LabelMask, RgbImage } from '../data/types.js';
import { MODEL_JSON, recordedSplits, type ModelMetadata } from '../models/io.js';
import { DEFAULT_MODEL_DIR, loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { measureCell, nucleusLobeParts, NECK_RATIO, type MeasureOptions } from '../infer/morphometrics.js';
import { findMainCell } from '../infer/postprocess.js';
import { sharedDataRoot } from '../testing/paths.js';
import { readCellTypes, type CellType } from './cell-types.js';

const PARTS = ['test', 'tuning', 'all'] as const;
type Part = (typeof PARTS)[number];
const MASK_SOURCES = ['truth', 'model'] as const;
type MaskSource = (typeof MASK_SOURCES)[number];

async function readTruth(file: string): Promise<LabelMask> {
  return labelsFromGray(await decodeMaskLevels(file)).mask;
}

/** One way of counting lobes, as it appears in the table. */
interface Counting {
  name: string;
  options: MeasureOptions;
}

interface CellCounts {
  dataset: number;
  id: string;
  type: CellType;
  masks: MaskSource;
  /** lobes[k]: the count of countings[k]. */
  lobes: number[];
}

const share = (hits: number, n: number): string => (n === 0 ? '–' : `${hits}/${n} (${Math.round((100 * hits) / n)} %)`);

/** Lobe counts of one cell type as "1: a, 2: b, 3+: c". */
function spread(lobes: number[]): string {
  const n = (test: (k: number) => boolean): number => lobes.filter(test).length;
  return lobes.length === 0 ? '–' : `${n((k) => k <= 1)} / ${n((k) => k === 2)} / ${n((k) => k >= 3)}`;
}

/**
 * Agreement with what each type typically shows, the figure a neck ratio is tuned by: the mean over
 * neutrophils with 2-5 lobes, lymphocytes and monocytes with 1, eosinophils with 2 (basophils,
 * 1 + 3 in all, are left out).
 */
function agreement(rows: CellCounts[], k: number): number {
  const typical: [CellType, (lobes: number) => boolean][] = [
    ['neutrophil', (l) => l >= 2 && l <= 5],
    ['lymphocyte', (l) => l === 1],
    ['monocyte', (l) => l === 1],
    ['eosinophil', (l) => l === 2],
  ];
  const rates = typical.flatMap(([type, ok]) => {
    const of = rows.filter((r) => r.type === type);
    return of.length === 0 ? [] : [of.filter((r) => ok(r.lobes[k])).length / of.length];
  });
  return rates.reduce((a, b) => a + b, 0) / rates.length;
}

function table(rows: CellCounts[], countings: Counting[]): string {
  const out = [
    '| data set | masks | lobes | neutrophils >= 2 | lymphocytes 1 | neutrophils 1 / 2 / 3+ | monocytes 1 / 2 / 3+ | eosinophils 1 / 2 / 3+ | agreement |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const dataset of [...new Set(rows.map((r) => r.dataset))]) {
    for (const masks of MASK_SOURCES) {
      const here = rows.filter((r) => r.dataset === dataset && r.masks === masks);
      if (here.length === 0) continue;
      countings.forEach((counting, k) => {
        const of = (type: CellType): number[] => here.filter((r) => r.type === type).map((r) => r.lobes[k]);
        const neutrophils = of('neutrophil');
        const lymphocytes = of('lymphocyte');
        out.push(
          `| Dataset ${dataset} (${here.length}) | ${masks === 'truth' ? 'ground truth' : 'bundled model'} | ${counting.name} | ` +
            `${share(neutrophils.filter((l) => l >= 2).length, neutrophils.length)} | ${share(lymphocytes.filter((l) => l === 1).length, lymphocytes.length)} | ` +
            `${spread(neutrophils)} | ${spread(of('monocyte'))} | ${spread(of('eosinophil'))} | ${agreement(here, k).toFixed(3)} |`,
        );
      });
    }
  }
  return out.join('\n');
}

/** The main cell's nucleus of a label mask as 0/1. */
function mainNucleus(mask: LabelMask): Uint8Array {
  const { components, label } = findMainCell(mask);
  return Uint8Array.from(mask.data, (c, p) => (label !== 0 && components.labels[p] === label && c === 2 ? 1 : 0));
}

const LOBE_COLOURS = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
];

/** The image beside its mask with each lobe in its own colour (crumbs too small to be lobes dark gray), enlarged to about 360 px. */
async function lobeTile(image: RgbImage, mask: LabelMask, options: MeasureOptions, caption: string): Promise<{ png: Buffer; width: number; height: number }> {
  const { width, height } = mask;
  const { parts, isLobe, lobes } = nucleusLobeParts(mainNucleus(mask), width, height, options);
  let next = 0;
  const colours = isLobe.map((lobe) => (lobe ? LOBE_COLOURS[next++ % LOBE_COLOURS.length] : [80, 80, 80]));
  const painted = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const part = parts.labels[p];
    painted.set(part > 0 ? colours[part - 1] : mask.data[p] === 1 ? [205, 205, 205] : [255, 255, 255], p * 3);
  }
  const scale = Math.max(1, Math.round(360 / Math.max(width, height)));
  const big = (data: Uint8Array): Promise<Buffer> => sharp(Buffer.from(data), { raw: { width, height, channels: 3 } }).resize(width * scale, height * scale, { kernel: 'nearest' }).png().toBuffer();
  const text = `${caption}: ${lobes} lobe${lobes === 1 ? '' : 's'}`;
  const label = Buffer.from(`<svg width="${2 * width * scale}" height="28"><text x="6" y="21" font-size="20" font-family="sans-serif">${text}</text></svg>`);
  const tile = sharp({ create: { width: 2 * width * scale, height: height * scale + 28, channels: 3, background: '#ffffff' } }).composite([
    { input: label, left: 0, top: 0 },
    { input: await big(image.data), left: 0, top: 28 },
    { input: await big(painted), left: width * scale, top: 28 },
  ]);
  return { png: await tile.png().toBuffer(), width: 2 * width * scale, height: height * scale + 28 };
}

async function picture(file: string, images: string[], data: string, sources: MaskSource[], counting: Counting, segmenter: Segmenter | null): Promise<void> {
  const tiles: { png: Buffer; width: number; height: number }[] = [];
  for (const spec of images) {
    const match = /^([12])\/(\d+)$/.exec(spec);
    if (match === null) throw new Error(`--images: expected DATASET/ID such as 1/204, got '${spec}'`);
    const id = match[2].padStart(3, '0');
    const base = join(data, `Dataset ${match[1]}`, id);
    const image = await decodeImage(`${base}.bmp`);
    for (const masks of sources) {
      const mask = masks === 'truth' ? await readTruth(`${base}.png`) : (await segmenter!.segment({ ...image, channels: 3 })).mask;
      tiles.push(await lobeTile(image, mask, counting.options, `Dataset ${match[1]} ${id}.bmp, ${masks === 'truth' ? 'ground truth' : 'bundled model'}, ${counting.name}`));
    }
  }
  const width = Math.max(...tiles.map((t) => t.width));
  let top = 0;
  const placed = tiles.map((t) => {
    const at = { input: t.png, left: 0, top };
    top += t.height + 6;
    return at;
  });
  await writeFile(file, await sharp({ create: { width, height: top, channels: 3, background: '#ffffff' } }).composite(placed).png().toBuffer());
  console.log(`wrote ${file}`);
}

/** The bundled model's metadata (its recorded splits) without loading its weights. */
async function readBundledMetadata(): Promise<ModelMetadata> {
  const file = join(DEFAULT_MODEL_DIR, MODEL_JSON);
  const json = JSON.parse(await readFile(file, 'utf8')) as { userDefinedMetadata?: { leukoseg?: ModelMetadata } };
  const metadata = json.userDefinedMetadata?.leukoseg;
  if (metadata === undefined) throw new Error(`${file}: no leukoseg metadata`);
  return metadata;
}

interface Options {
  data: string;
  part: Part;
  masks: string;
  neckRatios: string;
  json?: boolean;
  picture?: string;
  images: string;
}

async function main(): Promise<void> {
  const program = new Command('lobes')
    .description('nucleus lobe counts against the cell-type labels of segmentation_WBC')
    .option('--data <dir>', 'the segmentation_WBC folder', sharedDataRoot())
    .addOption(new Option('--part <part>', "images: the bundled model's recorded test split, the rest (tuning), or all").choices(PARTS).default('test'))
    .option('--masks <list>', 'truth, model or both', MASK_SOURCES.join(','))
    .option('--neck-ratios <list>', "neck ratios for 'necks' (comma-separated)", String(NECK_RATIO))
    .option('--json', 'print every cell as JSON instead of the table')
    .option('--picture <file>', 'draw the lobes of --images into this PNG instead')
    .option('--images <list>', 'for --picture: DATASET/ID, comma-separated', '1/204')
    .allowExcessArguments(false)
    .parse();
  const o = program.opts<Options>();
  const data = resolve(o.data);
  const sources = o.masks.split(',').map((s) => s.trim());
  const bad = sources.filter((s) => !(MASK_SOURCES as readonly string[]).includes(s));
  if (bad.length > 0 || sources.length === 0) throw new Error(`--masks: unknown ${bad.join(', ')}; must be among ${MASK_SOURCES.join(', ')}`);
  const ratios = o.neckRatios.split(',').map(Number);
  if (ratios.some((r) => !(r >= 0 && r <= 1))) throw new Error(`--neck-ratios: each must be a number from 0 to 1, got '${o.neckRatios}'`);
  const countings: Counting[] = [
    { name: 'opening (before)', options: { lobeMethod: 'opening' } },
    ...ratios.map((neckRatio) => ({ name: `necks ${neckRatio}`, options: { lobeMethod: 'necks' as const, neckRatio } })),
  ];
  const segmenter = sources.includes('model') ? await loadSegmenter() : null;
  try {
    if (o.picture !== undefined) {
      await picture(resolve(o.picture), o.images.split(','), data, sources as MaskSource[], countings[countings.length - 1], segmenter);
      return;
    }
    const splits = recordedSplits(segmenter?.metadata ?? (await readBundledMetadata()));
    const rows: CellCounts[] = [];
    for (const dataset of [1, 2]) {
      const types = await readCellTypes(join(data, `Class Labels of Dataset ${dataset}.csv`));
      const test = new Set(splits.find((s) => s.dataset === `Dataset ${dataset}`)?.testIds ?? []);
      if (test.size === 0) throw new Error(`the bundled model records no test split for Dataset ${dataset}`);
      for (const [id, type] of types) {
        if ((o.part === 'test' && !test.has(id)) || (o.part === 'tuning' && test.has(id))) continue;
        const base = join(data, `Dataset ${dataset}`, id);
        for (const masks of sources) {
          const mask = masks === 'truth' ? await readTruth(`${base}.png`) : (await segmenter!.segment(`${base}.bmp`)).mask;
          rows.push({ dataset, id, type, masks: masks as MaskSource, lobes: countings.map((c) => measureCell(mask, c.options).nucleusLobes) });
        }
      }
    }
    if (o.json) {
      console.log(JSON.stringify({ part: o.part, countings, cells: rows }));
      return;
    }
    console.log(`${o.part === 'test' ? "the bundled model's recorded test split" : o.part === 'tuning' ? "the bundled model's training and validation images" : 'all images'}; agreement: mean of neutrophils 2-5, lymphocytes 1, monocytes 1, eosinophils 2`);
    console.log(table(rows, countings));
    if (countings.length > 2) {
      const groups = [1, 2].flatMap((d) => MASK_SOURCES.map((m) => rows.filter((r) => r.dataset === d && r.masks === m))).filter((g) => g.length > 0);
      const pooled = countings.map((c, k) => `${c.name}: ${(groups.reduce((sum, g) => sum + agreement(g, k), 0) / groups.length).toFixed(3)}`);
      console.log(`\nagreement, mean over the data sets and mask sources: ${pooled.join(', ')}`);
    }
  } finally {
    segmenter?.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
