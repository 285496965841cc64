// Training curves figure: "Dice vs epoch" and "loss vs epoch" side by side, built as a
// vega-lite spec, rendered headless to SVG by vega and rasterised to PNG by sharp.
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  trainDice: number;
  testDice: number;
  testLoss?: number;
  valDice?: number;
}

export interface CurvesOptions {
  /** Pixels per SVG unit; 2 gives crisp text on high-density screens. Default 2. */
  pixelRatio?: number;
  title?: string;
}

/** One plotted value, in vega-lite's long format (one row per epoch, series and value). */
interface CurveDatum {
  epoch: number;
  series: 'train' | 'test' | 'val';
  value: number;
}

const SERIES_COLORS = { train: '#1f77b4', test: '#e4572e', val: '#2ca02c' } as const;
const FONT = 'DejaVu Sans';

/** Long-format rows for the chosen fields; non-finite values (e.g. a NaN loss) are left out, not plotted as 0. */
function longFormat(history: readonly EpochPoint[], fields: Partial<Record<CurveDatum['series'], keyof EpochPoint>>): CurveDatum[] {
  const out: CurveDatum[] = [];
  for (const point of history) {
    for (const [series, field] of Object.entries(fields) as [CurveDatum['series'], keyof EpochPoint][]) {
      const value = point[field];
      if (typeof value === 'number' && Number.isFinite(value)) out.push({ epoch: point.epoch, series, value });
    }
  }
  return out;
}

/** Integer tick values for short runs; long runs let vega choose (at whole epochs). */
function epochAxis(epochs: number[]): { domain: [number, number]; values?: number[] } {
  const first = Math.min(...epochs);
  const last = Math.max(...epochs);
  // A single epoch gets one epoch of room either side, so its point sits in the middle.
  const domain: [number, number] = first === last ? [first - 1, last + 1] : [first, last];
  if (domain[1] - domain[0] > 20) return { domain };
  const values: number[] = [];
  for (let e = Math.ceil(domain[0]); e <= domain[1]; e++) values.push(e);
  return { domain, values };
}

/**
 * y range with some headroom; a flat or single-value series would otherwise get a zero-height
 * domain. Bounded to [0, 1] for Dice.
 */
function valueDomain(values: CurveDatum[], bounded: boolean): [number, number] | undefined {
  if (values.length === 0) return undefined;
  const min = Math.min(...values.map((v) => v.value));
  const max = Math.max(...values.map((v) => v.value));
  const pad = Math.max((max - min) * 0.05, Math.abs(max) * 0.02, 0.01);
  const low = min - pad;
  const high = max + pad;
  return bounded ? [Math.max(0, low), Math.min(1, high)] : [low, high];
}

function chart(title: string, yTitle: string, values: CurveDatum[], epochs: number[], bounded: boolean): Record<string, unknown> {
  const series = [...new Set(values.map((v) => v.series))];
  const axis = epochAxis(epochs);
  return {
    title,
    width: 340,
    height: 240,
    data: { values },
    // Points as well as lines so that a single epoch (no line segment) is still visible.
    mark: { type: 'line', point: { size: epochs.length > 30 ? 18 : 40 }, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: axis.domain, nice: false, padding: 10 },
        axis: { format: 'd', tickMinStep: 1, ...(axis.values ? { values: axis.values } : {}) },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: yTitle,
        scale: { zero: false, nice: true, domain: valueDomain(values, bounded) },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: series, range: series.map((s) => SERIES_COLORS[s]) },
        // Outside the plot: inside, it would hide the converged end of the curves.
        legend: { orient: 'right' },
      },
      tooltip: [{ field: 'epoch' }, { field: 'series' }, { field: 'value', format: '.4f' }],
    },
  };
}

/** The two-chart vega-lite spec; exported for inspection and tests. */
export function curvesSpec(history: readonly EpochPoint[], title?: string): TopLevelSpec {
  if (history.length === 0) throw new Error('cannot plot curves: the history is empty');
  const epochs = history.map((p) => p.epoch);
  const dice = longFormat(history, { train: 'trainDice', test: 'testDice', val: 'valDice' });
  const loss = longFormat(history, { train: 'trainLoss', test: 'testLoss' });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(title ? { title: { text: title, anchor: 'start', fontSize: 15 } } : {}),
    background: 'white',
    padding: 12,
    hconcat: [chart('Dice vs epoch', 'Dice', dice, epochs, true), chart('loss vs epoch', 'loss', loss, epochs, false)],
    resolve: { scale: { color: 'independent' } },
    config: {
      font: FONT,
      view: { stroke: '#ccc' },
      title: { fontSize: 14, font: FONT },
      axis: { labelFont: FONT, titleFont: FONT, gridColor: '#eee' },
      legend: { labelFont: FONT, labelFontSize: 12 },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** Renders the curves to SVG text (headless vega, no canvas needed). */
export async function renderCurvesSvg(history: readonly EpochPoint[], title?: string): Promise<string> {
  const compiled = compile(curvesSpec(history, title)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize(); // releases timers and listeners so the process can exit
  }
}

/** Renders the curves to PNG bytes; throws on an empty history. */
export async function renderCurves(history: readonly EpochPoint[], options: CurvesOptions = {}): Promise<Buffer> {
  const svg = await renderCurvesSvg(history, options.title);
  const density = 72 * (options.pixelRatio ?? 2); // sharp renders SVG at 72 dpi = 1 px per unit
  return sharp(Buffer.from(svg), { density }).flatten({ background: '#ffffff' }).png().toBuffer();
}
