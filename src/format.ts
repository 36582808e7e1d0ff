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

// C0 and C1 control characters, DEL, and the Unicode line separators and bidirectional overrides
// (which reorder what a terminal shows).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (c: string) =>
  NAMED[c] ??
  (c.charCodeAt(0) < 0x100
    ? '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')
    : '\\u' + c.charCodeAt(0).toString(16));

/**
 * A file name or a snippet of a file as a terminal may show it: every control character written as an
 * escape (ESC as \x1b, a newline as \n), so a name cannot move the cursor, retitle the window, break
 * the one-line error or reorder the text. Everything else, any script, is left as it is.
 */
export const shown = (text: string): string => text.replace(CONTROL, escapeOne);

/**
 * A line for the terminal (the CLI's output channels): shown(), except that newlines (`keepNewlines`)
 * and the colour codes digitkit writes itself (`keepColor`: SGR sequences, ESC [ digits m) are kept.
 */
export function shownLine(line: string, o: { keepNewlines?: boolean; keepColor?: boolean } = {}): string {
  return line.replace(/\u001b\[[0-9;]*m|[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (m) =>
    m.length > 1 ? (o.keepColor ? m : shown(m)) : m === '\n' && o.keepNewlines ? m : escapeOne(m),
  );
}
