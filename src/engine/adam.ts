// Adam for training on the engine: tfjs's AdamOptimizer (same state, weights, config and numbers),
// whose step runs as one kernel per variable (kernels/adam.ts) where that kernel is registered for
// the active backend, and as tfjs's own ~13 kernels per variable elsewhere.
//
//   model.compile({ optimizer: adam(0.001), loss: 'categoricalCrossentropy' });
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, adamInPlace, type AdamEntry, type AdamUpdateAttrs } from './kernels/adam.js';
import type { BackendWasm } from './kernels/scratch.js';
import { activeBackendHas } from './kernels/scratch.js';
import { adamState } from './tfjs-internals.js';

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Serialised as Keras's Adam: a saved model or optimizer reads back as plain Adam. */
  static override get className(): string {
    return 'Adam';
  }

  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const state = adamState(this);
    const t = this.iterations + 1;
    if (!activeBackendHas(ADAM_UPDATE)) {
      // tfjs's step reads the bias corrections from accBeta*, which the fused step leaves alone.
      // (Where those fields are gone, tfjs-internals.ts keeps the engine off and no fused step ran.)
      if (state.accBeta1 instanceof tf.Variable && state.accBeta2 instanceof tf.Variable) {
        tf.tidy(() => {
          state.accBeta1.assign(tf.scalar(this.beta1 ** t));
          state.accBeta2.assign(tf.scalar(this.beta2 ** t));
        });
      }
      super.applyGradients(variableGradients);
      return;
    }
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: 1 - this.beta1 ** t,
      correction2: 1 - this.beta2 ** t,
    };
    const entries: Array<AdamEntry & { value: tf.Variable; m: tf.Variable; v: tf.Variable; gradient: tf.Tensor }> = [];
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      // Moments are created at a variable's first step, named as tfjs names them.
      state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      entries.push({ value, m: state.accumulatedFirstMoment[i]!.variable, v: state.accumulatedSecondMoment[i]!.variable, gradient });
    });
    // One native call for every variable whose moments it may write in place; one kernel for each other one.
    const { rest, values } = tf.getBackend() === 'wasm' ? adamInPlace(tf.backend() as BackendWasm, entries, attrs) : { rest: entries, values: [] };
    for (const { entry, value } of values) {
      const stepped = tf.engine().makeTensorFromTensorInfo(value);
      entry.value.assign(stepped);
      stepped.dispose();
    }
    if (rest.length > 0) {
      tf.tidy(() => {
        for (const { value, m, v, gradient } of rest) {
          const [newValue, newM, newV] = tf.engine().runKernel(
            ADAM_UPDATE,
            { value, m, v, gradient },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
          m.assign(newM);
          v.assign(newV);
          value.assign(newValue);
        }
      });
    }
    this.incrementIterations();
  }
}

/** Adam with Keras's defaults except the learning rate; the fused step where the engine has it. */
export function adam(learningRate = 0.001): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate);
}
