// Builds the optional oneDNN convolution addon (native/onednn_conv.cc) when oneDNN's headers are
// installed (Debian: libdnnl-dev). Runs at `npm install` / `npm ci` and as `npm run build:native`.
// Never fails the install: without the addon, leukoseg runs every kernel on WebAssembly.
import { existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const header = process.env.LEUKOSEG_DNNL_HEADER ?? '/usr/include/oneapi/dnnl/dnnl.hpp';
const say = (line) => console.log(`leukoseg native: ${line}`);

if (process.env.LEUKOSEG_NATIVE === '0') {
  say('skipped (LEUKOSEG_NATIVE=0)');
  process.exit(0);
}
if (!existsSync(header)) {
  // A stale addon from an earlier build would no longer match the system: remove it.
  rmSync(join(here, 'build'), { recursive: true, force: true });
  say(`oneDNN not found (${header}); convolutions run on WebAssembly. For the native kernels: apt install libdnnl-dev, then npm run build:native`);
  process.exit(0);
}

// npm passes its own node-gyp to scripts; otherwise use the one npm ships with.
const nodeGyp =
  process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the installed Node's headers: node-gyp would otherwise download them.
const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
const args = [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const result = spawnSync(process.execPath, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  rmSync(join(here, 'build'), { recursive: true, force: true });
  say(`build failed; convolutions run on WebAssembly. node-gyp said:\n${(result.stderr || result.stdout || String(result.error)).slice(-2000)}`);
  process.exit(0);
}
say('built the native kernels (native/build/Release/leukoseg_onednn.node)');
