// The query string of POST /api/segment, checked with zod instead of fastify's schema: fastify's ajv
// drops unknown parameters silently (removeAdditional) and lets umPerPx=1e309 through as Infinity.
import { z } from 'zod';
import { ApiError } from './errors.js';

export interface SegmentQuery {
  format?: 'json' | 'png';
  image?: 'mask' | 'overlay' | 'cells';
  umPerPx?: number;
  name?: string;
  mode?: 'auto' | 'crop' | 'field';
  cellDiameter?: number | 'native';
}

const ONE_VALUE = 'given more than once';

/** What each parameter must be, in the words of the 400 message. */
const RULES = {
  format: 'must be json or png',
  image: 'must be mask, overlay or cells',
  umPerPx: 'must be a number above 0 and at most 1000 (micrometres per pixel)',
  name: 'must be at most 200 characters',
  mode: 'must be auto, crop or field',
  cellDiameter: "must be a number above 0 and at most 10000 (pixels), or 'native'",
} as const;

const QUERY = z.strictObject({
  format: z.enum(['json', 'png'], { error: RULES.format }).optional(),
  image: z.enum(['mask', 'overlay', 'cells'], { error: RULES.image }).optional(),
  // z.number() refuses Infinity and NaN, so '1e309', 'Infinity' and 'abc' all fail here.
  umPerPx: z.coerce.number({ error: RULES.umPerPx }).gt(0, { error: RULES.umPerPx }).max(1000, { error: RULES.umPerPx }).optional(),
  name: z.string({ error: RULES.name }).max(200, { error: RULES.name }).optional(),
  mode: z.enum(['auto', 'crop', 'field'], { error: RULES.mode }).optional(),
  cellDiameter: z.union([
    z.literal('native'),
    z.coerce.number({ error: RULES.cellDiameter }).gt(0, { error: RULES.cellDiameter }).max(10000, { error: RULES.cellDiameter }),
  ], { error: RULES.cellDiameter }).optional(),
});

const ALLOWED = Object.keys(RULES).join(', ');

function shown(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The parsed query, or a 400 naming the first bad or unknown parameter and what it must be. */
export function parseSegmentQuery(raw: unknown): SegmentQuery {
  const query = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const result = QUERY.safeParse(query);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k}'`).join(', ');
    throw new ApiError(400, `unknown query parameter${issue.keys.length > 1 ? 's' : ''} ${keys} (allowed: ${ALLOWED})`);
  }
  const key = String(issue.path[0]);
  const value = query[key];
  const rule = Array.isArray(value) ? ONE_VALUE : RULES[key as keyof typeof RULES];
  throw new ApiError(400, `query parameter ${key}=${shown(value)}: ${rule}`);
}
