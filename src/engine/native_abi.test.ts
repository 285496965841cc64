// The addon's ABI check: a build whose argument layout is not the one this code passes (another
// abiVersion, none, or missing functions) is refused with a message saying how to rebuild, and the
// engine then runs on WebAssembly instead of calling it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAddon, NATIVE_ABI_VERSION, NATIVE_FUNCTIONS } from './native.js';
import { builtAddon } from './testing.js';


function fakeAddon(abiVersion: number | undefined, without: string[] = []): Record<string, unknown> {
  const addon: Record<string, unknown> = abiVersion === undefined ? {} : { abiVersion };
  for (const name of NATIVE_FUNCTIONS) if (!without.includes(name)) addon[name] = () => undefined;
  return addon;
}

test('checkAddon accepts its own ABI version and refuses others, none, and missing functions', () => {
  const path = '/x/leukoseg_onednn.node';
  assert.equal(typeof (checkAddon(fakeAddon(NATIVE_ABI_VERSION), path) as { conv?: unknown }).conv, 'function');
  const other = checkAddon(fakeAddon(NATIVE_ABI_VERSION + 1), path);
  assert.ok(other instanceof Error);
  assert.match(other.message, new RegExp(`/x/leukoseg_onednn.node is a build for ABI version ${NATIVE_ABI_VERSION + 1}, this leukoseg needs version ${NATIVE_ABI_VERSION}: rebuild it with npm run build:native`));
  const none = checkAddon(fakeAddon(undefined), path);
  assert.ok(none instanceof Error);
  assert.match(none.message, /stale build \(it reports no ABI version/);
  const partial = checkAddon(fakeAddon(NATIVE_ABI_VERSION, ['adamInPlace', 'maxPool2x2']), path);
  assert.ok(partial instanceof Error);
  assert.match(partial.message, /lacks maxPool2x2, adamInPlace/);
  assert.ok(checkAddon(null, path) instanceof Error);
});

test('the built addon reports the ABI version this code expects', (t) => {
  const addon = builtAddon(t);
  if (addon === null) return;
  assert.equal(addon.abiVersion, NATIVE_ABI_VERSION);
});

test('the engine refuses a stale build and runs on WebAssembly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leukoseg-abi-'));
  try {
    // A stand-in for an addon built from older sources: every function there, another ABI version.
    const fake = join(dir, 'stale.cjs');
    const functions = NATIVE_FUNCTIONS.map((name) => `${name}() { throw new Error('the stale build was called'); }`).join(',\n');
    writeFileSync(fake, `module.exports = { abiVersion: ${NATIVE_ABI_VERSION - 1},\n${functions} };\n`);
    const index = fileURLToPath(new URL('./index.js', import.meta.url));
    const script = `
      const tf = await import('@tensorflow/tfjs-core');
      const { initEngine, engineInfo } = await import(${JSON.stringify(index)});
      await initEngine({ training: true });
      // A convolution runs (on WebAssembly: the stale build would throw if called).
      const y = tf.conv2d(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 2]), 1, 'same');
      const info = engineInfo();
      console.log(JSON.stringify({ native: info.native, why: info.nativeUnavailable, sum: (await tf.sum(y).data())[0] }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, LEUKOSEG_NATIVE_ADDON: fake, LEUKOSEG_NATIVE: '1' },
      encoding: 'utf8',
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { native: string | null; why: string; sum: number };
    assert.equal(result.native, null);
    assert.match(result.why, new RegExp(`stale.cjs is a build for ABI version ${NATIVE_ABI_VERSION - 1}, this leukoseg needs version ${NATIVE_ABI_VERSION}`));
    // Ones: each of 2 output channels sums its 3x3 'same' window over 2 input channels, a window of
    // 4 pixels at the 4 corners, 6 at the 8 other border pixels and 9 at the 4 inner ones.
    assert.equal(result.sum, 2 * 2 * (4 * 4 + 8 * 6 + 4 * 9));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
