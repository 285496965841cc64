// The few ONNX messages leukoseg writes (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto) as plain objects, and their encoding through onnx-proto (onnx.proto compiled for
// protobufjs), so no field number is written by hand here.
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;

/** TensorProto.DataType values used here. */
export const DataType = Object.freeze({ FLOAT: onnx.TensorProto.DataType.FLOAT, INT64: onnx.TensorProto.DataType.INT64 });

const AttributeType = onnx.AttributeProto.AttributeType;

export type AttributeValue = number | string | readonly number[] | { floats: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  /** Whole numbers become INT, other numbers FLOAT; arrays become INTS; `{ floats }` FLOATS. */
  attributes?: Record<string, AttributeValue | { float: number }>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** FLOAT tensors from a Float32Array, INT64 ones from a plain array of whole numbers. */
  data: Float32Array | { int64: readonly number[] };
}

/** A graph input or output: float32, each dimension a size or a symbolic name ('N'). */
export interface OnnxValueInfo {
  name: string;
  shape: Array<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  opset: number;
  /** ONNX IR version; 7 goes with opset 13. */
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function attribute(name: string, value: AttributeValue | { float: number }): proto.IAttributeProto {
  if (typeof value === 'string') return { name, s: new TextEncoder().encode(value), type: AttributeType.STRING };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, i: value, type: AttributeType.INT } : { name, f: value, type: AttributeType.FLOAT };
  }
  if ('float' in value) return { name, f: value.float, type: AttributeType.FLOAT };
  if ('floats' in value) return { name, floats: [...value.floats], type: AttributeType.FLOATS };
  return { name, ints: [...value], type: AttributeType.INTS };
}

/** Float32 values as little-endian bytes (ONNX `raw_data`), independent of the host's byte order. */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function tensor(t: OnnxInitializer): proto.ITensorProto {
  if (!(t.data instanceof Float32Array)) return { name: t.name, dims: t.dims, dataType: DataType.INT64, int64Data: [...t.data.int64] };
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new Error(`onnx: initializer ${t.name} has ${t.data.length} values for dims [${t.dims.join(', ')}] (${expected})`);
  }
  return { name: t.name, dims: t.dims, dataType: DataType.FLOAT, rawData: float32Bytes(t.data) };
}

function valueInfo(v: OnnxValueInfo): proto.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

/** The ModelProto message of `m` (onnx-proto's object form). */
export function toModelProto(m: OnnxModel): proto.ModelProto {
  const g = m.graph;
  return onnx.ModelProto.create({
    irVersion: m.irVersion,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    ...(m.docString ? { docString: m.docString } : {}),
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        input: n.inputs, output: n.outputs, name: n.name, opType: n.opType,
        attribute: Object.entries(n.attributes ?? {}).map(([key, value]) => attribute(key, value)),
      })),
      initializer: g.initializers.map(tensor),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
    opsetImport: [{ domain: '', version: m.opset }],
    metadataProps: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

/** The serialized ModelProto, ready for `InferenceSession.create(bytes)` or a `.onnx` file. */
export function encodeModel(m: OnnxModel): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(m)).finish();
}
