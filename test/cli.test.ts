import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { ROOT, runCli } from './helpers/cli.js';

const MISSION = ['download', 'train', 'quantize', 'fixtures', 'verify', 'predict'];
const ESC = '\x1b[';

describe('digitkit CLI', () => {
  it('--help lists every subcommand of the mission', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of MISSION) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
  });

  it('a bad flag value is one line on stderr naming the command and the flag, exit 2', async () => {
    for (const args of [
      ['train', '--batch', 'abc'],
      ['train', '--hidden', '1,x'],
      ['train', '--lr', 'fast'],
      ['download', '--source', 'ftp'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^digitkit ${args[0]}: option '${args[1]} <[a-z]+>' argument '${args[2]}' is invalid`),
      );
    }
  });

  it("a value out of range is the library's rule, worded with the flag: one line, exit 2, before any work", async () => {
    const noData = path.join(os.tmpdir(), `digitkit-cli-no-data-${process.pid}`);
    for (const [args, line] of [
      [['train', '--lr', '-1', '--data', noData], '--lr -1: expected a number > 0 and at most 10'],
      [['train', '--label-smoothing', '1', '--data', noData], '--label-smoothing 1: expected a number in [0, 1)'],
      [
        ['train', '--hidden', '0', '--data', noData],
        '--hidden 0: expected 1 to 8 layer widths, each an integer from 1 to 4096',
      ],
      [['train', '--threads', '0', '--data', noData], '--threads 0: expected an integer from 1 to 64'],
      [['pipeline', '--epochs', '0', '--data', noData], '--epochs 0: expected an integer from 1 to 100000'],
      [['pipeline', '--count', '5', '--data', noData], '--count 5: need at least 10, one case per class'],
      [['verify', '--tolerance', '-1'], '--tolerance -1: expected a finite number >= 0'],
      [['web', 'never-written', '--serve', '--port', '70000'], '--port 70000: expected an integer from 0 to 65535'],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^digitkit ${args[0]}: ${line.replace(/[[\]()+.]/g, '\\$&')}`));
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    // Checked before anything is read or written: no data was looked for, no site was written.
    expect(fs.existsSync(noData)).toBe(false);
    expect(fs.existsSync(path.join(ROOT, 'never-written'))).toBe(false);
    // The library says the same with the option's own name.
    const { validateConfig } = await import('../src/train/config.js');
    expect(() => validateConfig({ labelSmoothing: 1 })).toThrow('labelSmoothing 1: expected a number in [0, 1)');
  });

  it('a bug (an error no code path expected) exits 70 as an internal error, never 1 (check failed)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-cli-crash-'));
    try {
      const dist = (f: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/cli', f)).href);
      // In a command's body: what handler() makes of a TypeError.
      const inCommand = path.join(dir, 'in-command.mjs');
      fs.writeFileSync(
        inCommand,
        `const { handler } = await import(${dist('context.js')});
        const cmd = { opts: () => ({ json: process.argv.includes('--json') }), args: [], name: () => 'train' };
        await handler(async () => null.x)(cmd);`,
      );
      // Outside any command: an error thrown from a timer while the CLI runs.
      const outside = path.join(dir, 'outside.mjs');
      fs.writeFileSync(
        outside,
        `const { main } = await import(${dist('main.js')});
        setTimeout(() => { throw new RangeError('boom'); }, 0);
        await main(['node', 'digitkit', 'help']);
        await new Promise((r) => setTimeout(r, 1000));`,
      );
      const run = (file: string, ...args: string[]) =>
        spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const text = run(inCommand);
      expect(text.status).toBe(70);
      expect(text.stderr).toMatch(
        /^digitkit train: internal error \(a bug in digitkit; DIGITKIT_DEBUG=1 prints where\): /,
      );
      const json = run(inCommand, '--json');
      expect(json.status).toBe(70);
      expect(JSON.parse(json.stdout).error.code).toBe(70);
      const timer = run(outside);
      expect(timer.status).toBe(70);
      expect(timer.stderr).toContain('internal error (a bug in digitkit; DIGITKIT_DEBUG=1 prints where): boom');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('--help and `help <command>` load every command (each is registered only when needed)', async () => {
    const r = await runCli(['--help']);
    expect(COMMANDS.map((c) => c.name)).toEqual(expect.arrayContaining(MISSION));
    for (const { name } of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
    const help = await runCli(['help', 'predict']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: digitkit predict \[options\] <inputs\.\.\.>/m);
  });

  it('a command named first gets its own options and help; --version needs no command', async () => {
    const r = await runCli(['predict', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: digitkit predict \[options\] <inputs\.\.\.>/m);
    expect(r.stdout).toContain('--save-preprocessed <dir>');
    for (const flag of ['-V', '--version']) {
      const v = await runCli([flag]);
      expect(v.code).toBe(0);
      expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('an unknown command is a usage error (exit 2), as JSON under --json', async () => {
    const plain = await runCli(['frobnicate']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("unknown command 'frobnicate'");
    const json = await runCli(['frobnicate', '--json']);
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc.error.code).toBe(2);
    expect(doc.error.message).toContain('frobnicate');
  });

  it('a misspelt command gets a suggestion (every command is loaded to find it)', async () => {
    const r = await runCli(['predikt', 'x.png']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(Did you mean predict?)');
  });

  it('colours errors only when asked to: FORCE_COLOR on a pipe, never with NO_COLOR or --json', async () => {
    const missing = ['predict', 'no-such-digit.png'];
    const forced = await runCli(missing, { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.code).toBe(5);
    expect(forced.stderr).toContain(`${ESC}31mdigitkit predict: no-such-digit.png: no such file or directory`);
    const plain = await runCli(missing);
    expect(plain.code).toBe(5);
    expect(plain.stderr).toBe('digitkit predict: no-such-digit.png: no such file or directory\n');
    const json = await runCli([...missing, '--json'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(json.code).toBe(5);
    expect(json.stdout).not.toContain(ESC);
    expect(JSON.parse(json.stdout)[0].error).toBe('no such file or directory');
  });
});
