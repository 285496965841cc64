// The passes that both the oneDNN addon and leukoseg's WebAssembly SIMD module implement, with one
// argument layout (the addon's, without the heap): a kernel asks for them once and calls them the same
// way, whichever is in use, instead of branching on the two at each call.
import { heapOf, nativeModule } from './native_conv.js';
import { simdKernels, type SimdKernels } from './simd.js';
import type { BackendWasm } from './scratch.js';
import type { NativeConvModule } from '../native.js';

/**
 * The SIMD module's kernels but those only it has: the patch matrix (the addon computes filter
 * gradients itself) and row copies.
 */
export type HeapPasses = Omit<SimdKernels, 'im2col' | 'copyRows'>;

/** The last binding made: kernels call this for every op, with the same addon and backend. */
let bound: { native: NativeConvModule; backend: BackendWasm; passes: HeapPasses } | null = null;

/**
 * The addon's passes while the engine uses it (bound to this backend's heap, read at each call: the
 * heap's buffer changes when it grows), else the SIMD module's when it is loaded, else null (the
 * caller's JS loops or tfjs's kernels).
 */
export function heapPasses(backend: BackendWasm): HeapPasses | null {
  const native = nativeModule();
  if (native === null) return simdKernels();
  if (bound?.native !== native || bound.backend !== backend) bound = { native, backend, passes: bindAddon(native, backend) };
  return bound.passes;
}

function bindAddon(native: NativeConvModule, backend: BackendWasm): HeapPasses {
  const heap = () => heapOf(backend);
  return {
    batchNormTraining: (p, epsilon, momentum) => native.batchNormTraining(heap(), p, epsilon, momentum),
    batchNormTrainingGrad: (p, epsilon) => native.batchNormTrainingGrad(heap(), p, epsilon),
    maxPoolGrad2x2: (p) => native.maxPoolGrad2x2(heap(), p),
    upsampleNearest: (p) => native.upsampleNearest(heap(), p),
    softmaxGrad: (p) => native.softmaxGrad(heap(), p),
    crossEntropyGrad: (p, epsilon) => native.crossEntropyGrad(heap(), p, epsilon),
    reduceLeading: (p, factor) => native.reduceLeading(heap(), p, factor),
    adamInPlace: (p, hyper) => native.adamInPlace(heap(), p, hyper),
  };
}
