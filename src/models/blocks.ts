// Small functional-API building blocks for encoder-decoder nets (conv+BN+ReLU, double conv, 2x upsampling),
// each layer named `${prefix}_${part}` so saved models, weight files and summaries stay stable across versions.
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * BatchNorm settings of the U-Net family. Momentum 0.9, not Keras's 0.99 that the study models keep: with
 * 0.99 the moving statistics have a time constant of ~100 steps, about one epoch here (210 training images,
 * batch 2), so after epoch 1 they still hold ~35% of their initial 0/1 values (0.99^105), and the error
 * compounds through a U-Net's 18 BN layers - early validation scores (and the best-epoch choice) would
 * measure stale statistics rather than the net. 0.9 (time constant ~10 steps) is PyTorch's default
 * (momentum=0.1 there means the same thing), i.e. what the PyTorch reference U-Net trains with; per-batch
 * statistics are still stable because even the 8x8 bottleneck of a batch of 2 pools 128 positions per channel.
 * Epsilon stays at Keras's 1e-3 (PyTorch uses 1e-5); it only matters for channels of near-zero variance.
 */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-3;

/** Hands out one initialiser seed per layer: the run's seed plus a running offset, in construction order. */
export class SeedSequence {
  private offset = 0;
  constructor(private readonly base: number) {}
  next(): number {
    this.offset += 1;
    return this.base + this.offset;
  }
}

/** What every conv of a block shares: the seeds and the kernel penalty. */
export interface ConvContext {
  seeds: SeedSequence;
  /** L2 penalty on every conv kernel; 0 = none. */
  l2: number;
}

/** `layer.apply` for layers with one input and one output, typed for the functional API. */
export function applyTo(layer: tfl.layers.Layer, input: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor {
  return layer.apply(input) as tfl.SymbolicTensor;
}

function kernelOptions(ctx: ConvContext) {
  return {
    kernelInitializer: tfl.initializers.glorotUniform({ seed: ctx.seeds.next() }),
    kernelRegularizer: ctx.l2 > 0 ? tfl.regularizers.l2({ l2: ctx.l2 }) : undefined,
  };
}

/**
 * Conv3x3 'same' without bias (BatchNorm's beta replaces it) + BatchNorm + ReLU, named
 * `${prefix}_conv${n}`, `${prefix}_bn${n}`, `${prefix}_relu${n}`.
 */
export function convBnRelu(x: tfl.SymbolicTensor, prefix: string, n: number, filters: number, ctx: ConvContext): tfl.SymbolicTensor {
  const conv = tfl.layers.conv2d({
    name: `${prefix}_conv${n}`,
    filters,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
    ...kernelOptions(ctx),
  });
  const bn = tfl.layers.batchNormalization({ name: `${prefix}_bn${n}`, momentum: BN_MOMENTUM, epsilon: BN_EPSILON });
  const relu = tfl.layers.reLU({ name: `${prefix}_relu${n}` });
  return applyTo(relu, applyTo(bn, applyTo(conv, x)));
}

/** The U-Net block: (Conv3x3 + BN + ReLU) x2 at `filters` channels. */
export function doubleConv(x: tfl.SymbolicTensor, prefix: string, filters: number, ctx: ConvContext): tfl.SymbolicTensor {
  return convBnRelu(convBnRelu(x, prefix, 1, filters, ctx), prefix, 2, filters, ctx);
}

/**
 * Doubles height and width and sets the channels to `filters`. 'transpose': one 2x2 stride-2 transposed
 * conv with bias, no activation (`${prefix}_up`), as in the PyTorch reference. 'nearest': nearest-neighbour
 * upsampling (`${prefix}_up`) then a linear 3x3 conv with bias (`${prefix}_upconv`) - the same learned
 * linear map in spirit, but every output pixel sees the same kernel taps, so no checkerboard pattern.
 */
export function upsample2x(
  x: tfl.SymbolicTensor,
  prefix: string,
  filters: number,
  mode: 'transpose' | 'nearest',
  ctx: ConvContext,
): tfl.SymbolicTensor {
  if (mode === 'transpose') {
    const up = tfl.layers.conv2dTranspose({
      name: `${prefix}_up`,
      filters,
      kernelSize: 2,
      strides: 2,
      padding: 'same',
      ...kernelOptions(ctx),
    });
    return applyTo(up, x);
  }
  const up = tfl.layers.upSampling2d({ name: `${prefix}_up`, size: [2, 2], interpolation: 'nearest' });
  const conv = tfl.layers.conv2d({ name: `${prefix}_upconv`, filters, kernelSize: 3, padding: 'same', ...kernelOptions(ctx) });
  return applyTo(conv, applyTo(up, x));
}
