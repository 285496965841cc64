// leukoseg's own ONNX exporter: turns a live tfjs LayersModel (the presets' layers) into an ONNX graph that
// takes and returns NHWC like tfjs, computing in NCHW inside. `exportOnnx(model)` gives the .onnx bytes.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeModel, type OnnxGraph, type OnnxModel, type OnnxNode } from './onnx-proto.js';
import { ONNX_INPUT, ONNX_OUTPUT } from './names.js';

export { ONNX_INPUT, ONNX_OUTPUT } from './names.js';

/** opset 13: Resize, Softmax over one axis, BatchNormalization without training outputs. */
export const ONNX_OPSET = 13;
const IR_VERSION = 7;

type Layer = tfl.layers.Layer;
type Config = Record<string, unknown>;

/** NHWC axis -> NCHW axis. */
const NCHW_AXIS = [0, 2, 3, 1];

interface Padding {
  pads: number[];
  outputPadding?: number[];
}

function pair(value: unknown, what: string, layer: Layer): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((n) => Number.isInteger(n))) throw unsupported(layer, `${what} ${JSON.stringify(value)}`);
  return [v[0], v[1]];
}

function unsupported(layer: Layer, what: string): Error {
  return new Error(`onnx export: layer '${layer.name}' (${layer.getClassName()}): ${what} is not supported`);
}

/** tfjs 'same' / 'valid' padding of a conv or pool over one spatial axis, as ONNX begin/end pads. */
function convPads(size: number, kernel: number, stride: number, dilation: number, padding: string): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Pads and output padding that make ONNX ConvTranspose give tfjs's output size (in * stride for 'same'). */
function transposePads(size: number, kernel: number, stride: number, padding: string): Padding & { outputPadding: number[] } {
  const want = padding === 'same' ? size * stride : size * stride + Math.max(kernel - stride, 0);
  const total = padding === 'same' ? Math.max(kernel - stride, 0) : 0;
  const before = Math.floor(total / 2);
  const natural = stride * (size - 1) + kernel - total;
  return { pads: [before, total - before], outputPadding: [want - natural] };
}

interface BatchNormParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** Builds the ONNX graph layer by layer; tensor names of tfjs map to value names of the graph. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly graph: OnnxGraph;
  /** tfjs symbolic tensor name -> ONNX value name (NCHW). */
  private readonly values = new Map<string, string>();
  /** tfjs tensor name -> layers reading it. */
  private readonly consumers = new Map<string, Layer[]>();
  /** BatchNorm layers already folded into the conv before them. */
  private readonly folded = new Set<Layer>();
  /** MaxPool layer -> the BatchNorm before it, applied after the pool instead (on 4x fewer values). */
  private readonly bnAfterPool = new Map<Layer, Layer>();
  /** The BatchNorms of bnAfterPool: emitted when their pool is. */
  private readonly deferred = new Set<Layer>();

  constructor(private readonly model: tfl.LayersModel, name: string) {
    this.graph = { name, nodes: this.nodes, initializers: [], inputs: [], outputs: [] };
    for (const layer of model.layers) {
      for (const t of this.node(layer).inputTensors) {
        this.consumers.set(t.name, [...(this.consumers.get(t.name) ?? []), layer]);
      }
    }
  }

  private node(layer: Layer) {
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1) throw unsupported(layer, `use in ${nodes.length} places (shared layers)`);
    return nodes[0];
  }

  private emit(opType: string, inputs: string[], name: string, attributes?: OnnxNode['attributes']): string {
    const output = `${name}:0`;
    this.nodes.push({ opType, inputs, outputs: [output], name, attributes });
    return output;
  }

  private constant(name: string, dims: number[], data: Float32Array): string {
    this.graph.initializers.push({ name, dims, data });
    return name;
  }

  private input(layer: Layer, i = 0): string {
    const t = this.node(layer).inputTensors[i];
    const v = this.values.get(t.name);
    if (v === undefined) throw new Error(`onnx export: layer '${layer.name}' reads '${t.name}' before it is computed`);
    return v;
  }

  private weights(layer: Layer): Map<string, { shape: number[]; values: Float32Array }> {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    const tensors = layer.getWeights();
    layer.weights.forEach((w, i) => {
      const tensor = tensors[i];
      out.set(w.originalName.split('/').pop() ?? w.originalName, { shape: tensor.shape, values: tensor.dataSync() as Float32Array });
    });
    return out;
  }

  private activation(x: string, activation: unknown, layer: Layer, suffix: string): string {
    switch (activation) {
      case undefined: case null: case 'linear': return x;
      case 'relu': return this.emit('Relu', [x], `${layer.name}${suffix}`);
      case 'sigmoid': return this.emit('Sigmoid', [x], `${layer.name}${suffix}`);
      case 'tanh': return this.emit('Tanh', [x], `${layer.name}${suffix}`);
      case 'softmax': return this.emit('Softmax', [x], `${layer.name}${suffix}`, { axis: 1 });
      default: throw unsupported(layer, `activation '${String(activation)}'`);
    }
  }

  private batchNormParams(layer: Layer): BatchNormParams {
    const config = layer.getConfig() as Config;
    if (config.axis !== -1 && config.axis !== 3) throw unsupported(layer, `axis ${String(config.axis)}`);
    const w = this.weights(layer);
    const mean = w.get('moving_mean')?.values;
    const variance = w.get('moving_variance')?.values;
    if (!mean || !variance) throw unsupported(layer, 'a BatchNormalization without moving statistics');
    return {
      mean,
      variance,
      gamma: w.get('gamma')?.values ?? new Float32Array(mean.length).fill(1),
      beta: w.get('beta')?.values ?? new Float32Array(mean.length),
      epsilon: Number(config.epsilon),
    };
  }

  /** The BatchNorm this conv's output feeds, if folding it into the conv's weights is exact. */
  private foldableBatchNorm(layer: Layer, config: Config): Layer | null {
    if (config.activation !== 'linear') return null; // BN after ReLU (the study models) cannot move into the conv.
    const out = this.node(layer).outputTensors[0].name;
    const readers = this.consumers.get(out) ?? [];
    const isOutput = this.model.outputs.some((t) => t.name === out);
    if (isOutput || readers.length !== 1 || readers[0].getClassName() !== 'BatchNormalization') return null;
    return readers[0];
  }

  private conv(layer: Layer): string {
    const config = layer.getConfig() as Config;
    const shape = this.node(layer).inputTensors[0].shape;
    const [kh, kw] = pair(config.kernelSize, 'kernel size', layer);
    const [sh, sw] = pair(config.strides, 'strides', layer);
    const [dh, dw] = pair(config.dilationRate, 'dilation', layer);
    const kernel = this.weights(layer).get('kernel');
    if (!kernel) throw unsupported(layer, 'a conv without a kernel');
    const [, , cin, cout] = kernel.shape;
    // HWIO -> OIHW.
    const w = new Float32Array(kernel.values.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
      w[((o * cin + i) * kh + y) * kw + x] = kernel.values[((y * kw + x) * cin + i) * cout + o];
    }
    const bias = Float32Array.from(this.weights(layer).get('bias')?.values ?? new Float32Array(cout));
    const bn = this.foldableBatchNorm(layer, config);
    if (bn) {
      // conv(x)*s + (beta - mean*s), s = gamma / sqrt(var + eps): exact up to float rounding.
      const p = this.batchNormParams(bn);
      const per = cin * kh * kw;
      for (let o = 0; o < cout; o++) {
        const s = p.gamma[o] / Math.sqrt(p.variance[o] + p.epsilon);
        for (let j = 0; j < per; j++) w[o * per + j] *= s;
        bias[o] = (bias[o] - p.mean[o]) * s + p.beta[o];
      }
      this.folded.add(bn);
    }
    const [pt, pb] = convPads(Number(shape[1]), kh, sh, dh, String(config.padding));
    const [pl, pr] = convPads(Number(shape[2]), kw, sw, dw, String(config.padding));
    const inputs = [this.input(layer), this.constant(`${layer.name}.weight`, [cout, cin, kh, kw], w)];
    if (config.useBias !== false || bn) inputs.push(this.constant(`${layer.name}.bias`, [cout], bias));
    const y = this.emit('Conv', inputs, layer.name, {
      kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads: [pt, pl, pb, pr], group: 1,
    });
    return this.activation(y, config.activation, layer, '_act');
  }

  private convTranspose(layer: Layer): string {
    const config = layer.getConfig() as Config;
    const shape = this.node(layer).inputTensors[0].shape;
    const [kh, kw] = pair(config.kernelSize, 'kernel size', layer);
    const [sh, sw] = pair(config.strides, 'strides', layer);
    const [dh, dw] = pair(config.dilationRate ?? 1, 'dilation', layer);
    if (dh !== 1 || dw !== 1) throw unsupported(layer, 'dilation');
    const kernel = this.weights(layer).get('kernel');
    if (!kernel) throw unsupported(layer, 'a transposed conv without a kernel');
    const [, , cout, cin] = kernel.shape;
    // tfjs [kh, kw, out, in] -> ONNX [in, out, kh, kw].
    const w = new Float32Array(kernel.values.length);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) {
      w[((i * cout + o) * kh + y) * kw + x] = kernel.values[((y * kw + x) * cout + o) * cin + i];
    }
    const padH = transposePads(Number(shape[1]), kh, sh, String(config.padding));
    const padW = transposePads(Number(shape[2]), kw, sw, String(config.padding));
    const inputs = [this.input(layer), this.constant(`${layer.name}.weight`, [cin, cout, kh, kw], w)];
    const bias = this.weights(layer).get('bias');
    if (bias) inputs.push(this.constant(`${layer.name}.bias`, [cout], bias.values));
    const y = this.emit('ConvTranspose', inputs, layer.name, {
      kernel_shape: [kh, kw], strides: [sh, sw], pads: [padH.pads[0], padW.pads[0], padH.pads[1], padW.pads[1]],
      output_padding: [padH.outputPadding[0], padW.outputPadding[0]], group: 1,
    });
    return this.activation(y, config.activation, layer, '_act');
  }

  /**
   * The study models' ReLU -> BN -> MaxPool: BN is a per-channel x * s + t with s = gamma / sqrt(var + eps);
   * when every gamma >= 0 it is non-decreasing in x (also after float rounding), so max(BN(x)) = BN(max(x))
   * bit for bit, and BN can run after the pool on a quarter of the values.
   */
  private poolAfter(layer: Layer): Layer | null {
    const out = this.node(layer).outputTensors[0].name;
    const readers = this.consumers.get(out) ?? [];
    if (this.model.outputs.some((t) => t.name === out) || readers.length !== 1) return null;
    if (readers[0].getClassName() !== 'MaxPooling2D') return null;
    return this.batchNormParams(layer).gamma.every((g) => g >= 0) ? readers[0] : null;
  }

  private batchNorm(layer: Layer, input = this.input(layer)): string {
    if (this.folded.has(layer)) return input;
    const pool = this.deferred.has(layer) ? null : this.poolAfter(layer);
    if (pool) {
      this.bnAfterPool.set(pool, layer);
      this.deferred.add(layer);
      return input;
    }
    const p = this.batchNormParams(layer);
    const c = p.mean.length;
    const inputs = [input];
    for (const [part, values] of [['scale', p.gamma], ['bias', p.beta], ['mean', p.mean], ['var', p.variance]] as const) {
      inputs.push(this.constant(`${layer.name}.${part}`, [c], values));
    }
    return this.emit('BatchNormalization', inputs, layer.name, { epsilon: { float: p.epsilon } });
  }

  private layer(layer: Layer): string {
    const config = layer.getConfig() as Config;
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${String(config.dataFormat)}`);
    switch (layer.getClassName()) {
      case 'Conv2D': return this.conv(layer);
      case 'Conv2DTranspose': return this.convTranspose(layer);
      case 'BatchNormalization': return this.batchNorm(layer);
      case 'Activation': return this.activation(this.input(layer), config.activation, layer, '');
      case 'ReLU':
        if (config.maxValue != null) throw unsupported(layer, 'maxValue');
        return this.emit('Relu', [this.input(layer)], layer.name);
      case 'Dropout': case 'SpatialDropout2D': case 'GaussianNoise': case 'GaussianDropout':
        return this.input(layer); // identity at inference
      case 'MaxPooling2D': {
        const shape = this.node(layer).inputTensors[0].shape;
        const [kh, kw] = pair(config.poolSize, 'pool size', layer);
        const [sh, sw] = pair(config.strides ?? config.poolSize, 'strides', layer);
        const [pt, pb] = convPads(Number(shape[1]), kh, sh, 1, String(config.padding));
        const [pl, pr] = convPads(Number(shape[2]), kw, sw, 1, String(config.padding));
        const pooled = this.emit('MaxPool', [this.input(layer)], layer.name, { kernel_shape: [kh, kw], strides: [sh, sw], pads: [pt, pl, pb, pr] });
        const bn = this.bnAfterPool.get(layer);
        return bn ? this.batchNorm(bn, pooled) : pooled;
      }
      case 'UpSampling2D': {
        if (config.interpolation !== 'nearest') throw unsupported(layer, `interpolation '${String(config.interpolation)}'`);
        const [fh, fw] = pair(config.size, 'size', layer);
        // tfjs resizeNearestNeighbor without align-corners / half-pixel: source index floor(i / factor).
        const scales = this.constant(`${layer.name}.scales`, [4], Float32Array.of(1, 1, fh, fw));
        return this.emit('Resize', [this.input(layer), '', scales], layer.name, {
          mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
        });
      }
      case 'Concatenate': {
        const n = this.node(layer).inputTensors.length;
        const axis = Number(config.axis ?? -1);
        const inputs = Array.from({ length: n }, (_, i) => this.input(layer, i));
        return this.emit('Concat', inputs, layer.name, { axis: NCHW_AXIS[axis < 0 ? axis + 4 : axis] });
      }
      default: throw unsupported(layer, 'this layer type');
    }
  }

  build(): OnnxGraph {
    const [input] = this.model.inputs;
    const [output] = this.model.outputs;
    if (this.model.inputs.length !== 1 || this.model.outputs.length !== 1 || input.shape.length !== 4) {
      throw new Error('onnx export: needs one NHWC image input and one output');
    }
    const [, h, w, c] = input.shape;
    this.graph.inputs.push({ name: ONNX_INPUT, shape: ['N', Number(h), Number(w), Number(c)] });
    this.values.set(input.name, this.emit('Transpose', [ONNX_INPUT], 'to_nchw', { perm: [0, 3, 1, 2] }));
    for (const layer of this.model.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      this.values.set(this.node(layer).outputTensors[0].name, this.layer(layer));
    }
    const last = this.values.get(output.name);
    if (last === undefined) throw new Error(`onnx export: the model output '${output.name}' was not computed`);
    this.finishOutput(last);
    const [, oh, ow, oc] = output.shape;
    this.graph.outputs.push({ name: ONNX_OUTPUT, shape: ['N', Number(oh), Number(ow), Number(oc)] });
    return this.graph;
  }

  /** Back to NHWC; a final channel softmax moves after the transpose, onto the contiguous last axis (faster). */
  private finishOutput(last: string): void {
    const producer = this.nodes[this.nodes.length - 1];
    if (producer.outputs[0] === last && producer.opType === 'Softmax') {
      this.nodes.pop();
      const nhwc = this.emit('Transpose', producer.inputs, 'to_nhwc', { perm: [0, 2, 3, 1] });
      this.nodes.push({ ...producer, inputs: [nhwc], outputs: [ONNX_OUTPUT], attributes: { axis: 3 } });
    } else {
      this.nodes.push({ opType: 'Transpose', inputs: [last], outputs: [ONNX_OUTPUT], name: 'to_nhwc', attributes: { perm: [0, 2, 3, 1] } });
    }
  }
}

/** The ONNX model as objects (for inspection); `encodeModel` or `exportOnnx` give the bytes. */
export function toOnnxModel(model: tfl.LayersModel, docString?: string): OnnxModel {
  let graph: OnnxGraph | undefined;
  tf.tidy(() => {
    graph = new GraphBuilder(model, model.name).build();
  });
  if (graph === undefined) throw new Error('onnx export: no graph was built');
  return {
    graph,
    opset: ONNX_OPSET,
    irVersion: IR_VERSION,
    producerName: 'leukoseg',
    producerVersion: `tfjs ${tf.version_core}`,
    docString: docString ?? `Exported from the tfjs model '${model.name}'. Input '${ONNX_INPUT}' NHWC float32, output '${ONNX_OUTPUT}' NHWC.`,
  };
}

/** Serialized ONNX (opset 13) of a tfjs LayersModel: input `image` [N,H,W,3] -> output `probs` [N,H,W,classes]. */
export function exportOnnx(model: tfl.LayersModel, docString?: string): Uint8Array {
  return encodeModel(toOnnxModel(model, docString));
}
