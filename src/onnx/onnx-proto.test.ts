// The ONNX encoder over onnx-proto: what it writes decodes back (with the same schema) to the graph it was
// given, field by field, and bad initializers are refused by name (ONNX Runtime runs the models: export.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';
import { DataType, encodeModel, float32Bytes, type OnnxModel } from './onnx-proto.js';

const { onnx } = onnxProto;

const model: OnnxModel = {
  irVersion: 7, opset: 13, producerName: 'leukoseg', producerVersion: 'test', docString: 'a doc',
  metadata: { classes: 'background,cytoplasm,nucleus' },
  graph: {
    name: 'g',
    nodes: [
      { opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], name: 'conv', attributes: { pads: [1, 1, 1, 1], group: 1, epsilon: { float: 0.001 }, mode: 'nearest', scales: { floats: [1, 2] }, alpha: 0.25 } },
      { opType: 'Relu', inputs: ['y'], outputs: ['z'], name: 'relu' },
    ],
    initializers: [{ name: 'w', dims: [1, 1, 1, 2], data: Float32Array.of(0.5, -2) }, { name: 'shape', dims: [2], data: { int64: [-1, 3] } }],
    inputs: [{ name: 'x', shape: ['N', 4, 4, 1] }],
    outputs: [{ name: 'z', shape: ['N', 4, 4, 2] }],
  },
};

test('an encoded model decodes back to the same graph, attributes, initializers and shapes', () => {
  const m = onnx.ModelProto.decode(encodeModel(model));
  assert.equal(Number(m.irVersion), 7);
  assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 13]]);
  assert.deepEqual([m.producerName, m.producerVersion, m.docString], ['leukoseg', 'test', 'a doc']);
  assert.deepEqual(m.metadataProps.map((p) => [p.key, p.value]), [['classes', 'background,cytoplasm,nucleus']]);
  const g = m.graph as proto.GraphProto; // decoded messages carry every repeated field, possibly empty
  assert.deepEqual(g.node.map((n) => [n.opType, n.name, n.input, n.output]), [['Conv', 'conv', ['x', 'w'], ['y']], ['Relu', 'relu', ['y'], ['z']]]);
  const attrs = Object.fromEntries((g.node[0].attribute as proto.AttributeProto[]).map((a) => [a.name, a]));
  const T = onnx.AttributeProto.AttributeType;
  assert.deepEqual([attrs.pads.type, attrs.pads.ints.map(Number)], [T.INTS, [1, 1, 1, 1]]);
  assert.deepEqual([attrs.group.type, Number(attrs.group.i)], [T.INT, 1]);
  assert.deepEqual([attrs.epsilon.type, attrs.epsilon.f], [T.FLOAT, Math.fround(0.001)]);
  assert.deepEqual([attrs.alpha.type, attrs.alpha.f], [T.FLOAT, 0.25]);
  assert.deepEqual([attrs.mode.type, new TextDecoder().decode(attrs.mode.s)], [T.STRING, 'nearest']);
  assert.deepEqual([attrs.scales.type, attrs.scales.floats], [T.FLOATS, [1, 2]]);
  const [w, shape] = g.initializer as proto.TensorProto[];
  assert.deepEqual([w.name, w.dims.map(Number), w.dataType], ['w', [1, 1, 1, 2], DataType.FLOAT]);
  assert.deepEqual([...w.rawData], [...float32Bytes(Float32Array.of(0.5, -2))]);
  assert.deepEqual([shape.dataType, shape.int64Data.map(Number)], [DataType.INT64, [-1, 3]]);
  const dims = (v: proto.IValueInfoProto) => (v.type!.tensorType!.shape!.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(dims(g.input[0]), ['N', 4, 4, 1]);
  assert.deepEqual(dims(g.output[0]), ['N', 4, 4, 2]);
});

test('float32 blobs are little-endian', () => {
  assert.deepEqual([...float32Bytes(Float32Array.of(1, -2))], [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
});

test('an initializer whose data does not match its dims is refused, naming it', () => {
  const bad = { ...model, graph: { ...model.graph, initializers: [{ name: 'w', dims: [2, 2], data: new Float32Array(3) }] } };
  assert.throws(() => encodeModel(bad), /initializer w has 3 values for dims \[2, 2\]/);
});
