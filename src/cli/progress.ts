// A progress bar on stderr for interactive terminals; silent elsewhere (CI logs get one line per epoch).
import cliProgress from 'cli-progress';
import type { BatchProgress } from '../train/loop.js';

export function batchProgressBar(): { update: (p: BatchProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {epoch} |{bar}| {value}/{total} batches | loss {loss} | ETA {eta_formatted}',
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let epoch = -1;
  return {
    update: (p) => {
      if (p.epoch !== epoch) {
        if (epoch !== -1) bar.stop();
        epoch = p.epoch;
        bar.start(p.batches, 0, { epoch: p.epoch, loss: '-' });
      }
      bar.update(p.batch, { epoch: p.epoch, loss: p.loss.toFixed(4) });
      if (p.batch === p.batches) {
        bar.stop();
        epoch = -1;
      }
    },
    stop: () => bar.stop(),
  };
}

/** A bar over a known number of items (images); `interrupt` prints a line without breaking the bar. */
export function countProgressBar(total: number, unit: string): {
  update: (done: number) => void;
  interrupt: (print: () => void) => void;
  stop: () => void;
} {
  if (!process.stderr.isTTY || total < 2) return { update: () => {}, interrupt: (print) => print(), stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `|{bar}| {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(total, 0, { speed: '-' });
  return {
    update: (done) => bar.update(done, { speed: (done / ((performance.now() - started) / 1000)).toFixed(1) }),
    interrupt: (print) => {
      process.stderr.write('\r\x1b[K');
      print();
    },
    stop: () => bar.stop(),
  };
}

/**
 * `segment`'s bars on stderr: one over the images (from 2 of them), and under it, while a large field
 * is worked on (FIELD_BAR_MIN_STEPS tiles or more), one over its tiles and then its cells. Silent
 * unless stderr is a terminal. `log` prints a line above the bars.
 */
export const FIELD_BAR_MIN_STEPS = 16;

export function segmentProgress(totalImages: number): {
  image: (done: number) => void;
  field: (file: string, stage: 'find' | 'cells', done: number, total: number) => void;
  endImage: () => void;
  log: (line: string) => void;
  stop: () => void;
} {
  if (!process.stderr.isTTY) {
    return { image: () => {}, field: () => {}, endImage: () => {}, log: (line) => console.error(line), stop: () => {} };
  }
  const bars = new cliProgress.MultiBar(
    { stream: process.stderr, hideCursor: true, clearOnComplete: true, format: '|{bar}| {value}/{total} {unit} {what}' },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  const images = totalImages >= 2 ? bars.create(totalImages, 0, { unit: 'images', what: '' }) : null;
  let fieldBar: cliProgress.SingleBar | null = null;
  let stage = '';
  const endImage = () => {
    if (fieldBar) bars.remove(fieldBar);
    fieldBar = null;
    stage = '';
  };
  return {
    image: (done) => images?.update(done, { what: `| ${(done / ((performance.now() - started) / 1000)).toFixed(1)} images/s` }),
    field: (file, next, done, total) => {
      if (total < FIELD_BAR_MIN_STEPS && fieldBar === null) return;
      const unit = next === 'find' ? 'tiles' : 'cells';
      const what = `| ${next === 'find' ? 'finding cells in' : 'segmenting cells of'} ${basenameOf(file)}`;
      if (fieldBar === null || stage !== next) {
        if (fieldBar) bars.remove(fieldBar);
        fieldBar = bars.create(total, done, { unit, what });
        stage = next;
      }
      fieldBar.setTotal(total);
      fieldBar.update(done, { unit, what });
    },
    endImage,
    log: (line) => bars.log(`${line}\n`),
    stop: () => {
      endImage();
      bars.stop();
    },
  };
}

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
