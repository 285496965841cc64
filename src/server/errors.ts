// Errors the HTTP API answers with: a status code and a sentence for people, always sent as JSON
// `{ "error": "..." }`, so clients never have to parse an HTML or plain-text error page.
import { DataFileError } from '../data/errors.js';
import type { ErrorBody } from './api-types.js';

/** An error whose message is safe to show the client and whose status code is final. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    message: string,
    /** Extra response headers, e.g. Retry-After on 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}


interface StatusCarrier {
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Maps anything thrown while answering a request to a status and a body. Client errors keep their
 * message (fastify's own 413/415/408 and ours); a bad image is 422; everything else is a 500 whose
 * details stay in the server log, not in the response.
 */
export function toErrorResponse(err: unknown): { statusCode: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof ApiError) return { statusCode: err.statusCode, body: { error: err.message, statusCode: err.statusCode }, headers: err.headers };
  if (err instanceof DataFileError) return { statusCode: 422, body: { error: err.message, statusCode: 422 }, headers: {} };
  const carrier = (typeof err === 'object' && err !== null ? err : {}) as StatusCarrier;
  const status = typeof carrier.statusCode === 'number' ? carrier.statusCode : 500;
  if (status >= 400 && status < 500) {
    const message = typeof carrier.message === 'string' && carrier.message !== '' ? carrier.message : 'bad request';
    return { statusCode: status, body: { error: message, statusCode: status }, headers: {} };
  }
  if (status === 503) return { statusCode: 503, body: { error: 'the server took too long to answer; try again', statusCode: 503 }, headers: { 'retry-after': '5' } };
  return { statusCode: 500, body: { error: 'internal server error (see the server log)', statusCode: 500 }, headers: {} };
}
