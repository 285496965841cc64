// Cast for wasm with a correct conversion to bool (the shipped kernel copies with TypedArray.set, so
// 0.5 became false and -1 became 255), and a cast to the tensor's own dtype as a new reference to its
// buffer, like Identity (the losses cast their float32 targets: a copy and an allocation each).
import { Cast } from '@tensorflow/tfjs-core';
import type { CastAttrs, KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { callOriginal } from './originals.js';
import type { Info, WasmKernelArgs } from './scratch.js';

/** bool is x != 0, as on the cpu backend; every other conversion is shipped as is. */
export function castWasm(args: WasmKernelArgs): Info {
  const x = args.inputs.x as Info;
  const { dtype } = args.attrs as unknown as CastAttrs;
  if (dtype === x.dtype && dtype !== 'string' && dtype !== 'complex64') {
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  }
  if (dtype !== 'bool' || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
    return callOriginal(Cast, args, `no leukoseg path for ${x.dtype} to ${dtype}`);
  }
  const out = args.backend.makeOutput(x.shape, 'bool');
  const src = args.backend.typedArrayFromHeap(x);
  const dst = args.backend.typedArrayFromHeap(out);
  for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  return out;
}

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'wasm',
  kernelFunc: castWasm as unknown as KernelFunc,
};
