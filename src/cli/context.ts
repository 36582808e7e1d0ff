/**
 * What every command gets: output channels that respect --json, TTY and NO_COLOR,
 * and an AbortSignal tied to Ctrl-C. Commands are `handler(...)` bodies that return data
 * and throw DigitkitError; this file maps both onto stdout/stderr and the exit-code table.
 */
import { constants as osConstants } from 'node:os';
import type { ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import { punctuated, terminalWidth, wrapParts } from './columns.js';
import { shown, shownLine } from '../format.js';
import { DigitkitError, ExitCode, flagOf, InterruptedError, OptionError, type ExitCodeValue } from '../errors.js';

export interface CommandContext {
  /** --json was given: stdout carries only JSON; human lines are suppressed. */
  json: boolean;
  /** stdout is a terminal (and not --json): bars, alignment and colour are allowed. */
  tty: boolean;
  /** stderr is a terminal: progress bars go there. */
  stderrTty: boolean;
  /** stdout's width: the terminal's columns, or Infinity when stdout is not a terminal (lines are never cut). */
  columns: number;
  color: ChalkInstance;
  /** A human-readable line on stdout (dropped under --json). */
  out(line?: string): void;
  /** A diagnostic line on stderr (kept under --json, so stdout stays one JSON document). */
  err(line: string): void;
  /**
   * Under --json, one JSON record on stdout now, on one line (a command that reports as it goes:
   * train's epochs and summary, web --serve's document before it serves); nothing otherwise. A
   * command either emits records or returns one `json` document, which the handler prints.
   */
  emit(record: unknown): void;
  /** Aborted on the first Ctrl-C. Commands that call `handleInterrupt()` clean up themselves and throw InterruptedError. */
  signal: AbortSignal;
  /** Declare that this command watches `signal`; otherwise Ctrl-C exits 130 at once. */
  handleInterrupt(): AbortSignal;
}

export interface CommandResult {
  /** Printed as the JSON document under --json. */
  json?: unknown;
  exitCode?: ExitCodeValue;
}

/**
 * Colour or not: NO_COLOR (any value) turns it off; FORCE_COLOR turns it on, except FORCE_COLOR=0 or
 * false, which turns it off even on a terminal; otherwise a terminal whose TERM is not "dumb".
 */
export function colorAllowed(stream: { isTTY?: boolean }): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

/** chalk with colour off: every style, chained or not, returns its text unchanged. */
const plain: ChalkInstance = new Proxy(((...text: unknown[]) => text.join(' ')) as ChalkInstance, {
  get: (_target, key) => (key === 'level' ? 0 : plain),
});

// chalk (and the terminal probing it does on load) is loaded only when some output may be coloured:
// piped and --json runs (scripts, CI, `predict` over many files) start without it.
const { Chalk } =
  colorAllowed(process.stdout) || colorAllowed(process.stderr) ? await import('chalk') : { Chalk: undefined };
const palette = (colored: boolean): ChalkInstance => (colored && Chalk ? new Chalk({ level: 1 }) : plain);

export function makeContext(json: boolean): { ctx: CommandContext; dispose(): void } {
  const controller = new AbortController();
  let handled = false;
  const onSigint = () => {
    if (controller.signal.aborted || !handled) {
      // Second Ctrl-C, or a command that has nothing to clean up: stop now (temp files are removed on exit).
      process.exit(ExitCode.interrupted);
    }
    controller.abort(new InterruptedError());
  };
  process.on('SIGINT', onSigint);
  // SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) would end the process without
  // its 'exit' handlers, leaving temp files behind for good: exit through them instead, with the status
  // a shell reports for a death by that signal (143, 129).
  const onTerminate = (signal: NodeJS.Signals) => process.exit(128 + (osConstants.signals[signal] ?? 0));
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);
  const tty = !json && Boolean(process.stdout.isTTY);
  const ctx: CommandContext = {
    json,
    tty,
    stderrTty: Boolean(process.stderr.isTTY),
    columns: json ? Infinity : terminalWidth(process.stdout),
    color: palette(!json && colorAllowed(process.stdout)),
    // Every human line passes shownLine: a file name holding terminal escapes reaches the terminal escaped.
    out: (line = '') => {
      if (!json) process.stdout.write(shownLine(line, { keepNewlines: true, keepColor: ctx.color.level > 0 }) + '\n');
    },
    err: (line) => {
      process.stderr.write(shownLine(line, { keepNewlines: true, keepColor: colorAllowed(process.stderr) }) + '\n');
    },
    emit: (record) => {
      if (json) process.stdout.write(JSON.stringify(record) + '\n');
    },
    signal: controller.signal,
    handleInterrupt: () => {
      handled = true;
      return controller.signal;
    },
  };
  return {
    ctx,
    dispose: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onTerminate);
      process.off('SIGHUP', onTerminate);
    },
  };
}

/**
 * Print an error the way every command does: one line on stderr, or the JSON error document. Every
 * expected failure is a DigitkitError carrying its exit code; anything else is a bug in digitkit
 * (exit 70, ExitCode.internal), never mistaken for a failed check (exit 1).
 */
export function reportError(err: unknown, json: boolean, command?: string): ExitCodeValue {
  const code = err instanceof DigitkitError ? err.code : ExitCode.internal;
  const text = err instanceof Error ? err.message : String(err);
  // A library names a bad value by its option; the user typed a flag.
  const message =
    err instanceof OptionError
      ? `${flagOf(err.option)} ${err.problem}`
      : err instanceof DigitkitError
        ? text
        : `internal error (a bug in digitkit; DIGITKIT_DEBUG=1 prints where): ${text}`;
  if (json) {
    const doc: Record<string, unknown> = { code, message };
    if (err instanceof DigitkitError && err.detail !== undefined) doc.detail = err.detail;
    process.stdout.write(JSON.stringify({ error: doc }) + '\n');
  } else {
    const color = palette(colorAllowed(process.stderr));
    const prefix = command ? `digitkit ${command}: ` : 'digitkit: ';
    // One line per message, whatever names and snippets it holds (control characters escaped), except
    // a message built as a list of lines (DigitkitError.lines: download's sources and files to place by
    // hand), each escaped on its own line. Ctrl-C's message (where it stopped; the checkpoint; the command
    // that continues) is long: on a terminal its parts go on lines of their own rather than wrapping mid-word.
    const text =
      prefix + (err instanceof DigitkitError && err.lines ? err.lines.map(shown).join('\n') : shown(message));
    const lines =
      err instanceof InterruptedError
        ? wrapParts(punctuated(text.split('; '), '; '), terminalWidth(process.stderr))
        : [text];
    process.stderr.write(lines.map((l) => color.red(l)).join('\n') + '\n');
    if (!(err instanceof DigitkitError) && err instanceof Error && process.env.DIGITKIT_DEBUG) {
      process.stderr.write((err.stack ?? '') + '\n');
    }
  }
  return code;
}

/**
 * Wrap a command body for commander's `.action()`. The body gets its parsed options, positional
 * arguments and the context; what it returns (or throws) becomes output and the exit code.
 */
export function handler<O extends { json?: boolean }>(
  body: (opts: O, ctx: CommandContext, args: string[]) => Promise<CommandResult | void>,
): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const opts = cmd.opts() as O;
    const json = Boolean(opts.json);
    const { ctx, dispose } = makeContext(json);
    try {
      const result = await body(opts, ctx, cmd.args);
      if (json && result && result.json !== undefined)
        process.stdout.write(JSON.stringify(result.json, null, 2) + '\n');
      process.exitCode = result?.exitCode ?? ExitCode.ok;
    } catch (err) {
      process.exitCode = reportError(err, json, cmd.name());
    } finally {
      dispose();
    }
  };
}
