// The few ONNX messages leukoseg writes (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto) as plain objects, and their encoding with the field numbers of onnx/onnx.proto.
import { float32Bytes, ProtoWriter } from './protobuf.js';

/** TensorProto.DataType values used here. */
export const DataType = Object.freeze({ FLOAT: 1, INT64: 7 });

/** AttributeProto.AttributeType values used here. */
const AttributeType = Object.freeze({ FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 });

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

function encodeAttribute(name: string, value: AttributeValue | { float: number }): Uint8Array {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'string') {
    w.bytes(4, new TextEncoder().encode(value)).int64(20, AttributeType.STRING);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) w.int64(3, value).int64(20, AttributeType.INT);
    else w.float(2, value).int64(20, AttributeType.FLOAT);
  } else if ('float' in value) {
    w.float(2, value.float).int64(20, AttributeType.FLOAT);
  } else if ('floats' in value) {
    w.packedFloat(7, value.floats).int64(20, AttributeType.FLOATS);
  } else {
    w.packedInt64(8, value).int64(20, AttributeType.INTS);
  }
  return w.finish();
}

function encodeNode(node: OnnxNode): Uint8Array {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [key, value] of Object.entries(node.attributes ?? {})) w.bytes(5, encodeAttribute(key, value));
  return w.finish();
}

function encodeTensor(t: OnnxInitializer): Uint8Array {
  const w = new ProtoWriter().packedInt64(1, t.dims);
  if (t.data instanceof Float32Array) {
    const expected = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) {
      throw new Error(`onnx: initializer ${t.name} has ${t.data.length} values for dims [${t.dims.join(', ')}] (${expected})`);
    }
    w.int64(2, DataType.FLOAT).string(8, t.name).bytes(9, float32Bytes(t.data));
  } else {
    w.int64(2, DataType.INT64).packedInt64(7, t.data.int64).string(8, t.name);
  }
  return w.finish();
}

function encodeValueInfo(v: OnnxValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int64(1, d);
    else dim.string(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int64(1, DataType.FLOAT).bytes(2, shape.finish());
  const type = new ProtoWriter().bytes(1, tensorType.finish());
  return new ProtoWriter().string(1, v.name).bytes(2, type.finish()).finish();
}

function encodeGraph(g: OnnxGraph): Uint8Array {
  const w = new ProtoWriter();
  for (const node of g.nodes) w.bytes(1, encodeNode(node));
  w.string(2, g.name);
  for (const init of g.initializers) w.bytes(5, encodeTensor(init));
  for (const input of g.inputs) w.bytes(11, encodeValueInfo(input));
  for (const output of g.outputs) w.bytes(12, encodeValueInfo(output));
  return w.finish();
}

/** The serialized ModelProto, ready for `InferenceSession.create(bytes)` or a `.onnx` file. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter().int64(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.bytes(7, encodeGraph(m.graph));
  w.bytes(8, new ProtoWriter().string(1, '').int64(2, m.opset).finish());
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.bytes(14, new ProtoWriter().string(1, key).string(2, value).finish());
  }
  return w.finish();
}
