#!/usr/bin/env node
// Entry point of the `leukoseg` command: the compiled CLI (npm ci builds dist/ through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(`leukoseg: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
