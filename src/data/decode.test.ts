// Tests for decode.ts and bmp.ts: channel order against hand-written BMP bytes and sharp-decoded PNGs,
// gray conversion against PIL values, and the error message for each kind of bad file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, decodeImage, decodeMaskLevels, grayFromRgb } from './decode.js';
import { encodeBmp24, encodePng, makeTempDir, rgbImage } from './fixtures.js';
import type { RgbImage } from './types.js';

/** A 24-bit BMP written byte by byte from the format spec (BGR order, rows padded to 4 bytes). */
function handBmp24(img: RgbImage, options: { topDown?: boolean; gap?: number; compression?: number } = {}): Buffer {
  const gap = options.gap ?? 0;
  const rowBytes = Math.ceil((img.width * 3) / 4) * 4;
  const offset = 54 + gap;
  const out = Buffer.alloc(offset + rowBytes * img.height, 0xee);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(0, 6);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(img.width, 18);
  out.writeInt32LE(options.topDown ? -img.height : img.height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(options.compression ?? 0, 30);
  out.writeUInt32LE(rowBytes * img.height, 34);
  out.fill(0, 38, 54);
  for (let y = 0; y < img.height; y++) {
    const fileRow = options.topDown ? y : img.height - 1 - y;
    for (let x = 0; x < img.width; x++) {
      const p = offset + fileRow * rowBytes + x * 3;
      const s = (y * img.width + x) * 3;
      out[p] = img.data[s + 2];
      out[p + 1] = img.data[s + 1];
      out[p + 2] = img.data[s];
    }
  }
  return out;
}

// 3 px wide: 9 bytes per row, so every row carries 3 padding bytes.
const SMALL = rgbImage(3, 2, (x, y) => [10 + x, 100 + y, 200 + x + y * 10]);

test('a hand-written bottom-up 24-bit BMP decodes to RGB in row order', async () => {
  const img = await decodeImage(handBmp24(SMALL), 'small.bmp');
  assert.deepEqual({ width: img.width, height: img.height }, { width: 3, height: 2 });
  assert.deepEqual([...img.data], [...SMALL.data]);
  assert.equal(img.format, 'bmp');
});

test('top-down BMPs and BMPs with bytes between header and pixels decode the same', async () => {
  assert.deepEqual([...(await decodeImage(handBmp24(SMALL, { topDown: true }))).data], [...SMALL.data]);
  assert.deepEqual([...(await decodeImage(handBmp24(SMALL, { gap: 10 }))).data], [...SMALL.data]);
});

test('BMPs are recognised by their bytes, not their name', async () => {
  const img = await decodeImage(handBmp24(SMALL), 'looks-like.png');
  assert.equal(img.format, 'bmp');
});

test('a BMP and a PNG of the same pixels decode identically (bmp-ts vs sharp)', async () => {
  const img = rgbImage(5, 3, (x, y) => [x * 50, 255 - y * 80, (x * y * 37) % 256]);
  const fromBmp = await decodeImage(encodeBmp24(img), 'a.bmp');
  const fromPng = await decodeImage(await encodePng(5, 3, img.data, 3), 'a.png');
  assert.deepEqual([...fromBmp.data], [...img.data]);
  assert.deepEqual([...fromPng.data], [...img.data]);
  assert.equal(fromPng.format, 'png');
});

test('gray PNGs become R=G=B and RGBA PNGs lose their alpha', async () => {
  const gray = await decodeImage(await encodePng(2, 1, Uint8Array.from([7, 200]), 1));
  assert.deepEqual([...gray.data], [7, 7, 7, 200, 200, 200]);
  const rgba = await decodeImage(await encodePng(2, 1, Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 255]), 4));
  assert.deepEqual([...rgba.data], [1, 2, 3, 4, 5, 6]);
  assert.equal(rgba.sourceChannels, 4);
});

/** The PNG's chunks as [type, whole chunk bytes] (length, type, data and CRC). */
function pngChunks(png: Buffer): [string, Buffer][] {
  const chunks: [string, Buffer][] = [];
  for (let at = 8; at < png.length; ) {
    const end = at + 12 + png.readUInt32BE(at);
    chunks.push([png.toString('latin1', at + 4, at + 8), png.subarray(at, end)]);
    at = end;
  }
  return chunks;
}

test('an embedded ICC profile is ignored: pixels come out as stored, as PIL reads them', async () => {
  const stored = Uint8Array.from([200, 30, 40, 10, 220, 90]);
  const plain = await encodePng(2, 1, stored, 3);
  const withP3 = await sharp(stored, { raw: { width: 2, height: 1, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const iccChunk = pngChunks(withP3).find(([type]) => type === 'iCCP');
  assert.ok(iccChunk, 'sharp wrote an iCCP chunk');
  // The plain PNG's pixels with the Display P3 profile spliced in after IHDR.
  const [signature, [ihdr, ...rest]] = [plain.subarray(0, 8), pngChunks(plain)];
  const tagged = Buffer.concat([signature, ihdr[1], iccChunk[1], ...rest.map(([, bytes]) => bytes)]);
  assert.ok((await sharp(tagged).metadata()).icc, 'the spliced PNG carries the profile');
  assert.deepEqual([...(await decodeImage(tagged)).data], [...stored]);
});

test('decodeMaskLevels keeps gray levels exactly', async () => {
  const levels = Uint8Array.from([0, 128, 255, 37, 1, 254]);
  const mask = await decodeMaskLevels(await encodePng(3, 2, levels, 1), 'm.png');
  assert.deepEqual({ width: mask.width, height: mask.height, data: [...mask.data] }, { width: 3, height: 2, data: [...levels] });
});

test('RGB masks are converted like PIL convert("L")', async () => {
  // Expected values printed by PIL 9.4.0: Image.putdata([...]).convert("L").
  const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30, 128, 128, 129]);
  assert.deepEqual([...grayFromRgb({ width: 5, height: 1, data: rgb }).data], [76, 150, 29, 124, 128]);
  const mask = await decodeMaskLevels(await encodePng(5, 1, rgb, 3));
  assert.deepEqual([...mask.data], [76, 150, 29, 124, 128]);
});

test('file problems are reported with the file name', async () => {
  const dir = await makeTempDir();
  const empty = join(dir, 'empty.bmp');
  const text = join(dir, 'notes.png');
  const cutBmp = join(dir, 'cut.bmp');
  const cutPng = join(dir, 'cut.png');
  await writeFile(empty, '');
  await writeFile(text, 'this is not an image\n');
  await writeFile(cutBmp, handBmp24(SMALL).subarray(0, 60));
  await writeFile(cutPng, (await encodePng(20, 20, new Uint8Array(400).fill(9), 1)).subarray(0, 60));

  await assert.rejects(decodeImage(empty), { message: `${empty}: empty file (0 bytes)` });
  await assert.rejects(decodeImage(text), (err: Error) => err.message.startsWith(`${text}: not an image (`));
  await assert.rejects(decodeImage(cutBmp), (err: Error) => err.message.startsWith(`${cutBmp}: truncated or corrupt BMP (`));
  await assert.rejects(decodeImage(cutPng), (err: Error) => err.message.startsWith(`${cutPng}: truncated or corrupt`));
  await assert.rejects(decodeImage(join(dir, 'missing.bmp')), /missing\.bmp: cannot read file \(ENOENT/);
  await assert.rejects(decodeMaskLevels(empty), { message: `${empty}: empty file (0 bytes)` });
});

test('BMP headers that lie are caught before decoding', async () => {
  const tooShort = handBmp24(SMALL).subarray(0, 20);
  await assert.rejects(decodeImage(tooShort, 'x.bmp'), /x\.bmp: truncated or corrupt BMP \(file has 20 bytes/);
  const rle = handBmp24(SMALL, { compression: 1 });
  await assert.rejects(decodeImage(rle, 'rle.bmp'), /rle\.bmp: unsupported BMP variant \(RLE8 compression\); re-save/);
  const badOffset = handBmp24(SMALL);
  badOffset.writeUInt32LE(30, 10);
  await assert.rejects(decodeImage(badOffset, 'off.bmp'), /off\.bmp: truncated or corrupt BMP \(pixel data offset 30/);
});

test('the pixel limit is enforced for BMP and sharp formats, with the size in the message', async () => {
  assert.equal(DEFAULT_MAX_PIXELS, 50_000_000);
  const message = /big: image is 3x2 = 6 pixels, more than the limit of 5 \(maxPixels\)/;
  await assert.rejects(decodeImage(handBmp24(SMALL), 'big', { maxPixels: 5 }), message);
  await assert.rejects(decodeImage(await encodePng(3, 2, SMALL.data, 3), 'big', { maxPixels: 5 }), message);
  const ok = await decodeImage(handBmp24(SMALL), 'ok', { maxPixels: 6 });
  assert.equal(ok.width, 3);
});
