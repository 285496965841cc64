// Options every architecture factory takes; architecture-specific ones are optional fields.

export interface ModelOptions {
  /** Side of the square input in pixels; must be divisible by 2^(number of poolings). */
  inputSize: number;
  /** Seed for the kernel initialisers, so a run is reproducible. */
  seed: number;
  /** L2 penalty on conv kernels (Keras `l2(x)`: x * sum(w^2) added to the loss); 0 = none. */
  l2?: number;
  /** U-Net: number of 2x poolings (encoder levels below the bottleneck), default 4. */
  depth?: number;
  /** U-Net (and wbc-cnn, default 16): filters of the first encoder level, doubling per level (16 -> 16-32-64-128-256 at depth 4), default 16. */
  baseFilters?: number;
  /**
   * U-Net: how the decoder doubles the resolution. 'transpose' = learned 2x2 stride-2 transposed conv (the
   * PyTorch reference); 'nearest' = nearest-neighbour upsampling then a 3x3 conv, which avoids the
   * checkerboard artefacts transposed convs can leave. Default 'transpose'.
   */
  upsample?: 'transpose' | 'nearest';
  /** U-Net: dropout rate after the bottleneck block, 0 (default) = none. wbc-cnn: before its head (default 0.3). */
  dropout?: number;
  /** wbc-cnn: channels of the crop (3 RGB; 5 with the nucleus and cytoplasm mask channels). */
  inputChannels?: number;
  /** wbc-cnn: length of the morphometric feature vector joined before the head; 0 = none. */
  featureCount?: number;
  /** wbc-cnn: how many cell types the head tells apart. */
  classCount?: number;
  /** wbc-cnn: networks side by side whose probabilities are averaged (an ensemble in one model), default 1. */
  members?: number;
}
