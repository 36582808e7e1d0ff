// `digitkit predict` end to end on files made from real MNIST test digits (never seen in training),
// drawn the way users draw them, through the real CLI and the real model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPixels, loadModel, preprocess, toGray } from '../dist/core/index.js';
import type { Prediction } from '../src/predict/jobs.js';
import { runCli } from './helpers/cli.js';
import { digitAt, LOOKS, loadT10k, renderDigit, requireTestModel, rng, type Look, type Rgb } from './helpers/render.js';

/** One entry of `predict --json`. */
type Row = Prediction;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-predict-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PER_LOOK = 100;

describe('digitkit predict: accuracy on t10k digits drawn the way users draw them', () => {
  it(`classifies >= 97% of ${PER_LOOK * Object.keys(LOOKS).length} rendered files correctly (reported per look)`, async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const dir = path.join(tmp, 'accuracy');
    fs.mkdirSync(dir);
    // Distinct digits, spread over the whole test set.
    const pick = rng(2024);
    const order = Array.from({ length: 10000 }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(pick() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const truth = new Map<string, { look: string; label: number; index: number }>();
    const r = rng(7);
    let n = 0;
    for (const [look, spec] of Object.entries(LOOKS)) {
      for (let k = 0; k < PER_LOOK; k++, n++) {
        const d = digitAt(t, order[n]);
        const { bytes, ext } = await renderDigit(d.pixels, spec, r);
        const file = path.join(dir, `${String(n).padStart(4, '0')}${ext}`);
        fs.writeFileSync(file, bytes);
        truth.set(file, { look, label: d.label, index: order[n] });
      }
    }
    const res = await runCli(['predict', dir, '--json', '--model', model]);
    const rows = JSON.parse(res.stdout) as Row[];
    expect(rows.map((row) => row.file)).toEqual([...truth.keys()]);
    // For scale: the model on the very same digits in their original 28x28 form.
    const net = loadModel(fs.readFileSync(model, 'utf8'));
    const per = new Map<string, { ok: number; orig: number; all: number }>();
    for (const row of rows) {
      const { look, label, index } = truth.get(row.file)!;
      const c = per.get(look) ?? { ok: 0, orig: 0, all: 0 };
      c.all++;
      if (row.digit === label) c.ok++;
      if (classifyPixels(net, digitAt(t, index).pixels).index === label) c.orig++;
      per.set(look, c);
    }
    const sum = (k: 'ok' | 'orig') => [...per.values()].reduce((a, c) => a + c[k], 0);
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
    const ok = sum('ok');
    const lines = [...per].map(
      ([look, c]) => `| ${look} | ${c.ok}/${c.all} | ${pct(c.ok, c.all)} | ${pct(c.orig, c.all)} |`,
    );
    console.log(
      `predict accuracy with ${model}:\n| look | correct | accuracy | same digits as 28x28 originals |\n|---|---|---|---|\n${lines.join('\n')}\n` +
        `| **all** | ${ok}/${rows.length} | **${pct(ok, rows.length)}** | ${pct(sum('orig'), rows.length)} |`,
    );
    // Rendered digits are never blank, so nothing may be rejected.
    expect(rows.filter((row) => row.error)).toEqual([]);
    expect(res.code).toBe(0);
    expect(ok / rows.length).toBeGreaterThanOrEqual(0.97);
    // A look that broke (say, transparency read as ink) would sink far below the others.
    for (const [look, c] of per) expect(c.ok / c.all, look).toBeGreaterThanOrEqual(0.9);
  });
});

describe('digitkit predict: what users hand it', () => {
  // Digits the model reads with confidence in their original 28x28 form, redrawn several ways.
  const on = (ink: Rgb, background: Rgb | null, extra: Partial<Look> = {}): Look => ({
    width: 220,
    height: 180,
    size: [110, 150],
    ink,
    background,
    ...extra,
  });
  const looks: Record<string, Look> = {
    'dark on white': on([0, 0, 0], [255, 255, 255]),
    'transparent background, dark strokes': on([25, 25, 25], null),
    'inverted colours': on([255, 255, 255], [0, 0, 0]),
    'blue on yellow': on([20, 40, 200], [255, 235, 120]),
    'white on red': on([255, 255, 255], [200, 30, 40]),
    'jpeg, grey paper': on([40, 35, 50], [200, 196, 185], { jpeg: { quality: [50, 50] } }),
  };
  // t10k indices 0..4 are a 7, 2, 1, 0, 4.
  const digits = [0, 1, 2, 3, 4];

  it('transparent backgrounds, inverted colours and coloured backgrounds are classified correctly', async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const dir = path.join(tmp, 'looks');
    fs.mkdirSync(dir);
    const want: Record<string, number> = {};
    let n = 0;
    for (const [name, look] of Object.entries(looks)) {
      for (const i of digits) {
        const { bytes, ext } = await renderDigit(digitAt(t, i).pixels, look, rng(i + 1));
        const file = path.join(dir, `${name.replace(/\W+/g, '-')}-${n++}${ext}`);
        fs.writeFileSync(file, bytes);
        want[file] = t.labels[i];
      }
    }
    const res = await runCli(['predict', ...Object.keys(want), '--json', '--model', model]);
    expect(res.code).toBe(0);
    const got = Object.fromEntries((JSON.parse(res.stdout) as Row[]).map((row) => [row.file, row.digit]));
    expect(got).toEqual(want);
  });

  it('white ink on a transparent background is read from the alpha, with --invert auto and no', async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const dir = path.join(tmp, 'white-on-transparent');
    fs.mkdirSync(dir);
    const want: Record<string, number> = {};
    for (const i of digits) {
      // Real RGBA PNGs: white strokes whose coverage is the alpha, fully transparent around them.
      const { bytes } = await renderDigit(digitAt(t, i).pixels, on([255, 255, 255], null), rng(i + 7));
      const file = path.join(dir, `white-${i}.png`);
      fs.writeFileSync(file, bytes);
      want[file] = t.labels[i];
    }
    expect((await sharp(Object.keys(want)[0]).metadata()).hasAlpha).toBe(true);
    for (const invert of ['auto', 'no']) {
      const res = await runCli(['predict', ...Object.keys(want), '--invert', invert, '--json', '--model', model]);
      expect(res.stderr, invert).toBe('');
      expect(res.code, invert).toBe(0);
      const rows = JSON.parse(res.stdout) as Row[];
      expect(Object.fromEntries(rows.map((row) => [row.file, row.digit])), invert).toEqual(want);
    }
  });

  it('reads one image from stdin with -', async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const { bytes } = await renderDigit(digitAt(t, 2).pixels, looks['dark on white'], rng(5));
    const res = await runCli(['predict', '-', '--json', '--model', model], { input: bytes });
    expect(res.code).toBe(0);
    const [row] = JSON.parse(res.stdout) as Row[];
    expect(row).toMatchObject({ file: '-', digit: 1, label: '1', index: 1 });
    expect(row.top).toHaveLength(3);
    expect(row.top[0]).toEqual({ digit: 1, label: '1', index: 1, p: row.probability });
    expect(row.top[0].p).toBeGreaterThan(row.top[1].p);
  });

  it('human output: one aligned line per file with digit, probability and the top k', async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const dir = path.join(tmp, 'human');
    fs.mkdirSync(dir);
    for (const [i, name] of [
      [0, 'seven.png'],
      [3, 'a-zero-with-a-long-name.png'],
    ] as const) {
      fs.writeFileSync(
        path.join(dir, name),
        (await renderDigit(digitAt(t, i).pixels, looks['dark on white'], rng(9))).bytes,
      );
    }
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image, and not picked up from a directory');
    const res = await runCli(['predict', dir, '--top', '2', '--model', model]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    // Sorted by name; the .txt file is not an image file, so the directory scan skips it.
    expect(lines[0]).toMatch(/a-zero-with-a-long-name\.png {2}0 +\d+\.\d% +top: 0 +\d+\.\d% +\d +\d+\.\d%$/);
    expect(lines[1]).toMatch(/seven\.png +7 /);
    // The digit column lines up whatever the name's length.
    const digitColumn = (line: string) => line.search(/ \d +\d+\.\d% /);
    expect(digitColumn(lines[0])).toBeGreaterThan(0);
    expect(digitColumn(lines[0])).toBe(digitColumn(lines[1]));
    expect(lines[2]).toBe('2 inputs: 2 classified, 0 rejected');
    expect(res.stderr).toBe('');
  });

  it('--save-preprocessed writes the exact 28x28 input the model saw, one PNG per file', async () => {
    const model = requireTestModel();
    const t = await loadT10k();
    const a = path.join(tmp, 'save-a'),
      b = path.join(tmp, 'save-b'),
      out = path.join(tmp, 'saved');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const inputs = [path.join(a, '1.png'), path.join(b, '1.png'), path.join(b, '2.jpg')];
    fs.writeFileSync(
      inputs[0],
      (await renderDigit(digitAt(t, 0).pixels, looks['transparent background, dark strokes'], rng(1))).bytes,
    );
    fs.writeFileSync(inputs[1], (await renderDigit(digitAt(t, 1).pixels, looks['inverted colours'], rng(2))).bytes);
    fs.writeFileSync(inputs[2], (await renderDigit(digitAt(t, 2).pixels, looks['jpeg, grey paper'], rng(3))).bytes);
    const res = await runCli(['predict', ...inputs, '--save-preprocessed', out, '--json', '--model', model]);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as Row[];
    // Same base name twice: the second gets a suffix instead of overwriting the first.
    expect(rows.map((row) => path.basename(row.preprocessed!))).toEqual([
      '1.28x28.png',
      '1-2.28x28.png',
      '2.28x28.png',
    ]);
    expect(fs.readdirSync(out).sort()).toEqual(['1-2.28x28.png', '1.28x28.png', '2.28x28.png']);
    for (const [i, row] of rows.entries()) {
      expect(await sharp(row.preprocessed!).metadata()).toMatchObject({
        format: 'png',
        width: 28,
        height: 28,
        channels: 1,
      });
      const saved = await sharp(row.preprocessed!).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      const { data, info } = await sharp(inputs[i])
        .toColourspace('srgb')
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const expected = preprocess(toGray(data), info.width, info.height).pixels;
      expect(Buffer.from(saved.data).equals(Buffer.from(expected))).toBe(true);
    }
  });
});
