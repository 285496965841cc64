// A minimal Protocol Buffers wire-format writer: just what encoding an ONNX ModelProto needs (varints,
// length-delimited fields, packed int64s, float32 blobs). No schema, no reader; kept tiny on purpose.

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LENGTH_DELIMITED = 2;

/**
 * Appends fields to a growing buffer. Nested messages are encoded by a child writer first and then
 * written as bytes, so every length prefix is known when it is written.
 *
 *   const w = new ProtoWriter(); w.int64(1, 7); w.string(2, 'leukoseg'); const bytes = w.finish();
 */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer, or a negative int64 as its 10-byte two's complement. */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int32 / int64 / enum / bool field. */
  int64(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new Error(`protobuf: field ${field} needs a whole number, got ${value}`);
    }
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** A `float` (32-bit) field. */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  /** A `bytes` field, or an embedded message already encoded. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** `repeated int64` in packed form (the proto3 default; proto2 parsers accept it too). */
  packedInt64(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** `repeated float` in packed form. */
  packedFloat(field: number, values: readonly number[]): this {
    return this.bytes(field, float32Bytes(Float32Array.from(values)));
  }

  /** The encoded message (a copy, so the writer may be reused or dropped). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Float32 values as little-endian bytes (ONNX `raw_data`), independent of the host's byte order. */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
