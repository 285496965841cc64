// .npy files byte for byte as NumPy 2.4 writes them (np.save of the same arrays), read back, and refused
// when they are not what the reader handles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNpy, encodeNpy } from './npy.js';

// np.save(f, np.arange(6, dtype='<f4').reshape(2, 3) * 0.5) and np.save(f, np.array([0, 128, 255], dtype='u1')).
const NUMPY_F4 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAPwAAgD8AAMA/AAAAQAAAIEA=';
const NUMPY_U1 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAgP8=';

test('float32 and uint8 arrays encode exactly as numpy.save writes them', () => {
  assert.deepEqual(Buffer.from(encodeNpy(Float32Array.of(0, 0.5, 1, 1.5, 2, 2.5), [2, 3])).toString('base64'), NUMPY_F4);
  assert.deepEqual(Buffer.from(encodeNpy(Uint8Array.of(0, 128, 255), [3])).toString('base64'), NUMPY_U1);
});

test('numpy files decode to their dtype, shape and values; the data starts on a 64-byte boundary', () => {
  const f = decodeNpy(Buffer.from(NUMPY_F4, 'base64'));
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.shape, [2, 3]);
  assert.deepEqual([...f.data], [0, 0.5, 1, 1.5, 2, 2.5]);
  const u = decodeNpy(Buffer.from(NUMPY_U1, 'base64'));
  assert.deepEqual([u.dtype, u.shape, [...u.data]], ['uint8', [3], [0, 128, 255]]);
  const big = encodeNpy(new Float32Array(1 * 128 * 128 * 3).map((_, i) => i / 7), [1, 128, 128, 3]);
  assert.equal((big.length - 128 * 128 * 3 * 4) % 64, 0);
  const back = decodeNpy(big);
  assert.deepEqual(back.shape, [1, 128, 128, 3]);
  assert.equal(back.data[1000], Math.fround(1000 / 7));
});

test('wrong shapes, other files, other dtypes and Fortran order are refused by name', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /shape \[2, 3\] holds 6 values, the data has 5/);
  assert.throws(() => decodeNpy(Buffer.from('PNG....xx'), 'x.npy'), /x\.npy: not a \.npy file/);
  const f8 = Buffer.from(NUMPY_F4, 'base64');
  f8.write("'<f8'", 20, 'latin1');
  assert.throws(() => decodeNpy(f8, 'a.npy'), /a\.npy: dtype '<f8' is not supported/);
  const fortran = Buffer.from(NUMPY_F4, 'base64');
  fortran.write('True ', fortran.indexOf('False'), 'latin1');
  assert.throws(() => decodeNpy(fortran, 'b.npy'), /Fortran-order/);
  assert.throws(() => decodeNpy(Buffer.from(NUMPY_F4, 'base64').subarray(0, 140), 'c.npy'), /c\.npy: 12 data bytes for shape \[2, 3\]/);
});
