/**
 * Fitting human output to the terminal: how wide it is, and lines built from columns that are dropped,
 * least important first, until the line fits. Piped output is never cut (width Infinity): scripts and
 * logs get every column.
 */

/** Columns of a terminal stream: COLUMNS when set (as GNU tools honour it), else the tty's, else 80; Infinity off a tty. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }): number {
  if (!stream.isTTY) return Infinity;
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  return stream.columns && stream.columns > 0 ? stream.columns : 80;
}

/** One column of a line: its text and its rank (0 = kept longest; higher ranks are dropped first). */
export interface Column {
  text: string;
  rank: number;
}

/** Characters a terminal shows: colour and other escape sequences take no room. */
export const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;

/**
 * The columns joined by `sep`, in their order, after dropping the highest-ranked ones until the line
 * has fewer than `width` characters (the last column of a terminal is left free: writing there makes
 * some terminals wrap). The rank-0 columns are always kept.
 */
export function fitColumns(columns: Column[], width: number, sep = '  '): string {
  let kept = columns.filter((c) => c.text !== '');
  const line = () => kept.map((c) => c.text).join(sep);
  while (visibleLength(line()) >= width) {
    const worst = Math.max(...kept.map((c) => c.rank));
    if (worst === 0) break;
    // drop the last of the least important columns first
    const at = kept.map((c) => c.rank).lastIndexOf(worst);
    kept = kept.filter((_, i) => i !== at);
  }
  return line();
}

/**
 * A long message on as many lines as the width needs: `parts` (each with its own punctuation) are
 * joined by spaces, and a line breaks only between two parts; lines after the first are indented.
 * A part wider than the terminal stays whole (a path or a command is never cut). Off a terminal
 * (width Infinity) it is the one line it always was.
 */
export function wrapParts(parts: string[], width: number, indent = '  '): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const p of parts) {
    const next = cur === '' ? p : `${cur} ${p}`;
    if (cur !== '' && visibleLength(next) >= width) {
      lines.push(cur);
      cur = indent + p;
    } else cur = next;
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

/** `items` joined by `sep` as wrapParts' parts: ["a", "b"] with "; " → ["a;", "b"]. */
export const punctuated = (items: string[], sep: string): string[] =>
  items.map((t, i) => (i < items.length - 1 ? t + sep.trimEnd() : t));

/** Seconds as people read a duration: 7 → "7s", 125 → "2m05s", 3725 → "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
