// NumPy's .npy format (version 1.0), the tensor files of bioimage.io packages: little-endian float32 or
// uint8 arrays in C order. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
//   const bytes = encodeNpy(Float32Array.of(1, 2, 3, 4), [2, 2]); decodeNpy(bytes).shape; // [2, 2]

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCR = { float32: '<f4', uint8: '|u1' } as const;

export type NpyArray = { dtype: 'float32'; shape: number[]; data: Float32Array } | { dtype: 'uint8'; shape: number[]; data: Uint8Array };

/** The .npy bytes of `data` with `shape` (C order); the header is padded so the data starts at a multiple of 64. */
export function encodeNpy(data: Float32Array | Uint8Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape.join(', ')}] holds ${count} values, the data has ${data.length}`);
  const dtype = data instanceof Float32Array ? 'float32' : 'uint8';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 4 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(MAGIC.length + 4 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  if (data instanceof Float32Array) data.forEach((v, i) => body.setFloat32(i * 4, v, true));
  else out.set(data, 10 + header.length);
  return out;
}

/** Reads a version 1.0 .npy of little-endian float32 or uint8 in C order; anything else is refused by name. */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${name}: not a .npy file (no \\x93NUMPY magic)`);
  if (bytes[6] !== 1) throw new Error(`${name}: .npy version ${bytes[6]}.${bytes[7]} is not supported (only 1.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(8, true);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(`${name}: malformed .npy header ${JSON.stringify(header)}`);
  if (fortran === 'True') throw new Error(`${name}: Fortran-order arrays are not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 10 + headerLength;
  if (descr === DESCR.float32) {
    if (bytes.length - start !== count * 4) throw new Error(`${name}: ${bytes.length - start} data bytes for shape [${shape.join(', ')}] of float32`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(start + i * 4, true);
    return { dtype: 'float32', shape, data };
  }
  if (descr === DESCR.uint8 || descr === '<u1') {
    if (bytes.length - start !== count) throw new Error(`${name}: ${bytes.length - start} data bytes for shape [${shape.join(', ')}] of uint8`);
    return { dtype: 'uint8', shape, data: bytes.slice(start) };
  }
  throw new Error(`${name}: dtype '${descr}' is not supported (only little-endian float32 and uint8)`);
}
