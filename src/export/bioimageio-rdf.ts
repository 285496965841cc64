// What a leukoseg model says about itself in a bioimage.io package: the rdf.yaml object (format 0.5)
// and the package's README, from the model's metadata and the files the exporter wrote. Pure: no I/O.
import type { ModelMetadata } from '../models/io.js';
import type { ModelRdf } from './rdf-schema.js';
import { isPadFit } from '../data/fit-square.js';
import { squareFitOf } from '../models/preprocessing.js';

export const RDF_FORMAT_VERSION = '0.5.3';
export const PACKAGE_FILES = Object.freeze({
  rdf: 'rdf.yaml',
  weights: 'weights.onnx',
  testInput: 'test-input.npy',
  testOutput: 'test-output.npy',
  cover: 'cover.png',
  readme: 'README.md',
});

/** The data set paper (Zheng et al., Micron 2018), as its README asks to cite it. */
export const DATASET_CITATION = Object.freeze({
  text: 'Zheng X, Wang Y, Wang G, Liu J. Fast and robust segmentation of white blood cell images by self-supervised learning. Micron 107:55-71 (2018)',
  doi: '10.1016/j.micron.2018.01.010',
});
const DATASET_URL = 'https://github.com/zxaoyou/segmentation_WBC';

export interface RdfInput {
  metadata: ModelMetadata;
  /** sha256 of each package file, by PACKAGE_FILES key. */
  sha256: Record<'weights' | 'testInput' | 'testOutput', string>;
  opset: number;
  /** The package's version and license, and where the project lives (package.json). */
  project: { version: string; license: string; url: string };
  authors: string[];
  /** Which image the test tensors come from, for the description. */
  testImage: string;
  timestamp: string;
}

function metricsOf(metadata: ModelMetadata): { nucleus: number; cytoplasm: number; wholeCell: number; images: number } | null {
  const m = metadata.metrics as { images?: unknown; dice?: Record<string, unknown> } | undefined;
  const d = m?.dice;
  if (!d || typeof d.nucleus !== 'number' || typeof d.cytoplasm !== 'number' || typeof d.wholeCell !== 'number') return null;
  return { nucleus: d.nucleus, cytoplasm: d.cytoplasm, wholeCell: d.wholeCell, images: typeof m?.images === 'number' ? m.images : 0 };
}

/** The rdf.yaml content. Tensors are NHWC as the ONNX graph takes them: batch, y, x, channel. */
export function buildModelRdf(input: RdfInput): ModelRdf {
  const { metadata: md, sha256 } = input;
  const size = md.preprocessing.inputSize;
  const classes = md.classNames.map((c) => c.toLowerCase());
  const spatial = (tensor: string) => [
    { type: 'space' as const, id: 'y', size: tensor === 'image' ? size : { tensor_id: 'image', axis_id: 'y' } },
    { type: 'space' as const, id: 'x', size: tensor === 'image' ? size : { tensor_id: 'image', axis_id: 'x' } },
  ];
  const fit = isPadFit(squareFitOf(md.preprocessing)) ? 'padded (reflected margins) into' : 'resized with nearest-neighbour to';
  return {
    type: 'model',
    format_version: RDF_FORMAT_VERSION,
    name: `leukoseg WBC nucleus and cytoplasm (${md.architecture})`,
    description:
      `Segments a microscope image of one white blood cell into background, cytoplasm and nucleus (softmax probabilities per pixel). ` +
      `A ${md.architecture} network${md.preset ? ` (leukoseg preset ${md.preset})` : ''} trained with leukoseg on Dataset 1 of segmentation_WBC. ` +
      `Input: an RGB image ${fit} ${size}x${size}, values 0-255.`,
    authors: input.authors.map((name) => ({ name })),
    cite: [{ ...DATASET_CITATION }, { text: `leukoseg ${input.project.version}: white blood cell segmentation in TypeScript`, url: input.project.url }],
    license: input.project.license,
    documentation: PACKAGE_FILES.readme,
    covers: [PACKAGE_FILES.cover],
    tags: ['segmentation', 'semantic-segmentation', '2d', 'white-blood-cell', 'leukocyte', 'nucleus', 'cytoplasm', 'brightfield', 'onnx', 'leukoseg'],
    timestamp: input.timestamp,
    inputs: [{
      id: 'image',
      description: `RGB image, ${size}x${size}, 8-bit values as float32 (0-255)`,
      axes: [{ type: 'batch' }, ...spatial('image'), { type: 'channel', channel_names: ['red', 'green', 'blue'] }],
      test_tensor: { source: PACKAGE_FILES.testInput, sha256: sha256.testInput },
      data: { type: 'float32', range: [0, 255] },
      preprocessing: [
        { id: 'ensure_dtype', kwargs: { dtype: 'float32' } },
        { id: 'scale_linear', kwargs: { gain: md.preprocessing.scale, offset: 0 } },
      ],
    }],
    outputs: [{
      id: 'probs',
      description: `class probabilities (softmax over the channel axis): ${classes.join(', ')}`,
      axes: [{ type: 'batch' }, ...spatial('probs'), { type: 'channel', channel_names: classes }],
      test_tensor: { source: PACKAGE_FILES.testOutput, sha256: sha256.testOutput },
      data: { type: 'float32', range: [0, 1] },
    }],
    weights: { onnx: { source: PACKAGE_FILES.weights, sha256: sha256.weights, opset_version: input.opset } },
    training_data: {
      type: 'dataset',
      format_version: '0.3.0',
      name: 'segmentation_WBC Dataset 1',
      description: `300 RGB images (mostly 120x120) of white blood cells with masks of nucleus, cytoplasm and background (${DATASET_URL}).`,
      authors: [{ name: 'Xin Zheng' }, { name: 'Yong Wang' }, { name: 'Guoyou Wang' }, { name: 'Jianguo Liu' }],
      cite: [{ ...DATASET_CITATION }],
      license: 'GPL-3.0-only',
    },
  };
}

/** Extra fields bioimage.io keeps verbatim (`config`): how leukoseg itself runs the model. */
export function leukosegConfig(md: ModelMetadata): Record<string, unknown> {
  return {
    leukoseg: {
      architecture: md.architecture,
      preset: md.preset ?? null,
      epoch: md.epoch ?? null,
      class_names: md.classNames,
      mask_levels: md.maskLevels,
      preprocessing: md.preprocessing,
      inference: md.inference ?? { tta: false },
      split: md.split ? { dataset: md.split.dataset, test_fraction: md.split.testFraction, seed: md.split.seed } : null,
    },
  };
}

/** The package's README.md (its `documentation`). */
export function buildReadme(input: RdfInput): string {
  const md = input.metadata;
  const size = md.preprocessing.inputSize;
  const m = metricsOf(md);
  const weights = md.inference?.classWeights;
  const lines = [
    `# leukoseg: white blood cell nucleus and cytoplasm (${md.architecture})`,
    '',
    `Semantic segmentation of a microscope image of one white blood cell into ${md.classNames.join(', ')}.`,
    `Exported by leukoseg ${input.project.version} (${input.project.url}) from a model trained on Dataset 1 of`,
    `segmentation_WBC (${DATASET_URL}).`,
    '',
    '## Input and output',
    '',
    `- \`image\`: float32, axes batch, y, x, channel (NHWC), ${size}x${size}x3 RGB, values 0-255;`,
    `  preprocessing multiplies by ${md.preprocessing.scale} (1/255).`,
    `- \`probs\`: float32, batch, y, x, channel: softmax probabilities of ${md.classNames.join(', ')}.`,
    '',
    `leukoseg fits an image of any size into the ${size}x${size} square before the network: ` +
      (isPadFit(squareFitOf(md.preprocessing))
        ? `smaller images are centred and the margins filled by reflection (larger ones shrunk first, ${md.preprocessing.resize === 'pad-smooth' ? "with PIL's antialiased BILINEAR filter" : 'nearest-neighbour'}), and the probabilities are cut back out of the square.`
        : 'the image is stretched with nearest-neighbour, and the probabilities resized back bilinearly.'),
    'A consumer that feeds other sizes gets the network on a square it was not trained on.',
    '',
    '## What leukoseg adds around the network',
    '',
    md.inference?.tta ? '- flip test-time augmentation: the mean of the image and its three flips;' : '- no test-time augmentation;',
    weights ? `- calibrated class weights ${weights.map((w) => w.toFixed(4)).join(' / ')} on the probabilities before the argmax;` : '- a plain argmax;',
    '- post-processing: the cell component with the most nucleus is kept, holes filled, nucleus outside the cell dropped.',
    '',
    `The test tensors (\`${PACKAGE_FILES.testInput}\`, \`${PACKAGE_FILES.testOutput}\`) are the network alone on ${input.testImage}.`,
    '',
    '## Performance',
    '',
    m
      ? `On the ${m.images} test images of its seeded split, at the model's input size (recorded at training): Dice nucleus ${m.nucleus.toFixed(3)}, cytoplasm ${m.cytoplasm.toFixed(3)}, whole cell ${m.wholeCell.toFixed(3)}.`
      : 'No test metrics were recorded with this model.',
    '',
    '## Citation',
    '',
    `- ${DATASET_CITATION.text}. doi:${DATASET_CITATION.doi}`,
    `- leukoseg ${input.project.version}, ${input.project.url}`,
    '',
    `License of the weights: ${input.project.license}. The training data is GPL-3.0 (see ${DATASET_URL}).`,
    '',
  ];
  return lines.join('\n');
}
