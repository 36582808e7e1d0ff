// The real `digitkit eval` CLI on the full t10k set: a genuinely good hand-built model (nearest
// class mean, no training) checked against a plain reference, its int8 copy for --compare, the
// PNG report decoded with sharp, and the terminal table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { confusionLayout } from '../src/eval/confusion-chart.js';
import { CURVES_SIZE } from '../src/eval/curves-chart.js';
import { gridLayout } from '../src/eval/digit-grid.js';
import { errorsExplainedLayout } from '../src/eval/errors-explained.js';
import { heatRgb, scaleOf } from '../src/draw/heatmap.js';
import { loadModel, pixelsToInput } from '../src/core/index.js';
import { saliency } from '../src/explain/index.js';
import type { EvalReport } from '../src/eval/evaluate.js';
import { runCli } from './helpers/cli.js';
import { fileSizeLimit } from './helpers/faults.js';
import {
  classMeanModel,
  constantModel,
  digitOf,
  readSplit,
  referencePredict,
  T10K_COUNTS,
  toInt8,
  type Split,
  writeT10kSubset,
} from './helpers/eval-models.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-eval-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const data = embeddedMnistDir();

async function decode(file: string) {
  const { data: px, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const o = (y * info.width + x) * info.channels;
    return [px[o], px[o + 1], px[o + 2]];
  };
  return { px, info, at };
}

const luminance = ([r, g, b]: number[]) => 0.299 * r + 0.587 * g + 0.114 * b;

function referenceConfusion(truth: Uint8Array, pred: Uint8Array): number[][] {
  const m = Array.from({ length: 10 }, () => new Array(10).fill(0));
  truth.forEach((t, i) => m[t][pred[i]]++);
  return m;
}

describe('digitkit eval --report --compare with a good model', () => {
  let t10k: Split;
  let goodFile: string;
  let int8File: string;
  let refA: Uint8Array;
  let refB: Uint8Array;
  let rep: EvalReport;
  const dir = path.join(tmp, 'report');

  beforeAll(async () => {
    t10k = readSplit('t10k');
    const history = { loss: [0.9, 0.55, 0.42, 0.4], valAccuracy: [0.7, 0.77, 0.79, 0.8] };
    const good = classMeanModel(readSplit('train'), 60000, { history });
    const int8 = toInt8(good);
    goodFile = path.join(tmp, 'means-f32.json');
    int8File = path.join(tmp, 'means-int8.json');
    fs.writeFileSync(goodFile, good);
    fs.writeFileSync(int8File, int8);
    refA = referencePredict(good, t10k);
    refB = referencePredict(int8, t10k);
    // A stale report.json must be replaced.
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'report.json'), 'old');
    const r = await runCli([
      'eval',
      '--model',
      goodFile,
      '--compare',
      int8File,
      '--data',
      data,
      '--report',
      dir,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    rep = JSON.parse(r.stdout);
  });

  it('reports the accuracy, confusion matrix and agreement a plain reference computes', () => {
    const truth = t10k.labels;
    const correctA = refA.reduce((s, p, i) => s + (p === truth[i] ? 1 : 0), 0);
    const correctB = refB.reduce((s, p, i) => s + (p === truth[i] ? 1 : 0), 0);
    expect(rep.model.correct).toBe(correctA);
    expect(rep.model.accuracy).toBe(correctA / 10000);
    expect(rep.model.accuracy).toBeGreaterThan(0.75); // nearest class mean: a genuinely useful model
    expect(rep.model.confusion).toEqual(referenceConfusion(truth, refA));
    expect(rep.model.errors.map((e) => e.index)).toEqual([...refA.keys()].filter((i) => refA[i] !== truth[i]));
    expect(rep.model.classes.map((c) => c.support)).toEqual(T10K_COUNTS);
    const c = rep.compare!;
    expect(c.model.correct).toBe(correctB);
    expect(c.model.dtype).toBe('int8');
    const differ = [...refA.keys()].filter((i) => refA[i] !== refB[i]);
    expect(c.agreement).toEqual({ count: 10000, agree: 10000 - differ.length, rate: (10000 - differ.length) / 10000 });
    expect(c.disagreements.map((d) => [d.index, d.a.predicted, d.b.predicted])).toEqual(
      differ.map((i) => [i, refA[i], refB[i]]),
    );
    expect(rep.model.history).toEqual({ loss: [0.9, 0.55, 0.42, 0.4], valAccuracy: [0.7, 0.77, 0.79, 0.8] });
  });

  it('writes exactly the promised files, atomically, and report.json holds the same numbers', () => {
    expect(rep.report!.files).toEqual([
      'confusion.png',
      'errors.png',
      'errors-explained.png',
      'curves.png',
      'disagreements.png',
      'report.json',
    ]);
    expect(fs.readdirSync(dir).sort()).toEqual([...rep.report!.files].sort()); // no temp files left behind
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'))).toEqual(rep);
    expect(rep.report!.errorsShown).toBe(Math.min(100, rep.model.errors.length));
  });

  it('confusion.png is a heat map whose diagonal cells are the darkest', async () => {
    const L = confusionLayout(10);
    const img = await decode(path.join(dir, 'confusion.png'));
    expect([img.info.width, img.info.height]).toEqual([L.width, L.height]);
    let nonWhite = 0;
    for (let i = 0; i < img.px.length; i += 3) if (img.px[i] + img.px[i + 1] + img.px[i + 2] < 3 * 250) nonWhite++;
    expect(nonWhite).toBeGreaterThan(L.cell * L.cell * 10); // at least the ten diagonal cells are coloured
    // Sample each cell near its corner, away from the count printed in its middle.
    const cell = (i: number, j: number) => luminance(img.at(L.x0 + j * L.cell + 5, L.y0 + i * L.cell + 5));
    const diagonal = [...Array(10).keys()].map((i) => cell(i, i));
    const off = [...Array(100).keys()].filter((k) => k % 11 !== 0).map((k) => cell(Math.floor(k / 10), k % 10));
    expect(Math.max(...diagonal)).toBeLessThan(Math.min(...off));
    // Cells with no digits stay white; the darkest diagonal cell is the class with the best recall.
    const zero = [...Array(100).keys()].find((k) => rep.model.confusion[Math.floor(k / 10)][k % 10] === 0);
    if (zero !== undefined)
      expect(img.at(L.x0 + (zero % 10) * L.cell + 5, L.y0 + Math.floor(zero / 10) * L.cell + 5)).toEqual([
        255, 255, 255,
      ]);
    const recalls = rep.model.classes.map((c) => c.recall!);
    expect(diagonal.indexOf(Math.min(...diagonal))).toBe(recalls.indexOf(Math.max(...recalls)));
  });

  it('errors.png shows the most confident mistakes, pixel for pixel, captioned', async () => {
    const shown = rep.report!.errorsShown;
    const L = gridLayout(shown, 2);
    const img = await decode(path.join(dir, 'errors.png'));
    expect([img.info.width, img.info.height]).toEqual([L.width, L.height]);
    const sorted = [...rep.model.errors].sort((a, b) => b.probability - a.probability || a.index - b.index);
    for (const k of [0, 1, shown - 1]) {
      const digit = digitOf(t10k, sorted[k].index);
      const { x, y } = L.digitAt(k);
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++)
          expect(img.at(x + c * 3 + 1, y + r * 3 + 1)).toEqual(new Array(3).fill(255 - digit[r * 28 + c]));
      }
    }
    if (rep.report!.textRendered) {
      // Caption under the first digit: something dark is drawn there.
      const { x, y } = L.digitAt(0);
      let dark = 0;
      for (let yy = y + L.digitSize + 4; yy < y + L.digitSize + 40; yy++)
        for (let xx = x; xx < x + L.digitSize; xx++) if (luminance(img.at(xx, yy)) < 128) dark++;
      expect(dark).toBeGreaterThan(20);
    }
  });

  it('errors-explained.png: the 20 most confident mistakes, each with the saliency for its true and predicted class', async () => {
    const model = loadModel(fs.readFileSync(goodFile, 'utf8'));
    const sorted = [...rep.model.errors].sort((a, b) => b.probability - a.probability || a.index - b.index);
    const shown = sorted.slice(0, 20);
    const L = errorsExplainedLayout(shown.length);
    const img = await decode(path.join(dir, 'errors-explained.png'));
    expect([img.info.width, img.info.height]).toEqual([L.width, L.height]);
    for (const k of [0, 7, shown.length - 1]) {
      const e = shown[k];
      const pixels = digitOf(t10k, e.index);
      const x = pixelsToInput(model, pixels);
      // The model is one linear layer: d logit[c] / d x is the weight column, whatever the digit.
      const col = (c: number) => Array.from({ length: 784 }, (_, i) => model.layers[0].w[i * 10 + c]);
      const maps = [saliency(model, x, e.label), saliency(model, x, e.predicted)];
      expect(Array.from(maps[0])).toEqual(col(e.label));
      const max = Math.max(scaleOf(maps[0]), scaleOf(maps[1]));
      for (const j of [0, 1, 2]) {
        const at = L.at(k, j);
        for (const i of [0, 100, 300, 406, 500, 783]) {
          const want =
            j === 0 ? new Array(3).fill(255 - pixels[i]) : heatRgb(maps[j - 1][i] / max, 255 - pixels[i] * 0.6);
          expect(
            img.at(at.x + (i % 28) * 3 + 1, at.y + Math.floor(i / 28) * 3 + 1),
            `tile ${k}, image ${j}, pixel ${i}`,
          ).toEqual(want);
        }
      }
    }
  });

  it('curves.png plots the recorded loss and validation accuracy', async () => {
    const img = await decode(path.join(dir, 'curves.png'));
    expect([img.info.width, img.info.height]).toEqual([CURVES_SIZE.width, CURVES_SIZE.height]);
    const count = (rgb: number[]) => {
      let n = 0;
      for (let i = 0; i < img.px.length; i += 3)
        if (img.px[i] === rgb[0] && img.px[i + 1] === rgb[1] && img.px[i + 2] === rgb[2]) n++;
      return n;
    };
    expect(count([0xd9, 0x5f, 0x02])).toBeGreaterThan(200); // the loss line
    expect(count([0x1f, 0x77, 0xb4])).toBeGreaterThan(200); // the validation accuracy line
  });

  it('disagreements.png has one tile per digit where the models differ (up to 100)', async () => {
    const n = Math.min(100, rep.compare!.disagreements.length);
    const L = gridLayout(n, 4);
    const meta = await sharp(path.join(dir, 'disagreements.png')).metadata();
    expect([meta.width, meta.height]).toEqual([L.width, L.height]);
    expect(rep.report!.disagreementsShown).toBe(n);
  });
});

describe('digitkit eval in the terminal', () => {
  it('prints accuracy, per-class rates and an aligned confusion table with a green diagonal', async () => {
    const file = path.join(tmp, 'ones.json');
    fs.writeFileSync(file, constantModel([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    const dir = path.join(tmp, 'ones-report');
    const r = await runCli(['eval', '--model', file, '--data', data, '--report', dir], {
      env: { NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\x1b\[32m\x1b\[1m\s*1135\x1b\[22m\x1b\[39m/); // the diagonal cell for class 1
    const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toContain('accuracy   11.35%  (1135 of 10000; 8865 misclassified)');
    const lines = plain.split('\n');
    const start = lines.findIndex((l) => l.startsWith('confusion matrix'));
    const table = lines.slice(start + 1, start + 12);
    expect(table[0].trim().split(/\s+/)).toEqual(['true\\pred', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(new Set(table.map((l) => l.length)).size).toBe(1); // aligned: every row the same width
    expect(table.slice(1).map((l) => l.trim().split(/\s+/).map(Number))).toEqual(
      T10K_COUNTS.map((n, i) => [i, 0, n, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    const classRow = lines.find((l) => /^\s+1\s+\d/.test(l))!;
    expect(classRow.trim().split(/\s+/)).toEqual(['1', '11.35%', '100.00%', '1135']);
    expect(
      lines
        .find((l) => /^\s+0\s+[–\d]/.test(l))!
        .trim()
        .split(/\s+/),
    ).toEqual(['0', '–', '0.00%', '980']);
    // No training history: no curves.png, and the output says why.
    expect(fs.readdirSync(dir).sort()).toEqual(['confusion.png', 'errors-explained.png', 'errors.png', 'report.json']);
    expect(plain).toContain("no curves.png: the model's meta has no training history");
    expect(plain).toContain('errors.png shows the 100 most confident of 8865 mistakes');
  });

  it('exits 3 pointing to `digitkit download` when the data is missing, in JSON too', async () => {
    const file = path.join(tmp, 'ones2.json');
    fs.writeFileSync(file, constantModel([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const empty = path.join(tmp, 'no-data');
    const r = await runCli(['eval', '--model', file, '--data', empty]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`run \`digitkit download --dir ${empty}\` first`);
    const j = await runCli(['eval', '--model', file, '--data', empty, '--json']);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout).error.code).toBe(3);
  });

  it('exits 2 when --report names something that cannot be a directory', async () => {
    const file = path.join(tmp, 'ones3.json');
    fs.writeFileSync(file, constantModel([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const r = await runCli(['eval', '--model', file, '--data', data, '--report', path.join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} is a file, not a directory`);
    expect(r.stdout).toBe('');
  });

  it('a write that fails midway (a full disk, simulated by a file-size limit) leaves no report, or the old one whole', async () => {
    // A constant model on 1,500 t10k digits: confusion.png (~40 KB) fits under a 96 KiB limit, errors.png
    // (~125 KB) and report.json (~210 KB) do not; the report used to be left with confusion.png alone.
    const ones = path.join(tmp, 'ones-full.json');
    fs.writeFileSync(ones, constantModel([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const parent = path.join(tmp, 'full-disk');
    const data = path.join(parent, 'some-t10k');
    writeT10kSubset(
      data,
      readSplit('t10k'),
      Array.from({ length: 1500 }, (_, i) => i),
    );
    const strays = () => fs.readdirSync(parent).filter((f) => f.includes('.tmp-') || f.includes('probe'));
    const fresh = path.join(parent, 'new-report');
    const r = await runCli(['eval', '--model', ones, '--data', data, '--report', fresh], { wrap: fileSizeLimit(96) });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `digitkit eval: --report ${fresh}: cannot write the report: file too large for this file system or process limit (EFBIG)`,
    ]);
    expect(fs.existsSync(fresh)).toBe(false);
    expect(strays()).toEqual([]);

    // A complete report from another model, then the failing run over it: every old file is untouched.
    const old = path.join(parent, 'old-report');
    const twos = path.join(tmp, 'twos-full.json');
    fs.writeFileSync(twos, constantModel([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]));
    expect((await runCli(['eval', '--model', twos, '--data', data, '--report', old])).code).toBe(0);
    const before = Object.fromEntries(fs.readdirSync(old).map((f) => [f, fs.readFileSync(path.join(old, f))]));
    expect(Object.keys(before)).toContain('report.json');
    const again = await runCli(['eval', '--model', ones, '--data', data, '--report', old], { wrap: fileSizeLimit(96) });
    expect(again.code).toBe(2);
    const after = Object.fromEntries(fs.readdirSync(old).map((f) => [f, fs.readFileSync(path.join(old, f))]));
    expect(after).toEqual(before);
    expect(strays()).toEqual([]);
  });
});
