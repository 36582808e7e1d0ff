// The real CLI on a real pseudo-terminal: util-linux's `script` gives the command a pty of the size we
// set with stty (stdout and stderr are that terminal, as in tmux or an xterm), forwards what we write
// (so "\x03" is a real Ctrl-C from the line discipline, sent to the foreground process group) and
// copies what the terminal received. `screen()` replays that output the way a terminal would, to check
// what is left visible, whether any line wrapped, and whether the cursor was given back.
import { spawn } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

export interface PtyRun {
  /** Everything the terminal received so far (stdout and stderr, in order). */
  output(): string;
  /** Type into the terminal ("\x03" is Ctrl-C). */
  type(text: string): void;
  /** Resolves when `pattern` appears in the output (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The command's exit status (script -e passes it through; 128 + n for a signal). */
  exit: Promise<number | null>;
  /** When the process exited, in performance.now() milliseconds. */
  exitedAt(): number;
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

export function runOnPty(
  args: string[],
  opts: { cols?: number; rows?: number; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): PtyRun {
  const cmd = `stty cols ${opts.cols ?? 80} rows ${opts.rows ?? 24}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', ...opts.env };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  delete env.COLUMNS;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd: ROOT, env, stdio: 'pipe' });
  let out = '';
  let exitedAt = 0;
  const waiters: { pattern: RegExp; resolve(): void }[] = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(out)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exitedAt = performance.now();
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    output: () => out,
    type: (text) => child.stdin.write(text),
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(out)) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      }),
    exit,
    exitedAt: () => exitedAt,
  };
}

export interface Screen {
  /** The lines as they stand at the end, trailing blanks trimmed. */
  lines: string[];
  /** How many times the terminal had to wrap a line (text reached the last column and went on). */
  wraps: number;
  /** Whether the cursor is hidden at the end (\x1b[?25l without a later \x1b[?25h). */
  cursorHidden: boolean;
  /** Whether any colour (SGR) sequence was written. */
  colored: boolean;
}

/** Replay terminal output on a `cols`-wide screen: \r, \n, \b, erase-line, cursor visibility, SGR. */
export function screen(output: string, cols: number): Screen {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let wraps = 0;
  let cursorHidden = false;
  let colored = false;
  const line = () => (lines[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const ch = output[i];
    if (ch === '\x1b' && output[i + 1] === '[') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(output.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const [, arg, op] = m;
      if (op === 'K') {
        if (arg === '' || arg === '0') line().length = Math.min(line().length, col);
        else if (arg === '2') lines[row] = [];
      } else if (op === 'l' && arg === '?25') cursorHidden = true;
      else if (op === 'h' && arg === '?25') cursorHidden = false;
      else if (op === 'm') colored ||= arg !== '' && arg !== '0' && arg !== '39' && arg !== '22';
      else if (op === 'G') col = Math.max(0, Number(arg || 1) - 1);
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      line();
    } else if (ch === '\b') col = Math.max(0, col - 1);
    else {
      if (col >= cols) {
        wraps++;
        row++;
        col = 0;
      }
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = ch;
    }
  }
  const text = lines.map((l) => (l ?? []).join('').trimEnd());
  while (text.length && text[text.length - 1] === '') text.pop();
  return { lines: text, wraps, cursorHidden, colored };
}
