// The fields a bioimage.io model description (format 0.5) requires, as a zod schema: what the exporter
// checks its rdf.yaml against before writing it, and what the tests read a written package back with.
// Follows the spec's ModelDescr v0_5 (bioimage-io/spec-bioimage-io, user_docs/model_descr_latest.md).
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
/** A file inside the package: a relative path, no parent folders. */
const relativeFile = z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to rdf.yaml');
const fileDescr = z.object({ source: relativeFile, sha256 });
/** Tensor and axis ids: lowercase identifiers (the spec's LowerCaseIdentifier, at most 32 characters). */
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,31}$/, 'a lowercase identifier');

const author = z.object({ name: z.string().min(1), affiliation: z.string().optional(), github_user: z.string().optional() });
const cite = z
  .object({ text: z.string().min(1), doi: z.string().regex(/^10\.\d{4,9}\/\S+$/).optional(), url: z.string().url().optional() })
  .refine((c) => c.doi !== undefined || c.url !== undefined, 'a citation needs a doi or a url');

const size = z.union([
  z.number().int().positive(),
  z.object({ min: z.number().int().positive(), step: z.number().int().nonnegative() }),
  z.object({ tensor_id: identifier, axis_id: identifier, offset: z.number().int().optional() }),
]);
const axis = z.discriminatedUnion('type', [
  z.object({ type: z.literal('batch'), id: z.literal('batch').optional(), size: z.literal(1).nullable().optional() }),
  z.object({ type: z.literal('channel'), id: identifier.optional(), channel_names: z.array(identifier).min(1) }),
  z.object({ type: z.literal('space'), id: identifier, size, unit: z.string().optional(), scale: z.number().positive().optional() }),
]);
const processing = z.object({ id: z.enum(['binarize', 'clip', 'ensure_dtype', 'scale_linear', 'sigmoid', 'fixed_zero_mean_unit_variance', 'zero_mean_unit_variance', 'scale_range', 'scale_mean_variance', 'softmax']), kwargs: z.record(z.string(), z.unknown()).optional() });
const dataDescr = z.object({ type: z.enum(['float32', 'float64', 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64', 'bool']), range: z.tuple([z.number().nullable(), z.number().nullable()]).optional() });

const tensor = z
  .object({ id: identifier, description: z.string().optional(), axes: z.array(axis).min(1), test_tensor: fileDescr, data: dataDescr.optional() })
  .refine((t) => new Set(t.axes.map((a) => a.id ?? a.type)).size === t.axes.length, 'axis ids must be unique within a tensor');
const inputTensor = tensor.and(z.object({ preprocessing: z.array(processing).optional() }));
const outputTensor = tensor.and(z.object({ postprocessing: z.array(processing).optional() }));

const weights = z
  .object({
    onnx: fileDescr.extend({ opset_version: z.number().int().min(7) }).optional(),
    tensorflow_js: fileDescr.extend({ tensorflow_version: z.string() }).optional(),
  })
  .refine((w) => w.onnx !== undefined || w.tensorflow_js !== undefined, 'at least one weights format');

const trainingData = z.union([
  z.object({ id: z.string().min(1), version_number: z.number().int().optional() }),
  z.object({ type: z.literal('dataset'), format_version: z.string().regex(/^0\.3\.\d+$/), name: z.string().min(1), description: z.string().min(1), authors: z.array(author).min(1), cite: z.array(cite).min(1), license: z.string().min(1) }),
]);

/** A bioimage.io model RDF, format_version 0.5.x: the required fields and those leukoseg writes. */
export const modelRdfSchema = z.object({
  type: z.literal('model'),
  format_version: z.string().regex(/^0\.5\.\d+$/, 'format_version 0.5.x'),
  name: z.string().min(5).max(128).regex(/^[A-Za-z0-9_+\- ()]+$/, 'letters, digits, spaces and _+-() only'),
  description: z.string().min(1).max(1024),
  authors: z.array(author).min(1),
  cite: z.array(cite).min(1),
  license: z.string().min(1),
  documentation: relativeFile.refine((p) => p.toLowerCase().endsWith('.md'), 'a Markdown file'),
  covers: z.array(relativeFile.refine((p) => /\.(png|jpe?g|gif|svg)$/i.test(p), 'a png, jpeg, gif or svg image')).min(1),
  inputs: z.array(inputTensor).min(1),
  outputs: z.array(outputTensor).min(1),
  weights,
  training_data: trainingData.optional(),
  tags: z.array(z.string()).optional(),
  timestamp: z.string().optional(),
});

export type ModelRdf = z.infer<typeof modelRdfSchema>;

/** Throws, naming each failing field by its path, when `value` is not a valid model RDF. */
export function checkModelRdf(value: unknown, file = 'rdf.yaml'): ModelRdf {
  const parsed = modelRdfSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file}: not a bioimage.io model description (format 0.5): ${problems.join('; ')}`);
  }
  return parsed.data;
}
