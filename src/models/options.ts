// Options every architecture factory takes; architecture-specific ones are optional fields.

export interface ModelOptions {
  /** Side of the square input in pixels; must be divisible by 2^(number of poolings). */
  inputSize: number;
  /** Seed for the kernel initialisers, so a run is reproducible. */
  seed: number;
  /** L2 penalty on conv kernels (Keras `l2(x)`: x * sum(w^2) added to the loss); 0 = none. */
  l2?: number;
}
