// digitkit on a real terminal (a pseudo-terminal from util-linux's `script`, sized with stty): Ctrl-C
// typed while the progress bar draws, the width of every line at 80 and 60 columns, FORCE_COLOR=0 and
// TERM=dumb. What the terminal shows is replayed by helpers/pty.ts's screen().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { BIN, ROOT } from './helpers/cli.js';
import { runOnPty, screen } from './helpers/pty.js';

const DATA = embeddedMnistDir();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-terminal-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);

/** The bar is drawing in the middle of epoch `epoch` (a frame with a percentage below 100). */
const barIn = (epoch: number, of: number) => new RegExp(`epoch ${epoch}/${of} \\S* ?([1-9]|[1-9]\\d)% `);
/** The bar is in the first half of epoch `epoch`: a Ctrl-C typed now lands mid-epoch even on a fast host. */
const barEarlyIn = (epoch: number, of: number) => new RegExp(`epoch ${epoch}/${of} \\S* ?(?<!\\d)([1-9]|[1-4]\\d)% `);

describe('Ctrl-C on a terminal', () => {
  it('train: one Ctrl-C mid-epoch stops the bar, gives the cursor back, exits 130 at once with the message last', async () => {
    const run = runOnPty(
      ['train', '--data', DATA, '--limit', '30000', '--epochs', '40', '--out', out('tty.json'), '--threads', '1'],
      { cols: 100 },
    );
    // (With 12,000 images an epoch took ~0.1 s on a quiet host: the Ctrl-C, typed at 90%, landed on the next epoch's start.)
    await run.waitFor(barEarlyIn(2, 40));
    const sent = performance.now();
    run.type('\x03');
    const code = await run.exit;
    const s = screen(run.output(), 100);
    expect(code, run.output()).toBe(130);
    // A step is milliseconds; the checkpoint write and the workers' exit take the rest.
    expect(run.exitedAt() - sent).toBeLessThan(15_000);
    expect(s.cursorHidden).toBe(false);
    // the message, broken between its parts to fit the width, is what the screen ends with
    // (the resume command, longer than the terminal here, wraps as a whole; it is never cut)
    const at = s.lines.findIndex((l) => l.startsWith('digitkit train: interrupted'));
    const tail = s.lines.slice(at);
    expect(tail[0]).toMatch(/^digitkit train: interrupted at epoch 2, step \d+\/\d+;$/);
    expect(tail[1]).toMatch(/^ {2}checkpoint saved to .*tty\.ckpt;$/);
    expect(tail[2]).toMatch(/^ {2}resume with: digitkit train /);
    expect(tail.slice(2).join('')).toMatch(/--resume \S*tty\.ckpt$/);
    // nothing was drawn over the message
    const raw = run.output();
    expect(raw.slice(raw.indexOf('interrupted at epoch'))).not.toMatch(/\d+% \|/);
    expect(fs.existsSync(out('tty.ckpt'))).toBe(true);
    expect(fs.existsSync(out('tty.json'))).toBe(false);
  });

  it('pipeline: Ctrl-C in training exits 130 without "train done", the continue command last', async () => {
    const args = [
      'pipeline',
      '--data',
      DATA,
      '--models',
      out('models'),
      '--fixtures',
      out('fx.json'),
      '--threads',
      '1',
    ];
    const run = runOnPty(args, { cols: 120 });
    await run.waitFor(barIn(1, 60));
    run.type('\x03');
    const code = await run.exit;
    const s = screen(run.output(), 120);
    expect(code, run.output()).toBe(130);
    expect(s.cursorHidden).toBe(false);
    expect(s.lines.join('\n')).not.toMatch(/train done/);
    const at = s.lines.findIndex((l) => l.startsWith('digitkit pipeline: interrupted'));
    expect(at, run.output()).toBeGreaterThan(0);
    expect(s.lines.slice(at).join(' ')).toMatch(
      /^digitkit pipeline: interrupted at epoch 1, step \d+\/430 of training; +checkpoint saved to .*-f32\.ckpt; +continue with: digitkit pipeline .*--resume /,
    );
  });

  it('pipeline on a pipe: the same, and no "train done" either', async () => {
    const args = ['pipeline', '--data', DATA, '--models', out('pm'), '--fixtures', out('pfx.json'), '--threads', '1'];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      if (/^== train/m.test(stdout) && /^training /m.test(stdout)) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stdout).not.toMatch(/train done/);
    expect(stderr).toMatch(/interrupted at epoch 1, step \d+\/430 of training; .* continue with: digitkit pipeline /);
    expect(stderr).not.toMatch(/\x1b/);
  });
});

describe('the width of a terminal', () => {
  it.each([80, 60])(
    'train at %i columns: no line wraps, the bar keeps its ETA, the epoch line its validation',
    async (cols) => {
      const run = runOnPty(
        ['train', '--data', DATA, '--limit', '3000', '--epochs', '2', '--out', out(`w${cols}.json`), '--threads', '1'],
        { cols },
      );
      const code = await run.exit;
      const s = screen(run.output(), cols);
      expect(code, run.output()).toBe(0);
      expect(s.wraps, run.output()).toBe(0);
      for (const l of s.lines) expect(l.length).toBeLessThan(cols);
      const frames = run
        .output()
        .split('\r')
        .filter((f) => /epoch \d\/2 [\u2588\u2591]/.test(f));
      expect(frames.length).toBeGreaterThan(0);
      for (const f of frames) expect(f).toMatch(/ETA (…|\d+s|\d+m\d\ds)/);
      const epochs = s.lines.filter((l) => /^epoch \d\/2 /.test(l));
      expect(epochs).toHaveLength(2);
      for (const l of epochs) expect(l).toMatch(/loss \d\.\d{4} .*val loss \d\.\d{4}  val \d+\.\d\d%/);
      expect(s.lines.join('\n')).toMatch(/test accuracy \d+\.\d\d%/);
      expect(s.lines.join('\n')).toContain(`wrote ${out(`w${cols}.json`)}`);
    },
  );

  it('the same run on a pipe keeps every column on one line each', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--data', DATA, '--limit', '3000', '--epochs', '2', '--out', out('wp.json')], {
      env: { COLUMNS: '40' },
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^training 784-128-64-10 on 2,750 images \(250 held out for validation\), 2 epochs of 22 steps, batch 128, lr 0\.002 constant, seed 1, \d+ threads?$/m,
    );
    expect(r.stdout).toMatch(
      /^epoch 2\/2  loss \S+  train \S+%  val loss \S+  val \S+%  lr \S+  \S+s  [\d,]+ img\/s$/m,
    );
    expect(r.stdout).toMatch(/^test accuracy .*; wrote .*; checkpoint .*wp\.ckpt$/m);
  });
});

describe('colour and dumb terminals', () => {
  const verifyArgs = ['verify'];
  it('colours a terminal by default, not with FORCE_COLOR=0 or NO_COLOR', async () => {
    const plain = runOnPty(verifyArgs);
    expect(await plain.exit).toBe(0);
    expect(screen(plain.output(), 80).colored).toBe(true);
    for (const env of [{ FORCE_COLOR: '0' }, { NO_COLOR: '1' }, { TERM: 'dumb' }]) {
      const r = runOnPty(verifyArgs, { env });
      expect(await r.exit).toBe(0);
      expect(screen(r.output(), 80).colored, JSON.stringify(env)).toBe(false);
      expect(r.output()).toMatch(/PARITY OK/);
    }
  });

  it('TERM=dumb gets the plain lines and no progress bar', async () => {
    const run = runOnPty(
      ['train', '--data', DATA, '--limit', '3000', '--epochs', '1', '--out', out('dumb.json'), '--threads', '1'],
      { env: { TERM: 'dumb' } },
    );
    expect(await run.exit).toBe(0);
    const raw = run.output();
    expect(raw).not.toMatch(/\x1b/);
    expect(raw).not.toMatch(/%\s*\|/);
    expect(raw).toMatch(/epoch 1\/1  loss/);
  });
});
