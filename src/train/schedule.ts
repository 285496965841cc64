// Learning-rate schedules, as a pure function of the step: a resumed run picks up the same rate.

export interface ScheduleOptions {
  kind: 'constant' | 'cosine';
  learningRate: number;
  minLearningRate: number;
  warmupEpochs: number;
}

/**
 * Rate for batch `step` (0-based) of `totalSteps`: constant, or linear warm-up over `warmupEpochs`
 * then half a cosine from learningRate down to minLearningRate at the last step.
 */
export function learningRateAt(s: ScheduleOptions, step: number, totalSteps: number, stepsPerEpoch: number): number {
  if (s.kind === 'constant') return s.learningRate;
  const warmup = Math.round(s.warmupEpochs * stepsPerEpoch);
  if (step < warmup) return (s.learningRate * (step + 1)) / warmup;
  const span = Math.max(1, totalSteps - warmup - 1);
  const t = Math.min(1, (step - warmup) / span);
  return s.minLearningRate + (s.learningRate - s.minLearningRate) * 0.5 * (1 + Math.cos(Math.PI * t));
}
