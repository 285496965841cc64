// Every subcommand with --backend or --runtime refuses values it does not know before doing any work
// (it used to run `--backend cuda` on wasm without a word).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from './main.js';

/** Parses argv with the real program; commander's errors are thrown instead of exiting. */
async function parse(args: string[]): Promise<string> {
  const program = buildProgram();
  const errors: string[] = [];
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => {} });
    c.commands.forEach(quiet);
  };
  quiet(program);
  await assert.rejects(program.parseAsync(['node', 'leukoseg', ...args]), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'commander.invalidArgument', err.message);
    return true;
  });
  return errors.join('');
}

for (const command of [['train'], ['evaluate'], ['calibrate'], ['segment', 'x.png'], ['serve']]) {
  test(`${command[0]} refuses an unknown --backend`, async () => {
    const err = await parse([...command, '--backend', 'cuda']);
    assert.match(err, /option '--backend <name>' argument 'cuda' is invalid\. Allowed choices are wasm, cpu/);
  });
}

for (const command of [['segment', 'x.png'], ['serve']]) {
  test(`${command[0]} refuses an unknown --runtime`, async () => {
    const err = await parse([...command, '--runtime', 'tensorrt']);
    assert.match(err, /option '--runtime <name>' argument 'tensorrt' is invalid\. Allowed choices are onnx, tfjs/);
  });
}

test("segment's --cell-diameter takes pixels or 'native' and refuses anything else", async () => {
  for (const bad of ['0', '-3', 'big', 'Native']) {
    const err = await parse(['segment', 'x.png', '--cell-diameter', bad]);
    assert.match(err, new RegExp(`option '--cell-diameter <px\\|native>' argument '${bad}' is invalid\\. expected a number of pixels above 0 or 'native', got "${bad}"`));
  }
});
