// `digitkit explain` end to end: real PNG and JPEG files of t10k digits (rendered the way users make
// them), the numbers under --json checked against `digitkit predict` and the explain library, the PNG
// panel decoded and its maps checked pixel by pixel, bad arguments and bad images; and the vector
// panel through the library.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64, loadModel, pixelsToInput } from '../src/core/index.js';
import { heatRgb, LOWER, RAISE, scaleOf } from '../src/draw/heatmap.js';
import { hiddenActivations, integratedGradients, logits, saliency } from '../src/explain/index.js';
import { imagePanelLayout, renderVectorPanel } from '../src/explain/panel.js';
import type { Explanation, ExplainRejected } from '../src/explain/run.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';
import { digitAt, LOOKS, loadT10k, renderDigit, rng } from './helpers/render.js';

const MODEL = path.join(ROOT, 'models/mnist-int8.json');
const dir = tempDir('digitkit-explain-cli-');
const images = path.join(dir, 'images');
const model = loadModel(fs.readFileSync(MODEL, 'utf8'));
/** t10k digits 4 (a 4) and 8 (a 5) as a 200x200 PNG; digit 3 (a 0) as a JPEG photo. */
const files: { file: string; label: number }[] = [];

beforeAll(async () => {
  const t10k = await loadT10k();
  const r = rng(15);
  fs.mkdirSync(images);
  for (const [i, look] of [
    [4, 'canvas 200x200'],
    [8, 'canvas 200x200'],
    [3, 'jpeg photo'],
  ] as const) {
    const d = digitAt(t10k, i);
    const { bytes, ext } = await renderDigit(d.pixels, LOOKS[look], r);
    const file = path.join(images, `t10k-${i}${ext}`);
    fs.writeFileSync(file, bytes);
    files.push({ file, label: d.label });
  }
});

type Row = Explanation | ExplainRejected;
const explain = async (args: string[]) => {
  const r = await runCli(['explain', '--model', MODEL, ...args]);
  return { ...r, rows: r.stdout.startsWith('[') ? (JSON.parse(r.stdout) as Row[]) : [] };
};

async function decode(file: string) {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    info,
    at: (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)),
  };
}

describe('digitkit explain IMAGE... --json', () => {
  it('--top 2: per image and class the file, class, probability, the pixels predict sees, and d logit / d x (saliency)', async () => {
    const out = path.join(dir, 'top2');
    const r = await explain([...files.map((f) => f.file), '--top', '2', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.rows).toHaveLength(6);
    const save = path.join(dir, 'seen');
    const p = await runCli([
      'predict',
      ...files.map((f) => f.file),
      '--model',
      MODEL,
      '--top',
      '2',
      '--json',
      '--save-preprocessed',
      save,
    ]);
    expect(p.code).toBe(0);
    const predicted = JSON.parse(p.stdout) as {
      file: string;
      digit: number;
      top: { digit: number; p: number }[];
      preprocessed: string;
    }[];
    for (const [k, { file, label }] of files.entries()) {
      const rows = r.rows.filter((x) => x.file === file) as Explanation[];
      expect(rows.map((x) => x.class)).toEqual(predicted[k].top.map((t) => t.digit));
      expect(rows[0].class).toBe(label); // the trained model reads each of these right
      const seen = await sharp(predicted[k].preprocessed).extractChannel(0).raw().toBuffer();
      for (const [j, row] of rows.entries()) {
        expect(row.label).toBe(String(row.class));
        // predict runs on core-wasm (its kernel: float64, other summation order), explain on the core.
        expect(Math.abs(row.probability - predicted[k].top[j].p)).toBeLessThan(1e-12);
        expect(row.method).toBe('saliency');
        expect(Buffer.from(row.pixels, 'base64')).toEqual(seen);
        const x = pixelsToInput(model, decodeBase64(row.pixels)!);
        expect(row.attribution).toEqual(Array.from(saliency(model, x, row.class)));
        expect(row.panel).toBe(path.join(out, `${path.basename(file, path.extname(file))}.explain.png`));
      }
    }
    expect(fs.readdirSync(out).sort()).toEqual(['t10k-3.explain.png', 't10k-4.explain.png', 't10k-8.explain.png']);
  });

  it('--method ig --class 9: integrated gradients that sum to logit(x) - logit(0) for that class', async () => {
    const r = await explain([files[0].file, '--method', 'ig', '--class', '9', '--out', path.join(dir, 'ig'), '--json']);
    expect(r.code).toBe(0);
    const [row] = r.rows as Explanation[];
    expect([row.class, row.method]).toEqual([9, 'ig']);
    const x = pixelsToInput(model, decodeBase64(row.pixels)!);
    expect(row.attribution).toEqual(Array.from(integratedGradients(model, x, 9)));
    const delta = logits(model, x)[9] - logits(model, new Float64Array(784))[9];
    const sum = row.attribution.reduce((s, v) => s + v, 0);
    expect(Math.abs(sum - delta) / Math.abs(delta)).toBeLessThan(1e-9);
  });
});

describe('the panel', () => {
  it('shows the picture, the 28x28 input, and the attribution map painted from the numbers (red raises, blue lowers)', async () => {
    const out = path.join(dir, 'panel');
    const r = await explain([files[0].file, '--top', '2', '--out', out, '--json']);
    const rows = r.rows as Explanation[];
    const pixels = decodeBase64(rows[0].pixels)!;
    const L = imagePanelLayout({
      classes: rows.map((x) => ({ ...x, index: x.class })),
      hidden: hiddenActivations(model, pixelsToInput(model, pixels)),
      labels: model.labels,
      side: 28,
    });
    const img = await decode(rows[0].panel);
    expect([img.info.width, img.info.height]).toEqual([L.width, L.height]);
    const z = L.zoom;
    for (let i = 0; i < 784; i += 13) {
      const [X, Y] = [i % 28, Math.floor(i / 28)];
      expect(img.at(L.input.x + X * z + 2, L.input.y + Y * z + 2)).toEqual(new Array(3).fill(255 - pixels[i]));
      rows.forEach((row, k) => {
        const want = heatRgb(row.attribution[i] / scaleOf(row.attribution), 255 - pixels[i] * 0.6);
        expect(img.at(L.maps[k].x + X * z + 2, L.maps[k].y + Y * z + 2), `map ${k}, pixel ${i}`).toEqual(want);
      });
    }
    // The picture as given: dark ink on white within its box.
    let dark = 0;
    for (let y = L.picture.y; y < L.picture.y + 28 * z; y += 2)
      for (let x = L.picture.x; x < L.picture.x + 28 * z; x += 2) if (img.at(x, y)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(100);
  });

  it('renderVectorPanel: one bar per feature, named, red to the right of the axis for a positive attribution, blue to the left', async () => {
    const names = ['alcohol', 'malic_acid', 'ash', 'magnesium'];
    const attribution = [0.8, -0.5, 0.05, -0.2];
    const png = await renderVectorPanel({
      title: 'row 17',
      subtitle: 'a vector model',
      method: 'ig',
      labels: ['class_0', 'class_1', 'class_2'],
      probs: [0.7, 0.2, 0.1],
      hidden: [[0, 1.5, 0.2, 0, 3]],
      classes: [{ index: 0, label: 'class_0', probability: 0.7, attribution }],
      names,
      values: [13.2, 1.8, 2.4, 101],
    });
    const file = path.join(dir, 'vector.png');
    fs.writeFileSync(file, png);
    const img = await decode(file);
    const colour = (c: readonly number[]) => {
      // Per row (features sorted by |attribution|: alcohol, malic_acid, magnesium, ash): where the bar's colour is.
      const rows: { left: number; right: number }[] = [];
      for (let r = 0; r < 4; r++) {
        const y = 92 + 20 + r * 18 + 9;
        let left = 0,
          right = 0;
        for (let x = 0; x < img.info.width; x++) {
          const p = img.at(x, y);
          if (p[0] === c[0] && p[1] === c[1] && p[2] === c[2]) x < img.info.width / 2 + 30 ? left++ : right++;
        }
        rows.push({ left, right });
      }
      return rows;
    };
    const red = colour(RAISE),
      blue = colour(LOWER);
    // alcohol (+0.8): the longest red bar; malic_acid (-0.5): blue; magnesium (-0.2) blue; ash (+0.05) red, short.
    expect(red[0].left + red[0].right).toBeGreaterThan(100);
    expect(blue[1].left + blue[1].right).toBeGreaterThan(60);
    expect(blue[2].left + blue[2].right).toBeGreaterThan(20);
    expect(red[3].left + red[3].right).toBeGreaterThan(3);
    expect(red[3].left + red[3].right).toBeLessThan(red[0].left + red[0].right);
    expect(blue[0].left + blue[0].right + red[1].left + red[1].right).toBe(0);
  });
});

describe('digitkit explain: bad arguments and bad images', () => {
  it('--class 12 on a 10-class model is exit 2 naming the classes, before any image is read; --class and --top together too', async () => {
    const out = path.join(dir, 'bad-class');
    const r = await explain([files[0].file, '--class', '12', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `digitkit explain: --class 12: ${MODEL} has 10 classes; give one of its labels (0, 1, 2, 3, 4, 5, 6, 7, 8, 9) or an index 0-9\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
    const both = await explain([files[0].file, '--class', '3', '--top', '2', '--out', out, '--json']);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stdout).error.message).toBe('give --class or --top, not both');
    expect((await explain([files[0].file, '--method', 'lime', '--out', out])).code).toBe(2);
  });

  it('an unreadable image is exit 5 for that file; the others are still explained', async () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'notes.png'), 'not a png at all');
    const truncated = fs.readFileSync(files[0].file).subarray(0, 300);
    fs.writeFileSync(path.join(bad, 'cut.png'), truncated);
    const out = path.join(dir, 'partial');
    const r = await explain([
      path.join(bad, 'notes.png'),
      files[1].file,
      path.join(bad, 'cut.png'),
      path.join(bad, 'missing.png'),
      '--out',
      out,
    ]);
    expect(r.code).toBe(5);
    const errs = r.stderr.trim().split('\n');
    expect(errs).toHaveLength(3);
    expect(errs[0]).toBe(
      `digitkit explain: ${path.join(bad, 'notes.png')}: not an image (expected PNG, JPEG, WebP, GIF, TIFF or AVIF)`,
    );
    expect(errs[1]).toMatch(new RegExp(`^digitkit explain: ${path.join(bad, 'cut.png')}: truncated or corrupt PNG`));
    expect(errs[2]).toBe(`digitkit explain: ${path.join(bad, 'missing.png')}: no such file or directory`);
    expect(r.stdout).toContain(`${files[1].file}  class 5`);
    expect(r.stdout).toContain('4 inputs: 1 explained (saliency), 3 rejected');
    expect(fs.readdirSync(out)).toEqual(['t10k-8.explain.png']);
    const j = await explain([path.join(bad, 'notes.png'), files[1].file, '--out', out, '--json']);
    expect(j.code).toBe(5);
    expect(j.rows[0]).toEqual({
      file: path.join(bad, 'notes.png'),
      error: 'not an image (expected PNG, JPEG, WebP, GIF, TIFF or AVIF)',
    });
    expect((j.rows[1] as Explanation).class).toBe(5);
  });

  it('an invalid model is exit 3', async () => {
    const bad = path.join(dir, 'bad-model.json');
    fs.writeFileSync(bad, '{"format": "digitkit-mlp"}');
    const r = await runCli(['explain', files[0].file, '--model', bad, '--out', path.join(dir, 'x')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^digitkit explain: .*bad-model\.json: version is missing/);
  });
});
