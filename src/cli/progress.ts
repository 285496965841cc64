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
