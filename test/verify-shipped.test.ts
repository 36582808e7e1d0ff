// CI gate: once a trained model and its fixtures ship in models/ and fixtures/, `digitkit verify`
// with its defaults must pass on them (skipped until both files exist).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

const shipped = ['models/mnist-int8.json', 'fixtures/parity.json'].every((f) => fs.existsSync(path.join(ROOT, f)));

describe.skipIf(!shipped)('the shipped model and fixtures', () => {
  it('digitkit verify (defaults) passes: PARITY OK, exit 0', async () => {
    const r = await runCli(['verify']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK');
    expect(r.code).toBe(0);
  });
});
