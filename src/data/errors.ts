// The one error type the data loaders throw for a bad input file: it keeps the file and the problem
// apart so the dataset loader can turn it into a DataIssue and skip the pair instead of crashing.
import type { DataIssue } from './types.js';

/** "<file>: <problem>", with both parts kept for DataIssue reports. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';

  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }

  toIssue(): DataIssue {
    return { file: this.file, problem: this.problem };
  }
}

/** The message of anything thrown, for wrapping low-level errors into readable ones. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
