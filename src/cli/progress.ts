/**
 * Progress display: a one-line bar on stderr when stderr is a terminal that can redraw (not --json,
 * not TERM=dumb); otherwise nothing here — commands print one plain line per step instead.
 *
 * The bar draws only when it is updated (at most 10 times a second): no timer of its own, so it never
 * keeps the process alive. It fits the terminal's width, hides the cursor while it shows and gives it
 * back when it stops, when the command's signal aborts (Ctrl-C) and when the process exits; once
 * stopped it never draws again, so an interrupted command's message stays the last thing on screen.
 */
import type { CommandContext } from './context.js';
import { formatDuration, terminalWidth, visibleLength } from './columns.js';

export interface Bar {
  update(value: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_LINE = '\r\x1b[K';
const FRAME_MS = 100;
const BAR_MIN = 10;
const BAR_MAX = 40;

/** Bars on screen now: whichever is left when the process exits gets the cursor back. */
const showing = new Set<() => void>();
process.once('exit', () => {
  for (const stop of showing) stop();
});

/** Whether this terminal redraws lines: a real tty whose TERM is not "dumb". */
export function canRedraw(stream: { isTTY?: boolean }): boolean {
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

/**
 * A bar if the terminal can show one, else null. `format` is segments separated by " | ", most
 * important first: when the terminal is narrow the last segments are dropped (then the bar shrinks).
 * Tokens: {bar} {value} {total} {percentage} {eta_formatted} (from the rate so far; "…" until there is
 * one), plus your payload keys.
 */
export function createBar(
  ctx: CommandContext,
  format: string,
  total: number,
  payload: Record<string, string | number> = {},
): Bar | null {
  const stream = process.stderr;
  if (ctx.json || !ctx.stderrTty || !canRedraw(stream) || ctx.signal.aborted) return null;
  const segments = format.split(' | ');
  const started = performance.now();
  let value = 0;
  let values: Record<string, string | number> = { ...payload };
  let lastDraw = -Infinity;
  let stopped = false;

  const eta = () => {
    const secs = (performance.now() - started) / 1000;
    if (value <= 0 || secs < 1) return '…';
    return formatDuration(((total - value) * secs) / value);
  };
  const fill = (text: string, barWidth: number) =>
    text.replace(/\{(\w+)\}/g, (_, k: string) => {
      const frac = total > 0 ? Math.min(1, Math.max(0, value / total)) : 0;
      if (k === 'bar') {
        const full = Math.round(frac * barWidth);
        return '\u2588'.repeat(full) + '\u2591'.repeat(barWidth - full);
      }
      if (k === 'value') return String(value);
      if (k === 'total') return String(total);
      if (k === 'percentage') return String(Math.floor(frac * 100));
      if (k === 'eta_formatted') return eta();
      return k in values ? String(values[k]) : `{${k}}`;
    });
  /** The widest line that fits: all segments with a bar of up to 40, else fewer segments, else cut. */
  const line = (width: number) => {
    for (let n = segments.length; n >= 1; n--) {
      const text = segments.slice(0, n).join(' | ');
      const room = width - 1 - visibleLength(fill(text, 0));
      if (!text.includes('{bar}')) {
        if (room >= 0) return fill(text, 0);
      } else if (room >= BAR_MIN || n === 1) return fill(text, Math.max(0, Math.min(BAR_MAX, room)));
    }
    return fill(segments[0], 0).slice(0, Math.max(0, width - 1));
  };
  const draw = () => {
    lastDraw = performance.now();
    stream.write(CLEAR_LINE + line(terminalWidth(stream)));
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    showing.delete(stop);
    ctx.signal.removeEventListener('abort', stop);
    stream.write(CLEAR_LINE + SHOW_CURSOR);
  };
  showing.add(stop);
  ctx.signal.addEventListener('abort', stop, { once: true });
  stream.write(HIDE_CURSOR);
  draw();
  return {
    update(v, p) {
      if (stopped) return;
      value = v;
      if (p) values = { ...values, ...p };
      if (performance.now() - lastDraw >= FRAME_MS || v >= total) draw();
    },
    setTotal(t) {
      total = t;
    },
    stop,
  };
}

/** Human-readable byte count: 47040016 → "44.9 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
