// Checkpoints that survive a kill at any moment: each epoch's weights and optimizer state go to a
// fresh folder, then `checkpoint.json` (written atomically, last) points at it; older folders go after.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic.js';
import { loadModel, saveModel, type ModelMetadata } from '../models/io.js';
import type { EpochRecord } from './types.js';

const POINTER = 'checkpoint.json';
const CHECKPOINTS = 'checkpoints';

export interface CheckpointState {
  /** Last completed epoch. */
  epoch: number;
  /** Folder (relative to the run folder) holding that epoch's model and optimizer state. */
  dir: string;
  history: EpochRecord[];
  bestEpoch: number;
}

export async function writeCheckpoint(
  runDir: string,
  model: tfl.LayersModel,
  metadata: ModelMetadata,
  state: Omit<CheckpointState, 'dir'>,
): Promise<void> {
  const rel = join(CHECKPOINTS, `epoch-${String(state.epoch).padStart(3, '0')}`);
  const dir = join(runDir, rel);
  await saveModel(model, dir, { ...metadata, epoch: state.epoch });
  if (model.optimizer) {
    const named = await model.optimizer.getWeights();
    const { data, specs } = await tf.io.encodeWeights(named);
    // getWeights hands out the live moment variables plus a fresh step-count scalar ('iter'): only the latter is ours to free.
    tf.dispose(named.filter((w) => w.name === 'iter').map((w) => w.tensor));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'optimizer.bin'), new Uint8Array(data as ArrayBuffer));
    await writeFile(join(dir, 'optimizer.json'), JSON.stringify(specs));
  }
  await writeJsonAtomic(join(runDir, POINTER), { ...state, dir: rel });
  // Only now is the previous checkpoint unreferenced.
  const keep = rel.split('/').pop();
  for (const entry of await readdir(join(runDir, CHECKPOINTS))) {
    if (entry !== keep) await rm(join(runDir, CHECKPOINTS, entry), { recursive: true, force: true });
  }
}

export async function readCheckpointState(runDir: string): Promise<CheckpointState | null> {
  try {
    return JSON.parse(await readFile(join(runDir, POINTER), 'utf8')) as CheckpointState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${join(runDir, POINTER)}: unreadable checkpoint pointer (${(err as Error).message})`);
  }
}

/** Loads the checkpointed model; call `restoreOptimizer` after compiling it. */
export async function loadCheckpointModel(runDir: string, state: CheckpointState): Promise<tfl.LayersModel> {
  return (await loadModel(join(runDir, state.dir))).model;
}

/** Puts Adam's moments and step count back, so a resumed run continues as if never stopped. */
export async function restoreOptimizer(runDir: string, state: CheckpointState, model: tfl.LayersModel): Promise<void> {
  const dir = join(runDir, state.dir);
  let specs: tf.io.WeightsManifestEntry[];
  let data: Buffer;
  try {
    specs = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8'));
    data = await readFile(join(dir, 'optimizer.bin'));
  } catch (err) {
    throw new Error(`${dir}: optimizer state missing or unreadable (${(err as Error).message})`);
  }
  const map = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, specs);
  await model.optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
  // The optimizer's variables hold their own references to the data.
  tf.dispose(Object.values(map));
}
