// MNIST stays the zero-flag default, byte for byte: the shipped artifacts are what the stages make from
// them. Quantizing the committed float model reproduces the committed int8 model, and fixtures from it
// reproduce the committed fixtures (SHA-256 of the bytes). The full `npx digitkit pipeline` (training
// included, ~35 s) is checked the same way before every merge; here the affordable half.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';

const dir = tempDir('digitkit-artifacts-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const FLOAT = path.join(ROOT, 'models/mnist-f32.json');
const INT8 = path.join(ROOT, 'models/mnist-int8.json');
const FIXTURES = path.join(ROOT, 'fixtures/parity.json');

describe('the shipped MNIST artifacts', () => {
  it('quantize (defaults) on the committed float model gives the committed int8 model, byte for byte', async () => {
    const out = path.join(dir, 'mnist-int8.json');
    const r = await runCli(['quantize', '--in', FLOAT, '--out', out, '--data', embeddedMnistDir()]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(out)).toBe(sha(INT8));
  });

  it('fixtures (defaults) on the committed int8 model give the committed fixtures, byte for byte', async () => {
    const out = path.join(dir, 'parity.json');
    const r = await runCli([
      'fixtures',
      '--model',
      'models/mnist-int8.json',
      '--out',
      out,
      '--data',
      embeddedMnistDir(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(out)).toBe(sha(FIXTURES));
    expect(JSON.parse(fs.readFileSync(FIXTURES, 'utf8')).model.sha256).toBe(sha(INT8));
  });

  it("the float model is a version-1 file whose meta has MNIST's configuration keys and dataset hashes only", () => {
    const m = JSON.parse(fs.readFileSync(FLOAT, 'utf8'));
    expect(m.version).toBe(1);
    expect(Object.keys(m.meta.config)).toEqual([
      'epochs',
      'batch',
      'lr',
      'schedule',
      'warmup',
      'labelSmoothing',
      'hidden',
      'shift',
      'rotate',
      'zoom',
      'limit',
      'val',
    ]);
    expect(Object.keys(m.meta.dataset)).toEqual(['sha256']);
  });
});
