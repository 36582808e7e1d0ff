/**
 * Classification metrics over predicted and true class indices: pure functions, no I/O.
 * Confusion matrices are `[true][predicted]` counts.
 */

export interface ClassStats {
  label: string;
  /** Test images whose true class is this one (row sum). */
  support: number;
  /** Test images predicted as this class (column sum). */
  predicted: number;
  /** True positives (the diagonal cell). */
  correct: number;
  /** correct / predicted; null when the model never predicts this class. */
  precision: number | null;
  /** correct / support; null when the class has no test images. */
  recall: number | null;
}

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  if (truth.length !== predicted.length) throw new Error(`${truth.length} labels but ${predicted.length} predictions`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

export function classStats(confusion: number[][], labels: readonly string[]): ClassStats[] {
  return confusion.map((row, c) => {
    const support = row.reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, r) => s + r[c], 0);
    const correct = row[c];
    return {
      label: labels[c] ?? String(c),
      support,
      predicted,
      correct,
      precision: predicted === 0 ? null : correct / predicted,
      recall: support === 0 ? null : correct / support,
    };
  });
}

/** Sum of the diagonal. */
export function correctCount(confusion: number[][]): number {
  return confusion.reduce((s, row, c) => s + row[c], 0);
}

export interface Agreement {
  count: number;
  /** Images both models assign the same class. */
  agree: number;
  rate: number;
  /** Indices of the images where the two predictions differ, in order. */
  disagree: number[];
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): Agreement {
  if (a.length !== b.length) throw new Error(`${a.length} predictions vs ${b.length}`);
  const disagree: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) disagree.push(i);
  const count = a.length;
  const agree = count - disagree.length;
  return { count, agree, rate: count === 0 ? 0 : agree / count, disagree };
}
