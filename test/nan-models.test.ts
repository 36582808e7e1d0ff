// Issue 18 item 6: a model whose numbers are finite but huge (a layer scale of 1e308, a bias of
// 1e308) must never give NaN probabilities. The core refuses such a model at load; these are the
// regression tests through every command that reads a model: exit 3 naming the file and the layer,
// and no NaN anywhere in what is printed (text or --json).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { loadT10k, digitAt } from './helpers/render.js';
import { runCli } from './helpers/cli.js';
import { randomModelText } from './helpers/random-model.js';
import os from 'node:os';
import sharp from 'sharp';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A random MNIST-shaped model with one edit to its JSON (numbers that pass every per-field check). */
function model(name: string, edit: (doc: { layers: { scale: number; b: number[] }[] }) => void): string {
  const doc = JSON.parse(randomModelText({ seed: 31 }));
  edit(doc);
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

const HUGE: [string, (d: { layers: { scale: number; b: number[] }[] }) => void, string][] = [
  ['scale-1e308.json', (d) => (d.layers[0].scale = 1e308), 'layers[0]'],
  ['scale-1e297.json', (d) => (d.layers[1].scale = 1e297), 'layers[1]'],
  ['bias-1e308.json', (d) => (d.layers[2].b = d.layers[2].b.map(() => 1e308)), 'layers[2]'],
];

describe('a model whose outputs could overflow is refused by every command, never NaN', () => {
  it('predict, verify, eval, explain, fixtures, export, web: exit 3 naming the file and layer, no NaN printed', async () => {
    const t10k = await loadT10k();
    const png = path.join(dir, 'seven.png');
    await sharp(Buffer.from(digitAt(t10k, 0).pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(png);
    for (const [name, edit, layer] of HUGE) {
      const m = model(name, edit);
      const commands = [
        ['predict', png, '--model', m],
        ['verify', '--model', m],
        ['eval', '--model', m, '--data', embeddedMnistDir()],
        ['explain', png, '--model', m, '--out', path.join(dir, 'explained')],
        ['fixtures', '--model', m, '--out', path.join(dir, 'fx.json'), '--count', '10', '--data', embeddedMnistDir()],
        ['export', '--onnx', path.join(dir, 'm.onnx'), '--model', m],
        ['web', path.join(dir, 'site'), '--model', m],
      ];
      for (const args of commands) {
        for (const json of name === 'scale-1e308.json' ? [false, true] : [false]) {
          const r = await runCli(json ? [...args, '--json'] : args);
          const what = `${args[0]} ${name}${json ? ' --json' : ''}`;
          expect(r.code, what).toBe(3);
          expect(r.stdout + r.stderr, what).not.toMatch(/NaN|null/);
          const message = json ? JSON.parse(r.stdout).error.message : r.stderr;
          expect(message, what).toContain(`${m}: ${layer} has weights so large that outputs could overflow`);
        }
      }
      // Nothing was written for the refused model.
      for (const out of ['fx.json', 'm.onnx', 'site', 'explained'])
        expect(fs.existsSync(path.join(dir, out))).toBe(false);
    }
  });

  it('a huge scale that cannot overflow (1e200) is accepted, and its probabilities are finite', async () => {
    const t10k = await loadT10k();
    const png = path.join(dir, 'two.png');
    await sharp(Buffer.from(digitAt(t10k, 1).pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(png);
    const m = model('scale-1e200.json', (d) => (d.layers[1].scale = 1e200));
    const r = await runCli(['predict', png, '--model', m, '--json', '--top', '10']);
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.stdout);
    expect(row.top).toHaveLength(10);
    for (const t of row.top) expect(Number.isFinite(t.p)).toBe(true);
    expect(row.top.reduce((a: number, t: { p: number }) => a + t.p, 0)).toBeCloseTo(1, 12);
  });
});
