// CI gate: once a trained model and its fixtures ship in models/ and fixtures/, `digitkit verify`
// with its defaults must pass on them (skipped until both files exist).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';

const shipped = ['models/mnist-int8.json', 'fixtures/parity.json'].every((f) => fs.existsSync(path.join(ROOT, f)));

describe.skipIf(!shipped)('the shipped model and fixtures', () => {
  it('digitkit verify (defaults) passes through both shipped modules, core-wasm on its kernel: PARITY OK, exit 0', async () => {
    const r = await runCli(['verify']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK in 2 checks (2 modules, 1 runtime)');
    expect(r.code).toBe(0);
    const doc = JSON.parse((await runCli(['verify', '--json'])).stdout);
    expect(doc.rows.map((x: { module: string; engine?: string; ok: boolean }) => [x.module, x.engine, x.ok])).toEqual([
      ['dist/core/index.js', undefined, true],
      ['dist/core-wasm/index.js', 'wasm', true],
    ]);
  });
});
