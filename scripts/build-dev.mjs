// Builds dist-dev/: all of src/ (tests, fixtures and developer tools included) with tsconfig.dev.json,
// and beside it the web page `npm run build` made in dist/web, where the server looks for it
// (dist-dev/server/../web). Starts from an empty folder, so a deleted test never runs again.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-dev');
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.dev.json')], { stdio: 'inherit' });
const web = join(root, 'dist', 'web');
if (!existsSync(web)) throw new Error(`${web} is missing: run npm run build first`);
cpSync(web, join(out, 'web'), { recursive: true });
