// The compiled tree the package ships (dist/) holds no tests, fixtures or developer tools, while
// dist-dev/ (what npm test runs) holds every test in src/: the two tsconfigs agree with this list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PROJECT_ROOT } from './testing/paths.js';

/** Modules (paths under src/, without extension) that exist for tests or developers only. */
const DEV_MODULES = [
  'testing/', 'bench/',
  'engine/testing', 'engine/conv_cases', 'engine/profile', 'engine/model3', 'engine/kernel_timer',
  'data/fixtures', 'data/numpy-reference', 'server/fixtures',
];

const isTest = (path: string): boolean => /\.test\.(ts|js|d\.ts|js\.map)$/.test(path);
const isDev = (path: string): boolean => DEV_MODULES.some((m) => (m.endsWith('/') ? path.startsWith(m) : path.replace(/\.(d\.ts|js\.map|js|ts)$/, '') === m));

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

test('dist/ (the package) has no test, fixture or developer-tool file', async () => {
  const shipped = await files(join(PROJECT_ROOT, 'dist'));
  assert.ok(shipped.includes('index.js') && shipped.includes('cli/main.js') && shipped.includes('web/app.js'), 'the library, CLI and page are built');
  assert.deepEqual(shipped.filter((f) => isTest(f) || isDev(f)), []);
});

test('dist-dev/ holds every test of src/ and, beyond dist/, nothing but tests and developer tools', async () => {
  const sources = (await files(join(PROJECT_ROOT, 'src'))).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const dev = await files(join(PROJECT_ROOT, 'dist-dev'));
  const compiled = new Set(dev);
  const tests = sources.filter(isTest);
  assert.ok(tests.length > 40, `${tests.length} test files`);
  assert.deepEqual(tests.filter((f) => !compiled.has(f.replace(/\.ts$/, '.js'))), [], 'tests npm test would not run');
  for (const m of DEV_MODULES.filter((x) => !x.endsWith('/'))) assert.ok(compiled.has(`${m}.js`), `${m}.js is built for the tests`);
  const shipped = new Set((await files(join(PROJECT_ROOT, 'dist'))).filter((f) => f.endsWith('.js')));
  const extra = dev.filter((f) => f.endsWith('.js') && !shipped.has(f) && !f.startsWith('web/'));
  assert.deepEqual(extra.filter((f) => !isTest(f) && !isDev(f)), [], 'library modules missing from the package');
});
