// The published package as a user gets it: `npm pack`, then an offline install of the tarball into an empty
// folder (dependencies from npm's cache, as `npm ci` left it), then `npx leukoseg --version` and `segment`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, sharedDataset1 } from '../testing/paths.js';

const run = promisify(execFile);
const REGISTRY = 'https://registry.npmjs.org/';

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

/**
 * The environment without what `npm test` exports to its children (npm_config_*, npm_package_*): the nested
 * npm must read its own folder's settings, not the project's. onnxruntime-node's postinstall is told to skip
 * its CUDA download, as README.md tells users to.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  // LEUKOSEG_NATIVE=0: the install script runs but skips compiling the optional addon (half a minute of
  // both cores; `npm ci` in .ci/run builds and tests it). It uses npm's own node-gyp, never a dev dependency.
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', LEUKOSEG_NATIVE: '0', NO_UPDATE_NOTIFIER: '1' };
}

/**
 * A lock file for a project that depends on the tarball alone: the project's own lock without its
 * development packages, so `npm ci --offline` takes every dependency from the cache by its integrity
 * (an install without a lock would need the registry's package documents, which `npm ci` never caches).
 */
async function consumerLock(tarball: string, tarballBytes: Buffer): Promise<object> {
  const lock = JSON.parse(await readFile(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const packages: Record<string, object> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { leukoseg: spec } },
    'node_modules/leukoseg': {
      version: pkg.version, resolved: spec, integrity: `sha512-${createHash('sha512').update(tarballBytes).digest('base64')}`,
      license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines, hasInstallScript: true,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev) continue;
    const { devOptional, ...rest } = entry;
    // This machine's npm writes locks without `resolved` (omit-lockfile-registry-resolved), which would make
    // the offline install look up package documents; the registry's tarball address is fixed by name and version.
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = rest.resolved ?? `${REGISTRY}${name}/-/${name.split('/').pop()}-${String(rest.version)}.tgz`;
    packages[path] = { ...rest, resolved, ...(devOptional ? { optional: true } : {}) };
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** What `npm install` compiles the addon from: binding.gyp's sources and the headers they include. */
async function nativeSources(): Promise<string[]> {
  const gyp = JSON.parse(await readFile(join(PROJECT_ROOT, 'native', 'binding.gyp'), 'utf8')) as { targets: Array<{ sources: string[] }> };
  const sources = gyp.targets.flatMap((t) => t.sources);
  const headers = new Set<string>();
  for (const source of sources) {
    const text = await readFile(join(PROJECT_ROOT, 'native', source), 'utf8');
    for (const [, header] of text.matchAll(/^#include "([^"]+)"/gm)) headers.add(header);
  }
  return [...sources, ...headers].map((f) => `native/${f}`);
}

test('the packed tarball installs offline into an empty folder, and its leukoseg command runs', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'leukoseg-pack-'));
  try {
    // --ignore-scripts: `prepare` would rebuild dist/ while other test files run from it (npm test built it).
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PROJECT_ROOT, env: cleanEnv() });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = new Set(packed.files.map((f) => f.path));
    for (const needed of [
      'package.json', 'README.md', 'LICENSE', 'bin/leukoseg.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      'dist/web/index.html', 'dist/web/app.js', 'dist/web/app.css', 'models/default/model.json', 'models/default/weights.bin',
      'native/binding.gyp', 'native/build.mjs', ...(await nativeSources()),
    ]) {
      assert.ok(files.has(needed), `the tarball lacks ${needed}`);
    }
    const stray = [...files].filter((f) => /^(src|node_modules|runs|native\/build)\//.test(f));
    assert.deepEqual(stray, [], 'sources, dependencies, runs and native build output stay out of the tarball');

    const app = join(dir, 'app');
    await run('mkdir', [app]);
    const tarballBytes = await readFile(join(dir, packed.filename));
    const tarball = join('..', packed.filename);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { leukoseg: `file:${tarball}` } }));
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await consumerLock(tarball, tarballBytes)));
    const env = cleanEnv();
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, env, timeout: 180_000 }).catch((err: Error & { stderr?: string }) => {
      const hint = /ENOTCACHED/.test(err.stderr ?? '') ? ' (a dependency is not in npm\'s cache: run `npm ci` in the project first)' : '';
      throw new Error(`offline install of ${packed.filename} failed${hint}:\n${err.stderr ?? err.message}`);
    });

    const version = await run('npx', ['--no', '--', 'leukoseg', '--version'], { cwd: app, env });
    const { version: expected } = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), expected);

    const image = join(sharedDataset1(), '001.bmp');
    const seg = await run('npx', ['--no', '--', 'leukoseg', 'segment', image, '--out', 'out'], { cwd: app, env, timeout: 60_000 });
    t.diagnostic(seg.stdout.trim().split('\n')[0]);
    assert.match(seg.stdout, /1 of 1 image\(s\) segmented .* on onnx/, 'the installed copy segments on ONNX Runtime');
    const results = JSON.parse(await readFile(join(app, 'out', 'results.json'), 'utf8')) as { images: Array<{ name: string; cellAreaPx: number; nucleusAreaPx: number }> };
    assert.equal(results.images.length, 1);
    const [row] = results.images;
    assert.ok(row.name === '001' && row.cellAreaPx > 1000 && row.nucleusAreaPx > 500, `a cell with a nucleus: ${JSON.stringify(row)}`);
    const mask = await readFile(join(app, 'out', '001.mask.png'));
    assert.deepEqual([...mask.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG mask');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
