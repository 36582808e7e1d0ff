import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

const MISSION = ['download', 'train', 'quantize', 'fixtures', 'verify', 'predict'];

describe('digitkit CLI', () => {
  it('--help lists every subcommand of the mission', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of MISSION) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
  });

  it('a bad flag value is one line on stderr naming the command and the flag, exit 2', async () => {
    for (const args of [['train', '--batch', 'abc'], ['train', '--hidden', '0'], ['train', '--lr', '-1'], ['download', '--source', 'ftp']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^digitkit ${args[0]}: option '${args[1]} <[a-z]+>' argument '${args[2]}' is invalid`));
    }
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
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
});
