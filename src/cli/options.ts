// Options several subcommands share, declared once with the values they accept, so that a typo such
// as `--backend cuda` is refused by commander ("Allowed choices are ...") instead of running on a default.
import { InvalidArgumentError, Option } from 'commander';
import type { EngineBackend } from '../engine/index.js';
import type { SegmenterRuntime } from '../infer/segmenter.js';

export const BACKENDS: readonly EngineBackend[] = ['wasm', 'cpu'];
export const RUNTIMES: readonly SegmenterRuntime[] = ['onnx', 'tfjs'];

/** `--backend wasm|cpu` (default wasm); `what` says what it runs, e.g. 'for tfjs'. */
export function backendOption(what = ''): Option {
  return new Option('--backend <name>', `TensorFlow.js backend${what ? ` ${what}` : ''}: wasm (fast) or cpu (reference)`)
    .choices(BACKENDS)
    .default('wasm');
}

/** `--runtime onnx|tfjs`; no default here: the segmenter picks ONNX Runtime when it loads. */
export function runtimeOption(): Option {
  return new Option('--runtime <name>', 'onnx (ONNX Runtime, the default when it loads) or tfjs').choices(RUNTIMES);
}

/** A whole number of at least 1, for commander (its error names the value). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  return n;
}

/** A finite number above 0, for commander. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}
