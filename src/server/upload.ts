// The image bytes of a POST /api/segment request: the first file part of a multipart form or the
// raw body. Malformed forms and form limits become 400s in plain words; the format comes from the bytes.
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { FORMAT_NAMES, sniffImageFormat, type ImageFormat } from './sniff.js';

/** Content types that say "an image" (the bytes still decide which one); others are refused unless the bytes are an image. */
export const IMAGE_CONTENT_TYPES = [
  'image/bmp',
  'image/x-bmp',
  'image/x-ms-bmp',
  'image/png',
  'image/jpeg',
  'image/tiff',
  'image/webp',
  'application/octet-stream',
];

/** The form limits handed to @fastify/multipart; the 400 messages below quote them. */
export const FORM_LIMITS = { files: 1, fields: 10, fieldSize: 1024, parts: 20, headerPairs: 100 } as const;

export interface Upload {
  bytes: Buffer;
  /** A label for the response and messages only: never used as a path. */
  fileName: string;
  /** The media type the client declared (lower case, no parameters); '' when it sent none. */
  declaredType: string;
}

/** The last path segment of a client-supplied name, without control characters, at most 200 characters. */
export function cleanFileName(raw: string | undefined): string {
  const last = (raw ?? '').split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return last === '' ? 'upload' : last.slice(0, 200);
}

function mediaType(type: string | undefined): string {
  return (type ?? '').split(';')[0]!.trim().toLowerCase();
}

const FORM_HINT = 'send one file field with the image (curl -F image=@cell.bmp)';

/** @fastify/multipart's and busboy's errors in words for people; file-size errors pass through to the 413 mapping. */
function formError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return err;
    case 'FST_FIELDS_LIMIT':
      return new ApiError(400, `the form has more than ${FORM_LIMITS.fields} fields: ${FORM_HINT}`);
    case 'FST_PARTS_LIMIT':
      return new ApiError(400, `the form has more than ${FORM_LIMITS.parts} parts: ${FORM_HINT}`);
    case 'FST_FILES_LIMIT':
      return new ApiError(400, `the form has more than ${FORM_LIMITS.files} file: ${FORM_HINT}`);
    case 'FST_MP_PREMATURE_CLOSE':
      return new ApiError(400, 'the form ended before its last part was complete');
    default: {
      // busboy throws plain Errors: "Multipart: Boundary not found", "Part terminated early ...", "Unexpected end of form".
      const detail = err instanceof Error ? err.message : String(err);
      return new ApiError(400, `malformed multipart/form-data body (${detail}): ${FORM_HINT}`);
    }
  }
}

/** The image bytes of a request: the first file part of a multipart body, or the raw body. */
export async function readUpload(request: FastifyRequest, name: string | undefined): Promise<Upload> {
  if (request.isMultipart()) {
    try {
      const part = await request.file();
      if (part === undefined) throw new ApiError(400, `the form has no file: ${FORM_HINT}`);
      const bytes = await part.toBuffer();
      // busboy reports 'text/plain' for a part without a Content-Type (RFC 7578's default).
      return { bytes, fileName: cleanFileName(name ?? part.filename), declaredType: mediaType(part.mimetype) };
    } catch (err) {
      throw formError(err);
    }
  }
  if (!Buffer.isBuffer(request.body)) throw new ApiError(400, 'no image in the request body');
  return { bytes: request.body, fileName: cleanFileName(name), declaredType: mediaType(request.headers['content-type']) };
}

/**
 * The format of the upload, judged from its bytes. Bytes that are no image format get 415 when the
 * client said they were something else (text/plain, application/json ...), else 422: a broken image.
 */
export function checkImageBytes(upload: Upload): ImageFormat {
  if (upload.bytes.length === 0) throw new ApiError(422, `${upload.fileName}: the image is empty (0 bytes)`);
  const format = sniffImageFormat(upload.bytes);
  if (format !== null) return format;
  if (upload.declaredType !== '' && !IMAGE_CONTENT_TYPES.includes(upload.declaredType)) {
    throw new ApiError(415, `unsupported file type '${upload.declaredType}': the bytes are not an image; send a ${FORMAT_NAMES} image`);
  }
  throw new ApiError(422, `${upload.fileName}: not an image (the bytes are not ${FORMAT_NAMES})`);
}
