import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const MISSION = ['download', 'train', 'quantize', 'fixtures', 'verify', 'predict'];

describe('digitkit CLI', () => {
  it('--help lists every subcommand of the mission', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of MISSION) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
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
