// `leukoseg train` refuses bad configuration before touching data: a misspelt key in a --config file
// is named with its path and the file, not dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../testing/paths.js';

const run = promisify(execFile);

test('a misspelt key in a --config file is refused, naming the file and the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-train-cli-'));
  try {
    const file = join(dir, 'typo.json');
    await writeFile(file, JSON.stringify({ train: { epoch: 2 } }));
    const err = await run(process.execPath, [join(PROJECT_ROOT, 'bin', 'leukoseg.js'), 'train', '--preset', 'study-model-3', '--config', file, '--out', dir]).then(
      () => assert.fail('expected a refusal'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, new RegExp(`invalid config file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\n  train: Unrecognized key: "epoch"`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
