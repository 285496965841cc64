// The arithmetic of a training step, counted from a tfjs-layers model's convolutions: what the bench divides
// by the measured time to print achieved GFLOP/s. torch_bench.py counts the PyTorch models the same way.
import type * as tfl from '@tensorflow/tfjs-layers';

/** One convolution's work per image: 2 x multiply-adds of its forward pass. */
export interface ConvWork {
  layer: string;
  forwardFlops: number;
  /** Fed by the model's input: its input gradient is never computed (the image is not trained). */
  readsModelInput: boolean;
}

/** Per-image FLOPs of the model's convolutions: forward, and a training step's forward + both gradients. */
export interface StepFlops {
  forward: number;
  /** forward + filter gradient (each as many FLOPs as the forward conv) + input gradient except where it reads the image. */
  training: number;
}

function dims(shape: ReadonlyArray<number | null>, what: string): number[] {
  if (shape.length !== 4 || shape.slice(1).some((d) => d === null)) {
    throw new Error(`flops: ${what} must be [batch, height, width, channels] with known sizes, got [${shape.join(', ')}]`);
  }
  return shape.slice(1) as number[];
}

function kernelOf(layer: tfl.layers.Layer): [number, number] {
  const size = (layer.getConfig() as { kernelSize?: number | number[] }).kernelSize;
  if (typeof size === 'number') return [size, size];
  if (Array.isArray(size) && size.length === 2) return [size[0], size[1]];
  throw new Error(`flops: ${layer.name} has no 2-D kernelSize`);
}

function inputShape(layer: tfl.layers.Layer): ReadonlyArray<number | null> {
  const input = layer.input;
  if (Array.isArray(input)) throw new Error(`flops: ${layer.name} has several inputs`);
  return input.shape;
}

/**
 * The convolutions of `model` (Conv2D: 2*Ho*Wo*Cout*Kh*Kw*Cin; Conv2DTranspose: 2*H*W*Cin*Kh*Kw*Cout of its
 * input), in layer order. Bias, BatchNorm, activations, pooling and the optimizer are not counted: a few
 * per cent of the FLOPs here, though not of the time.
 */
export function convWork(model: tfl.LayersModel): ConvWork[] {
  const inputs = new Set(model.inputs.map((t) => t.id));
  const work: ConvWork[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind !== 'Conv2D' && kind !== 'Conv2DTranspose') continue;
    const [h, w, cin] = dims(inputShape(layer), `${layer.name}'s input`);
    const [ho, wo, cout] = dims(layer.outputShape as Array<number | null>, `${layer.name}'s output`);
    const [kh, kw] = kernelOf(layer);
    const positions = kind === 'Conv2D' ? ho * wo : h * w;
    const input = layer.input as tfl.SymbolicTensor;
    work.push({ layer: layer.name, forwardFlops: 2 * positions * kh * kw * cin * cout, readsModelInput: inputs.has(input.id) });
  }
  return work;
}

export function stepFlops(model: tfl.LayersModel): StepFlops {
  const work = convWork(model);
  const forward = work.reduce((sum, c) => sum + c.forwardFlops, 0);
  const inputGradients = work.reduce((sum, c) => sum + (c.readsModelInput ? 0 : c.forwardFlops), 0);
  return { forward, training: 2 * forward + inputGradients };
}
