// Your own data through the whole path, with the real CLI: an image folder of real pictures (Fashion-MNIST
// test images as tinted PNG/JPEG/WebP of mixed sizes, trained as 16x16 RGB) and the UCI wine measurements
// as CSV go train -> quantize -> fixtures -> verify (Node and Chromium, parity <= 1e-6) -> predict -> eval.
// Every bad input the issue names is a one-line error with its exit code, and nothing is written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { classifyValues, loadModel } from '../src/core/index.js';
import { findChromium, launchChromium } from '../src/node/chromium.js';
import { serveSite, type Served } from './helpers/serve.js';
import { runCli } from './helpers/cli.js';
import { fashionAvailable, folderName, writeFashionFolder } from './helpers/fashion.js';
import { sklearnTable, writeCsv } from './helpers/sklearn-csv.js';
import { writeSmallIdx } from './helpers/small-idx.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-datasets-cli-'));
let browser: Browser | undefined;
const sites: Served[] = [];
afterAll(async () => {
  await browser?.close();
  for (const s of sites) await s.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface PageState {
  ready: boolean;
  pixels: number[];
  prediction: { label: string; probs: number[] } | null;
  source: string;
  selfTest: { status: string; maxDiff?: number; cases?: number; passed?: number };
  error: string | null;
}
/** `digitkit web` for a model (and its fixtures), served, opened in Chromium once loaded and self-tested. */
async function openSite(model: string, fixtures: string): Promise<{ page: Page; state: () => Promise<PageState> }> {
  const served = await serveSite([
    at(`site-${path.basename(model)}`),
    '--model',
    model,
    '--fixtures',
    fixtures,
    '--serve',
    '--port',
    '0',
  ]);
  sites.push(served);
  browser ??= await launchChromium(findChromium());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(served.url);
  await page.waitForFunction(() => {
    const d = (window as unknown as { digitkit?: PageState }).digitkit;
    return d?.error || (d?.ready && d.selfTest.status !== 'pending');
  });
  expect(errors).toEqual([]);
  return { page, state: () => page.evaluate(() => (window as unknown as { digitkit: PageState }).digitkit) };
}
const at = (...p: string[]) => path.join(tmp, ...p);
const json = async (args: string[]) => {
  const r = await runCli([...args, '--json']);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout);
};
/** The summary record of `train --json` (one record per epoch precede it). */
const trainJson = async (args: string[]) => {
  const r = await runCli(['train', ...args, '--threads', '2', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return lines[lines.length - 1];
};

describe.skipIf(!fashionAvailable())('an image folder of real RGB pictures: train, quantize, verify, predict', () => {
  const classes = [0, 1, 7, 8]; // T-shirt/top, Trouser, Sneaker, Bag
  const data = at('clothes');
  const unseen = at('unseen');
  const f32 = at('models', 'clothes-f32.json');
  const int8 = at('models', 'clothes-int8.json');
  const fixtures = at('clothes-parity.json');
  let trained: { testAccuracy: number; config: { flip: boolean } };

  beforeAll(async () => {
    await writeFashionFolder(data, classes, 40, { tint: true });
    await writeFashionFolder(unseen, classes, 5, { tint: true, skip: 40 });
    trained = await trainJson([
      '--data',
      data,
      '--size',
      '16x16',
      '--channels',
      '3',
      '--test-split',
      '0.25',
      '--flip',
      '--epochs',
      '12',
      '--out',
      f32,
    ]);
  }, 120_000);

  it('trains a 16x16x3 "resize" model with the folder names as classes, flips drawn', () => {
    const m = JSON.parse(fs.readFileSync(f32, 'utf8'));
    expect(m.version).toBe(2);
    expect(m.input).toEqual({
      kind: 'image',
      width: 16,
      height: 16,
      channels: 3,
      scale: 1 / 255,
      preprocess: 'resize',
    });
    expect(m.labels).toEqual(['Bag', 'Sneaker', 'T-shirt-top', 'Trouser']);
    expect(m.layers[0].rows).toBe(768);
    expect(m.meta.config).toMatchObject({ flip: true, shift: 1, rotate: 0, zoom: 0, limit: 120, val: 10 });
    expect(m.meta.dataset).toMatchObject({ format: 'folder', split: { fraction: 0.25, seed: 1 } });
    expect(trained.testAccuracy).toBeGreaterThan(0.8);
  });

  it('quantize, fixtures and eval measure the same held-out quarter of the folder; parity <= 1e-6 in Node and Chromium', async () => {
    const q = await json(['quantize', '--in', f32, '--data', data]);
    expect(q.out.path).toBe(int8);
    expect(q.accuracy.images).toBe(40);
    expect(Math.abs(q.accuracy.float - trained.testAccuracy)).toBeLessThanOrEqual(0.05); // float32 training engine vs the core
    const fx = await json(['fixtures', '--model', int8, '--data', data, '--out', fixtures]);
    expect(fx.cases).toBe(40);
    const doc = JSON.parse(fs.readFileSync(fixtures, 'utf8'));
    expect(doc.version).toBe(1);
    expect(Buffer.from(doc.cases[0].pixels, 'base64').length).toBe(768);
    expect(
      doc.cases.map((c: { id: string }) => c.id).every((id: string) => /^[A-Za-z-]+\/\d{5}\.(png|jpg|webp)$/.test(id)),
    ).toBe(true);
    const node = await json(['verify', '--model', int8, '--fixtures', fixtures]);
    expect(node.ok).toBe(true);
    expect(node.max.diff).toBeLessThanOrEqual(1e-6);
    const browser = await json(['verify', '--model', int8, '--fixtures', fixtures, '--browser']);
    expect(browser.ok).toBe(true);
    expect(browser.max.diff).toBeLessThanOrEqual(1e-6);
    const ev = await json(['eval', '--model', int8, '--data', data, '--report', at('clothes-report')]);
    expect(ev.data).toMatchObject({
      format: 'folder',
      count: 40,
      split: 'the 25% test split the model was trained with',
    });
    expect(ev.model.accuracy).toBeCloseTo(q.accuracy.int8, 12);
    const errors = await sharp(at('clothes-report', 'errors.png')).metadata();
    expect(errors.width).toBeGreaterThan(0);
  }, 120_000);

  it('predict takes the unseen pictures whole, in colour, and names the classes', async () => {
    const files = classes.flatMap((c) =>
      fs.readdirSync(path.join(unseen, folderName(c))).map((f) => path.join(unseen, folderName(c), f)),
    );
    const p = await runCli(['predict', ...files, '--model', int8, '--json', '--save-preprocessed', at('seen')]);
    expect(p.code, p.stderr).toBe(0);
    const results = JSON.parse(p.stdout) as { file: string; label: string; index: number; top: { label: string }[] }[];
    expect(results).toHaveLength(20);
    const right = results.filter((x) => path.basename(path.dirname(x.file)) === x.label).length;
    expect(right).toBeGreaterThanOrEqual(16);
    expect(results[0]).not.toHaveProperty('digit');
    const saved = await sharp(fs.readdirSync(at('seen')).map((f) => at('seen', f))[0])
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([saved.info.width, saved.info.height, saved.info.channels]).toEqual([16, 16, 3]);
    const text = await runCli(['predict', files[0], '--model', int8]);
    expect(text.stdout).toMatch(/^\S+\.(png|jpg|webp)  (Bag|Sneaker|T-shirt-top|Trouser) +\d+\.\d%   top: /);
  }, 60_000);

  it('the page: a picture model takes an opened picture whole, in colour, as predict does; its self-test passes', async () => {
    const { page, state } = await openSite(int8, fixtures);
    const s0 = await state();
    expect(s0.selfTest).toMatchObject({ status: 'ok', cases: 40, passed: 40 });
    expect(s0.prediction).toBeNull();
    expect(await page.locator('h1').textContent()).toBe('Classify a picture');
    const png = classes
      .flatMap((c) => fs.readdirSync(path.join(unseen, folderName(c))).map((f) => path.join(unseen, folderName(c), f)))
      .find((f) => f.endsWith('.png'))!;
    await page.setInputFiles('#file', png);
    await page.waitForFunction(
      (name) => (window as unknown as { digitkit: PageState }).digitkit.source === name,
      path.basename(png),
    );
    const s = await state();
    const p = JSON.parse(
      (await runCli(['predict', png, '--model', int8, '--json', '--save-preprocessed', at('seen-page')])).stdout,
    )[0];
    expect(s.prediction!.label).toBe(p.label);
    const saved = await sharp(at('seen-page', fs.readdirSync(at('seen-page'))[0]))
      .raw()
      .toBuffer();
    expect(s.pixels).toEqual(Array.from(saved));
  }, 60_000);
});

describe('a CSV of tabular data (UCI wine): train, quantize, verify, predict rows', () => {
  const wine = sklearnTable('wine');
  const trainCsv = at('wine-train.csv');
  const testCsv = at('wine-test.csv');
  const f32 = at('wine-f32.json');
  const int8 = at('wine-int8.json');
  const fixtures = at('wine-fixtures.json');

  beforeAll(() => {
    const rows = wine.x.map((_, i) => i);
    writeCsv(
      trainCsv,
      wine,
      rows.filter((i) => i % 5 !== 0),
    );
    writeCsv(
      testCsv,
      wine,
      rows.filter((i) => i % 5 === 0),
    );
  });

  it('trains a vector model: standardisation from the training rows, class names from the label column', async () => {
    const s = await trainJson(['--data', trainCsv, '--test', testCsv, '--out', f32]);
    expect(s.testAccuracy).toBeGreaterThan(0.9);
    const m = JSON.parse(fs.readFileSync(f32, 'utf8'));
    expect(m.input.kind).toBe('vector');
    expect(m.input.names).toEqual(wine.names);
    expect(m.labels).toEqual(['class_0', 'class_1', 'class_2']);
    // offset = the mean of the rows trained on (the training file minus its last `val` rows)
    const rows = wine.x.filter((_, i) => i % 5 !== 0).slice(0, m.meta.config.limit - m.meta.config.val);
    expect(m.input.offset[0]).toBeCloseTo(rows.reduce((a, r) => a + r[0], 0) / rows.length, 10);
    expect(m.meta.config).toMatchObject({ noise: 0, batch: 32 });
    expect(m.meta.config).not.toHaveProperty('flip');
  }, 60_000);

  it('quantize, fixtures and verify work for it exactly as for MNIST, in Node and Chromium', async () => {
    const q = await json(['quantize', '--in', f32, '--out', int8, '--data', testCsv]);
    expect(q.accuracy.images).toBe(36);
    expect(q.samples).toBe('rows');
    await json(['fixtures', '--model', int8, '--data', testCsv, '--out', fixtures]);
    const doc = JSON.parse(fs.readFileSync(fixtures, 'utf8'));
    expect(doc.version).toBe(2);
    expect(doc.cases[0]).toHaveProperty('values');
    expect(doc.cases[0].id).toMatch(/^line-\d+$/);
    for (const extra of [[], ['--browser']]) {
      const v = await json(['verify', '--model', int8, '--fixtures', fixtures, ...extra]);
      expect(v.ok).toBe(true);
      expect(v.max.diff).toBeLessThanOrEqual(1e-6);
    }
    const ev = await runCli(['eval', '--model', int8, '--data', testCsv]);
    expect(ev.code).toBe(0);
    expect(ev.stdout).toContain(`data       ${testCsv}  (csv: every row of the file, 36 rows)`);
  }, 120_000);

  it('predict classifies each row of a CSV, one line per row; --json names the line', async () => {
    const r = await runCli(['predict', '--model', int8, testCsv]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(37);
    expect(lines[0]).toMatch(new RegExp(`^${testCsv.replace(/[.]/g, '\\.')}:2 +class_0 +\\d+\\.\\d%   top: class_0`));
    expect(lines[36]).toBe('36 rows classified');
    const j = JSON.parse((await runCli(['predict', '--model', int8, testCsv, '--json'])).stdout);
    expect(j[0]).toMatchObject({ file: testCsv, line: 2, label: 'class_0', index: 0 });
    const right = j.filter(
      (x: { line: number; label: string }) => x.label === wine.classes[wine.y[(x.line - 2) * 5]],
    ).length;
    expect(right).toBeGreaterThanOrEqual(33);
    // A threshold above every row's top probability: each row "not sure", listed apart; exit 5, or 0 allowed.
    const unsure = await runCli(['predict', '--model', int8, testCsv, '--min-confidence', '1']);
    expect(unsure.code).toBe(5);
    const u = unsure.stdout.trim().split('\n');
    expect(u[0]).toBe('not sure (top probability below 100.0%):');
    expect(u[1]).toMatch(/:2 +not sure {2}best guess class_\d \d+\.\d%/);
    expect(u.at(-1)).toBe('36 rows: 0 classified, 36 not sure');
    const allowed = await runCli([
      'predict',
      '--model',
      int8,
      testCsv,
      '--min-confidence',
      '1',
      '--allow-unsure',
      '--json',
    ]);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)[0]).toMatchObject({ line: 2, unsure: true, minConfidence: 1 });
  });

  it("the page: a form with a field per feature; a row typed in gives the core's probabilities; the self-test passes", async () => {
    const { page, state } = await openSite(int8, fixtures);
    const s0 = await state();
    expect(s0.selfTest).toMatchObject({ status: 'ok', passed: s0.selfTest.cases });
    expect(s0.selfTest.maxDiff).toBeLessThanOrEqual(1e-6);
    expect(await page.locator('#features label').allTextContents()).toEqual(wine.names);
    expect(await page.locator('#pad').isVisible()).toBe(false);
    const row = wine.x[10];
    const fields = page.locator('#features input');
    for (let i = 0; i < row.length; i++) await fields.nth(i).fill(String(row[i]));
    const s = await state();
    const want = classifyValues(loadModel(fs.readFileSync(int8, 'utf8')), row);
    expect(s.prediction!.label).toBe(want.label);
    s.prediction!.probs.forEach((p, j) => expect(Math.abs(p - want.probs[j])).toBeLessThanOrEqual(1e-12));
  }, 60_000);

  it('a 64-feature CSV against this 13-feature model: exit 3 naming the file; nothing written', async () => {
    const digits = at('digits.csv');
    fs.writeFileSync(
      digits,
      ['label,' + Array.from({ length: 64 }, (_, i) => `p${i}`).join(','), '0,' + new Array(64).fill(3).join(',')].join(
        '\n',
      ),
    );
    const r = await runCli(['predict', '--model', int8, digits]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `^digitkit predict: ${digits}: 64 feature columns, the model takes 13 \\(alcohol, .*\\); missing alcohol, .*\\n$`,
      ),
    );
    const out = at('never.json');
    const f = await runCli(['fixtures', '--model', int8, '--data', digits, '--out', out]);
    expect(f.code).toBe(3);
    expect(f.stderr.split('\n')).toHaveLength(2);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('bad data: one clear line, the documented exit code, nothing written', () => {
  const expectNothing = (...files: string[]) => files.forEach((f) => expect(fs.existsSync(f), f).toBe(false));

  it.skipIf(!fashionAvailable())('a folder with one class (exit 3)', async () => {
    const one = at('one-class');
    await writeFashionFolder(one, [1], 4);
    const out = at('one.json');
    const r = await runCli(['train', '--data', one, '--out', out, '--epochs', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `digitkit train: ${one}: only one class folder ("Trouser"); a classifier needs at least two classes\n`,
    );
    expectNothing(out, at('one.ckpt'));
  });

  it('a labels file with the wrong count, an IDX label above the label count (exit 3)', async () => {
    const dir = writeSmallIdx(at('idx14'));
    const out = at('idx14.json');
    const five = at('five.txt');
    fs.writeFileSync(five, 'a\nb\nc\nd\ne\n');
    const r = await runCli(['train', '--data', dir, '--labels', five, '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `digitkit train: ${five}: 5 class names, ${dir} has 4 classes (labels 0..3): is it the labels file of other data?\n`,
    );
    const three = at('three.txt');
    fs.writeFileSync(three, 'a\nb\nc\n');
    const r2 = await runCli(['train', '--data', dir, '--labels', three, '--out', out]);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(
      new RegExp(
        `^digitkit train: ${dir}/train-labels-idx1-ubyte: label 3 at index \\d+ is above the 3 class names in ${three}\\n$`,
      ),
    );
    expectNothing(out, at('idx14.ckpt'));
  });

  it('one sample per class leaves no test split: exit 3 before training, not a NaN accuracy', async () => {
    const csv = at('two.csv');
    fs.writeFileSync(csv, 'a,b,label\n1,2,x\n3,4,y\n');
    const out = at('two.json');
    const r = await runCli(['train', '--data', csv, '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `digitkit train: ${csv}: the 20% test split is empty (2 rows, one per class); give each class more rows, or a test file with --test\n`,
    );
    expectNothing(out, at('two.ckpt'));
  });

  it('a CSV with a text cell (exit 3, file:line:column)', async () => {
    const csv = at('cells.csv');
    fs.writeFileSync(csv, 'a,b,label\n1,2,x\n3,4,y\n5,six,x\n');
    const out = at('cells.json');
    const r = await runCli(['train', '--data', csv, '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`digitkit train: ${csv}:4:2: "six" is not a number (column "b")\n`);
    expectNothing(out);
  });

  it('flags that do not fit the data are usage errors (exit 2)', async () => {
    const csv = writeCsv(at('w.csv'), sklearnTable('wine'));
    const r = await runCli(['train', '--data', csv, '--flip', '--out', at('w.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`digitkit train: --flip is not for feature vectors (${csv} holds feature vectors)\n`);
    const s = await runCli(['train', '--data', csv, '--size', '8x8', '--out', at('w.json')]);
    expect(s.code).toBe(2);
    expect(s.stderr).toBe(`digitkit train: --size is not for csv data (${csv} is a CSV file)\n`);
    const t = await runCli(['train', '--data', csv, '--test-split', '0.95', '--out', at('w.json')]);
    expect(t.code).toBe(2);
    expect(t.stderr).toBe('digitkit train: --test-split 0.95: expected a fraction above 0 and at most 0.9\n');
    expectNothing(at('w.json'));
  });
});

describe('digitkit inspect', () => {
  it.skipIf(!fashionAvailable())(
    'an image folder: counts per class and split, skipped files, a contact sheet of 10 per class',
    async () => {
      const dir = at('inspect-folder');
      await writeFashionFolder(dir, [5, 9], 12);
      fs.writeFileSync(path.join(dir, folderName(5), 'x.txt'), 'no');
      const sheet = at('sheet.png');
      const r = await runCli(['inspect', dir, '--sheet', sheet]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`data      ${dir}: image folder`);
      expect(r.stdout).toContain('input     28x28 gray images (preprocess "resize")');
      expect(r.stdout).toContain('samples   20 training, 4 test (a seeded 20% of each class); 2 classes');
      expect(r.stdout).toContain('Sandal/x.txt: not an image');
      expect(r.stdout).toMatch(/^Ankle boot +10 +2 +50\.0%/m);
      const meta = await sharp(sheet).metadata();
      expect(meta.width).toBe(150 + 10 * 62 + 6);
      expect(meta.height).toBe(44 + 2 * 62 + 6);
      const j = await json(['inspect', dir, '--size', '12x12', '--channels', '3']);
      expect(j.input).toEqual({ kind: 'image', width: 12, height: 12, channels: 3, preprocess: 'resize' });
      expect(j.classes).toEqual([
        { label: 'Ankle boot', train: 10, test: 2 },
        { label: 'Sandal', train: 10, test: 2 },
      ]);
    },
  );

  it('a CSV: feature ranges; an IDX directory: its files', async () => {
    const csv = writeCsv(at('wine-all.csv'), sklearnTable('wine'));
    const r = await runCli(['inspect', csv]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^proline +\d+ +[\d.]+ +\d+$/m);
    const j = await json(['inspect', writeSmallIdx(at('idx-inspect'))]);
    expect(j).toMatchObject({ source: 'idx', train: 400, test: 100, shape: '14x14 gray digits' });
  });
});
