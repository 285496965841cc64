// Where tests find the real data set: $LEUKOSEG_DATA, else ../shared/datasets/segmentation_WBC beside
// the checkout (CI lays it there). Tests never copy it into the project.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The package root (the folder with package.json), from dist-dev/testing/ or src/testing/. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedDataRoot(): string {
  return process.env.LEUKOSEG_DATA ?? resolve(PROJECT_ROOT, '..', 'shared', 'datasets', 'segmentation_WBC');
}

export function sharedDataset1(): string {
  return resolve(sharedDataRoot(), 'Dataset 1');
}
