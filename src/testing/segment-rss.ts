// Runs the leukoseg command in this process and prints its peak resident memory on stderr at the
// end ("peak RSS <MiB> MiB"), for tests that bound what a run may use.
import { main } from '../cli/main.js';

main(['node', 'leukoseg', ...process.argv.slice(2)])
  .catch((err: unknown) => {
    console.error(`leukoseg: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => console.error(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`));
