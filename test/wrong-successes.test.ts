// Runs that used to "succeed" with a wrong result (issue 19): training images that are not 28x28 went
// through a network with 784 inputs (10.6% and exit 0), and a model whose classes are not digits made
// predict print the class as "NaN". Real MNIST digits, the real CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { parseRawModel } from '../src/core/index.js';
import { formatModel } from '../src/node/model-file.js';
import { ROOT, runCli } from './helpers/cli.js';
import { digitAt, LOOKS, loadT10k, renderDigit, rng, type Look } from './helpers/render.js';
import { idx } from './helpers/small-idx.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-wrong-successes-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Each 28x28 MNIST digit area-averaged to 20x20 (its 20-pixel box becomes ~14, as the "digit" recipe scales it). */
function shrink20(images: Uint8Array, n: number): Uint8Array {
  const f = 28 / 20;
  // w[o][i]: how much of source pixel i falls in output pixel o (a row of weights sums to f).
  const w = Array.from({ length: 20 }, (_, o) =>
    Array.from({ length: 28 }, (_, i) => Math.max(0, Math.min(i + 1, (o + 1) * f) - Math.max(i, o * f))),
  );
  const out = new Uint8Array(n * 400);
  for (let k = 0; k < n; k++)
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 20; x++) {
        let s = 0;
        for (let i = 0; i < 28; i++)
          if (w[y][i]) for (let j = 0; j < 28; j++) s += w[y][i] * w[x][j] * images[k * 784 + i * 28 + j];
        out[k * 400 + y * 20 + x] = Math.round(s / (f * f));
      }
  return out;
}

describe('train follows the images’ size (item 9)', () => {
  it('a 20x20 IDX set trains a 400-input network that classifies its test set, and predict reads PNGs at 20x20', async () => {
    const m = await loadMnist(embeddedMnistDir());
    const dir = path.join(tmp, 'mnist20');
    fs.mkdirSync(dir);
    const [nTrain, nTest] = [3000, 500];
    fs.writeFileSync(
      path.join(dir, 'train-images-idx3-ubyte'),
      idx(2051, [nTrain, 20, 20], shrink20(m.train!.images, nTrain)),
    );
    fs.writeFileSync(
      path.join(dir, 'train-labels-idx1-ubyte'),
      idx(2049, [nTrain], m.train!.labels.subarray(0, nTrain)),
    );
    fs.writeFileSync(
      path.join(dir, 't10k-images-idx3-ubyte'),
      idx(2051, [nTest, 20, 20], shrink20(m.test!.images, nTest)),
    );
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx(2049, [nTest], m.test!.labels.subarray(0, nTest)));
    const out = path.join(tmp, 'm20.json');
    const r = await runCli(['train', '--data', dir, '--epochs', '6', '--threads', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]);
    const model = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(model.input).toMatchObject({ width: 20, height: 20 });
    expect(model.layers[0].rows).toBe(400);
    // 10.6% was the network reading 20x20 images as if they were 28x28; the same data, read right:
    console.log(
      `20x20 IDX (3,000 training digits, 6 epochs): test accuracy ${(summary.testAccuracy * 100).toFixed(1)}%`,
    );
    expect(summary.testAccuracy).toBeGreaterThan(0.8);

    // The model's own size all the way through: a drawn digit is centred into 20x20 for it.
    const t = await loadT10k();
    const png = path.join(tmp, 'two.png');
    fs.writeFileSync(png, (await renderDigit(digitAt(t, 1).pixels, LOOKS['canvas 200x200'] as Look, rng(4))).bytes);
    const p = await runCli(['predict', png, '--model', out, '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)[0]).toMatchObject({ digit: 2 });
  });

  it('training images of one size and test images of another: exit 3 naming both, nothing written', async () => {
    const m = await loadMnist(embeddedMnistDir());
    const dir = path.join(tmp, 'mixed-sizes');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'train-images-idx3-ubyte'),
      idx(2051, [200, 20, 20], shrink20(m.train!.images, 200)),
    );
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idx(2049, [200], m.train!.labels.subarray(0, 200)));
    fs.writeFileSync(
      path.join(dir, 't10k-images-idx3-ubyte'),
      idx(2051, [50, 28, 28], m.test!.images.subarray(0, 50 * 784)),
    );
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx(2049, [50], m.test!.labels.subarray(0, 50)));
    const out = path.join(tmp, 'mixed.json');
    const r = await runCli(['train', '--data', dir, '--epochs', '1', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(`digitkit train: ${dir}: the training images are 20x20, the test images 28x28`);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('predict names the classes of a model whose labels are not digits (item 10)', () => {
  it('prints the label (human and --json), never "NaN" or null', async () => {
    // The shipped digit model with its classes named in words: same weights, same predictions.
    const raw = parseRawModel(fs.readFileSync(path.join(ROOT, 'models/mnist-int8.json'), 'utf8'), 'shipped');
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    const file = path.join(tmp, 'words.json');
    fs.writeFileSync(
      file,
      formatModel({
        dtype: 'int8',
        labels: words,
        layers: raw.layers.map((l) => ({
          rows: l.rows,
          cols: l.cols,
          w: l.q as Int8Array,
          scale: l.scale as number,
          b: l.b,
        })),
      }),
    );
    const t = await loadT10k();
    const png = path.join(tmp, 'seven.png');
    fs.writeFileSync(png, (await renderDigit(digitAt(t, 0).pixels, LOOKS['canvas 200x200'] as Look, rng(2))).bytes);

    const human = await runCli(['predict', png, '--model', file]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/seven\.png +seven +\d+\.\d%/);
    expect(human.stdout).not.toMatch(/NaN|null|undefined/);

    const j = await runCli(['predict', png, '--model', file, '--json']);
    expect(j.code).toBe(0);
    const [row] = JSON.parse(j.stdout);
    expect(row).toMatchObject({ label: 'seven', index: 7 });
    expect(row).not.toHaveProperty('digit');
    expect(row.top.map((e: { label: string }) => e.label)).toContain('seven');
    expect(j.stdout).not.toMatch(/NaN|null/);
  });
});
