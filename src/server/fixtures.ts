// What the server tests share: the bundled model (they test whatever is in models/default) and real
// Dataset 1 images from the shared copy, each failing with a message that says what is missing.
import { recordedSplits } from '../models/io.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR, loadSegmenter, type Segmenter } from '../infer/segmenter.js';
import { sharedDataset1 } from '../testing/paths.js';

export async function loadBundledSegmenter(): Promise<Segmenter> {
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) {
    throw new Error(`no bundled model in ${DEFAULT_MODEL_DIR} (model.json + weights.bin): the server tests use it`);
  }
  return loadSegmenter();
}

/** Ids of Dataset 1 test images: the model's recorded test split first, so the page shows unseen cells. */
export function testImageIds(model: Pick<Segmenter, 'metadata'>, count: number): string[] {
  const ids = recordedSplits(model.metadata).find((s) => s.dataset === 'Dataset 1')?.testIds ?? [];
  return [...ids, '001', '002', '003'].slice(0, count);
}

export function datasetImage(id: string): string {
  const file = join(sharedDataset1(), `${id}.bmp`);
  if (!existsSync(file)) throw new Error(`${file} is missing: set LEUKOSEG_DATA to the segmentation_WBC folder`);
  return file;
}
