/**
 * Progress display: a cli-progress bar on stderr when stderr is a terminal (and not --json);
 * otherwise nothing here — commands print one plain line per step instead.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { CommandContext } from './context.js';

export interface Bar {
  update(value: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * A bar if the terminal can show one, else null. `format` uses cli-progress tokens
 * ({bar} {value} {total} {eta_formatted} {percentage}) plus your payload keys.
 */
export function createBar(
  ctx: CommandContext,
  format: string,
  total: number,
  payload: Record<string, string | number> = {},
): Bar | null {
  if (ctx.json || !ctx.stderrTty) return null;
  // Loaded on first use: most runs (pipes, CI, --json) never draw a bar.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return {
    update: (value, p) => bar.update(value, p),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
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
