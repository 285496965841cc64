// Builds the web page into dist/web (index.html, app.js, app.css) with esbuild: the UI, TensorFlow.js
// and leukoseg's pure image code in one local bundle, so the page needs no CDN and works offline.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = dirname(fileURLToPath(import.meta.url));
const outDir = join(webDir, '..', 'dist', 'web');
const target = ['chrome111', 'firefox115', 'safari16.4'];

await mkdir(outDir, { recursive: true });
await build({
  entryPoints: { app: join(webDir, 'src', 'main.ts') },
  outdir: outDir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target,
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
await build({
  entryPoints: { app: join(webDir, 'styles.css') },
  outdir: outDir,
  bundle: true,
  minify: true,
  target,
  logLevel: 'warning',
});
await copyFile(join(webDir, 'index.html'), join(outDir, 'index.html'));
