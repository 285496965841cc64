// The tensors a kernel saves for its gradient, as new references to the same buffer instead of tfjs's
// clones. tfjs-core saves each through Engine.clone: a full kernel call (Identity) and a tape node of
// its own per saved tensor, 72 of Model 3's 158 kernel calls per training step, ~11 % of the step's
// CPU time. Backends count references (leukoseg's Identity is one such reference anyway), so a new
// Tensor on the buffer, counted by the backend, is what the clone was, minus the dispatch.
// A clone's tape node only matters for gradients of gradients, so nested tapes keep tfjs's clones.
// Installed with the training set-up (fused_layers.ts), on tfjs-core's engine; its private fields
// are checked first, and where one is missing the engine keeps its own method.
import * as tf from '@tensorflow/tfjs-core';

/** The private parts of tfjs-core's Engine this reads. */
interface EngineInternals {
  state: { gradientDepth: number; tensorInfo: { get(dataId: object): { backend: object } | undefined } };
  backend: { incRef(dataId: object): void };
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromDataId(dataId: object, shape: number[], dtype: tf.DataType): tf.Tensor;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
}

type Save = EngineInternals['saveTensorsForBackwardMode'];
const ORIGINAL = Symbol.for('leukoseg.engine.original.saveTensorsForBackwardMode');

function engineInternals(): EngineInternals | null {
  const e = tf.engine() as unknown as Partial<EngineInternals>;
  const ok =
    typeof e.saveTensorsForBackwardMode === 'function' && typeof e.keep === 'function' && typeof e.makeTensorFromDataId === 'function' &&
    typeof e.state?.gradientDepth === 'number' && typeof e.state?.tensorInfo?.get === 'function' &&
    typeof e.backend?.incRef === 'function';
  return ok ? (e as EngineInternals) : null;
}

/** Whether the engine's saved tensors are shared references now. */
export function savedTensorsShared(): boolean {
  return Object.prototype.hasOwnProperty.call(tf.engine(), ORIGINAL);
}

/** Makes the engine save tensors as shared references (idempotent); false when its internals are not as expected. */
export function useSharedSavedTensors(): boolean {
  if (savedTensorsShared()) return true;
  const engine = engineInternals();
  if (engine === null) return false;
  const original = engine.saveTensorsForBackwardMode;
  const shared: Save = function (this: EngineInternals, tensors) {
    const plain = this.state.gradientDepth === 1 && tensors.every((t) =>
      t.dtype !== 'string' && t.dtype !== 'complex64' && this.state.tensorInfo.get(t.dataId)?.backend === this.backend);
    if (!plain) return original.call(this, tensors);
    return tensors.map((t) => {
      this.backend.incRef(t.dataId);
      return this.keep(this.makeTensorFromDataId(t.dataId, t.shape, t.dtype));
    });
  };
  Object.defineProperty(engine, ORIGINAL, { value: original, configurable: true });
  engine.saveTensorsForBackwardMode = shared;
  return true;
}

/** Puts tfjs's cloning back. */
export function useClonedSavedTensors(): void {
  const engine = tf.engine() as unknown as EngineInternals & { [ORIGINAL]?: Save };
  const original = engine[ORIGINAL];
  if (original === undefined) return;
  // The method lives on Engine.prototype: dropping the instance's own restores it.
  delete (engine as Partial<EngineInternals>).saveTensorsForBackwardMode;
  if (engine.saveTensorsForBackwardMode !== original) engine.saveTensorsForBackwardMode = original;
  delete engine[ORIGINAL];
}
