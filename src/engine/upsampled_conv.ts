// A stride-1 'same' convolution of a 2x nearest-neighbour up-sampling, computed on the input before
// the up-sampling: the study's Models 2 and 3 up-sample and then convolve with a 5x5 filter, so every
// 5x5 window of the large image reads at most 3x3 distinct pixels of the small one. Each of the four
// output phases (even or odd row, even or odd column) is a 3x3 convolution of the small image whose
// taps are sums of the 5x5 filter's taps, so one 3x3 convolution with 4x the output channels,
// interleaved into the large image, gives the same result with 36 instead of 100 multiply-adds per
// output pixel and channel pair (float sums in another order: equal up to rounding). Its gradients
// come from tfjs's autodiff of these ops; the up-sampling's gradient is never needed.
//
//   const y = phaseConv(small, kernel, bias, 'relu');   // = relu(conv2d(upSample2x(small), kernel) + bias)
import * as tf from '@tensorflow/tfjs-core';

/** The offsets, in small-image pixels, that tap `d` (0..k-1) of a k-tap axis reads in output phase `phase` (0, 1). */
export function smallOffset(d: number, phase: number, k: number): number {
  return Math.floor((phase + d - (k - 1) / 2) / 2);
}

/** Taps per axis of the phases' filter: the offsets smallOffset takes for an odd k, always centred. */
export function phaseTaps(k: number): number {
  return 2 * -smallOffset(0, 0, k) + 1;
}

/** Whether a k x k filter gains from phases: an odd k of at least 5 (for 3x3, 4 phases of 3x3 cost as much). */
export function phasesPay(k: number): boolean {
  return Number.isInteger(k) && k % 2 === 1 && k >= 5;
}

/**
 * The phases' filter from a k x k one, as plain arrays: `filter` is [k, k, ci, co] (HWIO), the result
 * [ke, ke, ci, 4 co], where output channel (a * 2 + c) * co + j of tap (ey, ex) is the sum of the taps
 * (dy, dx) that read the small image at (ey, ex) in output phase (a, c).
 */
export function foldTaps(filter: ArrayLike<number>, k: number, ci: number, co: number): Float32Array {
  return sumTaps(filter, k, ci, co, true);
}

/** The gradient of foldTaps: each tap of the k x k filter gets the sum of what its phases' taps got. */
export function unfoldTaps(phaseGradient: ArrayLike<number>, k: number, ci: number, co: number): Float32Array {
  return sumTaps(phaseGradient, k, ci, co, false);
}

/** foldTaps (`toPhases`) or its adjoint: the same pairs of taps, summed one way or the other. */
function sumTaps(values: ArrayLike<number>, k: number, ci: number, co: number, toPhases: boolean): Float32Array {
  const ke = phaseTaps(k);
  const out = new Float32Array(toPhases ? ke * ke * ci * 4 * co : k * k * ci * co);
  forEachFold(k, (tap, phase, phaseTap) => {
    for (let i = 0; i < ci; i++) {
      const plain = (tap * ci + i) * co;
      const phased = (phaseTap * ci + i) * 4 * co + phase * co;
      const [from, to] = toPhases ? [plain, phased] : [phased, plain];
      for (let j = 0; j < co; j++) out[to + j] += values[from + j];
    }
  });
  return out;
}

/**
 * Calls `visit` for each tap (dy * k + dx) of each phase (a * 2 + c) with the phases' filter tap
 * (ey * ke + ex) it lands on: the small-image offset it reads, from the filter's corner.
 */
function forEachFold(k: number, visit: (tap: number, phase: number, phaseTap: number) => void): void {
  const ke = phaseTaps(k);
  const half = (ke - 1) / 2;
  for (let a = 0; a < 2; a++) {
    for (let c = 0; c < 2; c++) {
      for (let dy = 0; dy < k; dy++) {
        for (let dx = 0; dx < k; dx++) {
          visit(dy * k + dx, a * 2 + c, (smallOffset(dy, a, k) + half) * ke + smallOffset(dx, c, k) + half);
        }
      }
    }
  }
}

/**
 * The phases' [ke, ke, ci, 4 co] filter of a [k, k, ci, co] one (odd k), differentiable. Summed in JS
 * (a few thousand values): as a tfjs matrix product and its gradient it took 0.5 ms per Model 3
 * training image with the addon, as much as the phases saved there.
 */
export const phaseFilter = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const kernel = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const [k, kw, ci, co] = kernel.shape;
  if (kernel.rank !== 4 || k !== kw || k % 2 !== 1) throw new Error(`phaseFilter: the filter must be square with an odd size, got ${JSON.stringify(kernel.shape)}`);
  const ke = phaseTaps(k);
  save([]);
  return {
    value: tf.tensor4d(foldTaps(kernel.dataSync(), k, ci, co), [ke, ke, ci, 4 * co]),
    gradFunc: (dy: tf.Tensor) => tf.tensor4d(unfoldTaps(dy.dataSync(), k, ci, co), [k, k, ci, co]),
  };
}) as unknown as (kernel: tf.Tensor4D) => tf.Tensor4D;

/** The phases' bias: the bias once per phase. */
export function phaseBias(bias: tf.Tensor1D): tf.Tensor1D {
  return tf.tile(bias, [4]);
}

/** The large image from the phases: channel (a * 2 + c) * co + j of small pixel (y, x) is pixel (2y + a, 2x + c), channel j. */
export function phasesToImage(phases: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, channels] = phases.shape;
  const co = channels / 4;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(phases, [b, h, w, 2, 2, co]), [0, 1, 3, 2, 4, 5]), [b, 2 * h, 2 * w, co]));
}

/**
 * conv2d(upSample2x(small), kernel, stride 1, 'same') + bias, then ReLU or nothing, from the small
 * image: [b, h, w, ci] and a [k, k, ci, co] kernel (odd k) give [b, 2h, 2w, co]. Differentiable in
 * small, kernel and bias.
 */
export function phaseConv(small: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D | undefined, activation: 'relu' | 'linear'): tf.Tensor4D {
  if (small.shape[3] !== kernel.shape[2]) throw new Error(`phaseConv: the image has ${small.shape[3]} channels, the filter ${kernel.shape[2]}`);
  return tf.tidy(() => {
    const phases = tf.fused.conv2d({ x: small, filter: phaseFilter(kernel), strides: 1, pad: 'same', bias: bias && phaseBias(bias), activation });
    return phasesToImage(phases);
  });
}
