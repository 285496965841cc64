// results.csv / results.json / results.jsonl of `leukoseg segment`, kept true while the run goes:
// the previous run's files are replaced before the first image, each image's rows (one per cell)
// are appended to results.jsonl as the image finishes, and the CSV and JSON are rewritten atomically every few
// seconds and at the end (or interruption), so a stopped run keeps every measurement it made;
// differential.csv (cells per type per folder) is rewritten with them.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { rowsToCsv, type SegmentRow } from '../output/results.js';
import { differential, differentialCsv } from '../classify/differential.js';

export const RESULTS_CSV = 'results.csv';
export const RESULTS_JSON = 'results.json';
export const RESULTS_JSONL = 'results.jsonl';
/** Cells per type and percentage per image folder (src/classify/differential.ts). */
export const DIFFERENTIAL_CSV = 'differential.csv';

/** 'running' while images remain, 'complete' when all were tried, 'interrupted' when a signal stopped the run. */
export type RunStatus = 'running' | 'complete' | 'interrupted';

export interface ResultsHeader {
  model: { dir: string; architecture: string; preset: string | null };
  umPerPx: number | null;
}

export interface Failure {
  file: string;
  error: string;
}

export class ResultsWriter {
  readonly rows: SegmentRow[] = [];
  readonly failed: Failure[] = [];
  private lastFlush = performance.now();
  private readonly started = performance.now();

  private constructor(
    private readonly outDir: string,
    private readonly header: ResultsHeader,
    private readonly files: readonly string[],
    private readonly flushEveryMs: number,
  ) {}

  /** Creates `outDir` and replaces any earlier results there with this run's empty ones. */
  static async start(outDir: string, header: ResultsHeader, files: readonly string[], flushEveryMs = 2000): Promise<ResultsWriter> {
    await mkdir(outDir, { recursive: true });
    const writer = new ResultsWriter(outDir, header, files, flushEveryMs);
    await writeFile(join(outDir, RESULTS_JSONL), '');
    await writer.flush('running');
    return writer;
  }

  /** Records the rows (one per cell, or its no-cell row) of an image whose masks and overlay are on disk. */
  async add(...rows: SegmentRow[]): Promise<void> {
    // One write per image: a run killed outright loses at most the lines being written.
    await appendFile(join(this.outDir, RESULTS_JSONL), rows.map((row) => JSON.stringify(row) + '\n').join(''));
    this.rows.push(...rows);
    if (performance.now() - this.lastFlush >= this.flushEveryMs) await this.flush('running');
  }

  fail(file: string, error: string): void {
    this.failed.push({ file, error });
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Rewrites results.csv and results.json (atomically) with everything recorded so far. */
  async flush(status: RunStatus, signal: string | null = null): Promise<void> {
    const done = new Set([...this.rows.map((r) => r.file), ...this.failed.map((f) => f.file)]);
    const seconds = this.seconds;
    await writeFileAtomic(join(this.outDir, RESULTS_CSV), rowsToCsv(this.rows));
    await writeFileAtomic(join(this.outDir, DIFFERENTIAL_CSV), differentialCsv(differential(this.rows)));
    await writeJsonAtomic(join(this.outDir, RESULTS_JSON), {
      ...this.header,
      status,
      signal,
      images: this.rows,
      failed: this.failed,
      notProcessed: this.files.filter((f) => !done.has(f)),
      seconds,
      imagesPerSecond: seconds > 0 ? new Set(this.rows.map((r) => r.file)).size / seconds : 0,
    });
    this.lastFlush = performance.now();
  }
}
