// What an export says about the leukoseg that wrote it: version, license and address, from the
// package.json of this installation (two folders above dist/export/).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface ProjectInfo {
  version: string;
  license: string;
  /** `homepage` of package.json, else the package's npm page. */
  url: string;
}

export async function projectInfo(): Promise<ProjectInfo> {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  const pkg = JSON.parse(await readFile(file, 'utf8')) as { name?: unknown; version?: unknown; license?: unknown; homepage?: unknown };
  if (typeof pkg.version !== 'string' || typeof pkg.license !== 'string' || typeof pkg.name !== 'string') {
    throw new Error(`${file}: needs "name", "version" and "license" strings`);
  }
  const url = typeof pkg.homepage === 'string' ? pkg.homepage : `https://www.npmjs.com/package/${pkg.name}`;
  return { version: pkg.version, license: pkg.license, url };
}
