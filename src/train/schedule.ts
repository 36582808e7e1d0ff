/**
 * Learning-rate schedules, evaluated per optimizer step (0-based `step` of `totalSteps`):
 * constant, or cosine decay to 0; both after an optional linear warm-up of `warmupSteps`.
 */
export type ScheduleName = 'cosine' | 'constant';

export interface Schedule {
  name: ScheduleName;
  base: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.base * (step + 1)) / s.warmupSteps;
  if (s.name === 'constant') return s.base;
  const span = s.totalSteps - s.warmupSteps;
  if (span <= 0) return s.base;
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return s.base * 0.5 * (1 + Math.cos(Math.PI * progress));
}
