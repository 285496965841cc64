// Whether a path exists, without throwing: for "use the cache if it is there" decisions.
import { stat } from 'node:fs/promises';

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
