// The wire-format writer against bytes worked out by hand from the Protocol Buffers encoding rules,
// and the ONNX encoder's basic invariants (a model ONNX Runtime accepts is tested in export.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float32Bytes, ProtoWriter } from './protobuf.js';
import { encodeModel } from './onnx-proto.js';

test('varints, tags and length-delimited fields encode as the protobuf spec says', () => {
  // field 1 varint 150 -> 08 96 01 (the spec's own example)
  assert.deepEqual([...new ProtoWriter().int64(1, 150).finish()], [0x08, 0x96, 0x01]);
  // field 2 string "testing" -> 12 07 74 65 73 74 69 6e 67
  assert.deepEqual([...new ProtoWriter().string(2, 'testing').finish()], [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  // field 3 packed [3, 270, 86942] -> 1a 06 03 8e 02 9e a7 05
  assert.deepEqual([...new ProtoWriter().packedInt64(3, [3, 270, 86942]).finish()], [0x1a, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
  // a negative int64 is its 64-bit two's complement: ten bytes, the last 0x01
  const minusOne = new ProtoWriter().int64(1, -1).finish();
  assert.deepEqual([...minusOne], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  // field 2 float 1.0 -> 15 00 00 80 3f (fixed32, little-endian)
  assert.deepEqual([...new ProtoWriter().float(2, 1).finish()], [0x15, 0x00, 0x00, 0x80, 0x3f]);
  assert.throws(() => new ProtoWriter().int64(1, 1.5), /whole number/);
});

test('the buffer grows past its first 256 bytes without losing data', () => {
  const blob = new Uint8Array(1000).map((_, i) => i & 0xff);
  const out = new ProtoWriter().int64(1, 1).bytes(2, blob).finish();
  assert.equal(out.length, 2 + 3 + 1000); // tag+1, tag + 2-byte length, data
  assert.deepEqual([...out.subarray(5)], [...blob]);
});

test('float32 blobs are little-endian', () => {
  assert.deepEqual([...float32Bytes(Float32Array.of(1, -2))], [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
});

test('an initializer whose data does not match its dims is refused, naming it', () => {
  const model = {
    irVersion: 7, opset: 13, producerName: 't', producerVersion: '0',
    graph: { name: 'g', nodes: [], inputs: [], outputs: [], initializers: [{ name: 'w', dims: [2, 2], data: new Float32Array(3) }] },
  };
  assert.throws(() => encodeModel(model), /initializer w has 3 values for dims \[2, 2\]/);
});
