/**
 * Numbers as people read them, one definition each, for every command's output, eval's PNG captions
 * and the benchmarks: percentages, tiny numbers in scientific notation, counts with thousands
 * separators; and the rounding that measured figures get in a model's meta.
 */

/** A fraction as a percentage with fixed decimals: pct(0.98612) → "98.61%", pct(0.98612, 1) → "98.6%". */
export const pct = (x: number, decimals = 2): string => `${(100 * x).toFixed(decimals)}%`;

/** Three significant digits, no trailing zeros: 5.55e-16, 1e-6, 0 → "0"; Infinity and NaN as themselves. */
export const sci = (x: number): string =>
  x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2).replace(/\.?0+e/, 'e') : String(x);

/** A whole number with thousands separators: 587738 → "587,738" (rounded first). */
export const int = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Six significant digits: how measured figures (accuracies, losses, rates) are stored in a model's meta. */
export const round6 = (x: number): number => Number(x.toPrecision(6));
