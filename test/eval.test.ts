// `digitkit eval` numbers: the metric functions on hand-made predictions, then runEval with
// hand-built models whose every prediction is known by construction, on real t10k digits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { readHistory } from '../src/eval/curves-chart.js';
import { runEval } from '../src/eval/evaluate.js';
import { formatModel } from '../src/node/model-file.js';
import { agreement, classStats, confusionMatrix, correctCount } from '../src/eval/metrics.js';
import {
  constantModel,
  digitOf,
  readSplit,
  T10K_COUNTS,
  templateModel,
  writeT10kSubset,
} from './helpers/eval-models.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('metrics', () => {
  it('confusion matrix, precision and recall for a handful of predictions', () => {
    const truth = [0, 1, 2, 2, 1, 0];
    const pred = [0, 2, 2, 2, 1, 2];
    const m = confusionMatrix(truth, pred, 4);
    expect(m).toEqual([
      [1, 0, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 0],
    ]);
    expect(correctCount(m)).toBe(4);
    const s = classStats(m, ['a', 'b', 'c', 'd']);
    expect(s[0]).toEqual({ label: 'a', support: 2, predicted: 1, correct: 1, precision: 1, recall: 0.5 });
    expect(s[1]).toEqual({ label: 'b', support: 2, predicted: 1, correct: 1, precision: 1, recall: 0.5 });
    expect(s[2]).toEqual({ label: 'c', support: 2, predicted: 4, correct: 2, precision: 0.5, recall: 1 });
    // Never predicted and never present: both undefined, reported as null rather than 0 or NaN.
    expect(s[3]).toEqual({ label: 'd', support: 0, predicted: 0, correct: 0, precision: null, recall: null });
  });

  it('agreement counts identical predictions and lists where they differ', () => {
    const ag = agreement(Uint8Array.from([1, 2, 3, 4, 5]), Uint8Array.from([1, 0, 3, 9, 5]));
    expect(ag).toEqual({ count: 5, agree: 3, rate: 0.6, disagree: [1, 3] });
    expect(() => agreement([1], [1, 2])).toThrow();
  });
});

describe('meta.history', () => {
  it('reads the columnar history defensively: any array may be missing, non-numbers become gaps', () => {
    expect(readHistory({ history: { loss: [1, 'x', null, 0.5], lr: [0.1], valAccuracy: 'no' } })).toEqual({
      loss: [1, NaN, NaN, 0.5],
      lr: [0.1],
    });
    expect(readHistory({ history: { valAccuracy: [0.9, 0.95] } })).toEqual({ valAccuracy: [0.9, 0.95] });
    // Nothing to plot: only a learning rate, no history, or not an object.
    expect(readHistory({ history: { lr: [0.1, 0.05] } })).toBeNull();
    expect(readHistory({ history: { loss: [] } })).toBeNull();
    expect(readHistory({ history: [[1, 2]] })).toBeNull();
    expect(readHistory({})).toBeNull();
    expect(readHistory(undefined)).toBeNull();
  });
});

describe('runEval on hand-built models', () => {
  const t10k = readSplit('t10k');

  it('a model that always answers "1" scores exactly the share of ones in t10k', async () => {
    const file = path.join(tmp, 'ones.json');
    fs.writeFileSync(file, constantModel([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], { testAccuracy: 0.1135 }));
    const rep = await runEval({ model: file, data: embeddedMnistDir() });
    const m = rep.model;
    expect(m.count).toBe(10000);
    expect(m.correct).toBe(1135);
    expect(m.accuracy).toBe(0.1135);
    expect(m.metaTestAccuracy).toBe(0.1135);
    expect(m.dtype).toBe('int8');
    expect(m.confusion).toEqual(T10K_COUNTS.map((n) => [0, n, 0, 0, 0, 0, 0, 0, 0, 0]));
    m.classes.forEach((c, i) => {
      expect(c.support).toBe(T10K_COUNTS[i]);
      expect(c.predicted).toBe(i === 1 ? 10000 : 0);
      expect(c.recall).toBe(i === 1 ? 1 : 0);
      expect(c.precision).toBe(i === 1 ? 0.1135 : null);
    });
    // Logits [0,1,0,...]: softmax gives e/(e+9) to class 1 and 1/(e+9) to every other class.
    expect(m.errors).toHaveLength(8865);
    const e = Math.E;
    for (const err of m.errors) {
      expect(err.predicted).toBe(1);
      expect(err.label).toBe(t10k.labels[err.index]);
      expect(err.probability).toBe(Math.round((e / (e + 9)) * 1e6) / 1e6);
      expect(err.trueProbability).toBe(Math.round((1 / (e + 9)) * 1e6) / 1e6);
    }
    expect(m.errors.map((x) => x.index)).toEqual([...Array(10000).keys()].filter((i) => t10k.labels[i] !== 1));
    expect(m.history).toBeUndefined();
    expect(rep.compare).toBeUndefined();
    expect(rep.report).toBeUndefined();
  });

  it('a nearest-template model gets its own templates right, and swapped columns exactly wrong', async () => {
    // The first t10k image of each class is that class's template; columns 3 and 5 swap templates.
    const first = [...Array(10).keys()].map((c) => t10k.labels.indexOf(c));
    const templates = first.map((i) => digitOf(t10k, i));
    [templates[3], templates[5]] = [templates[5], templates[3]];
    const file = path.join(tmp, 'templates.json');
    fs.writeFileSync(file, templateModel(templates));
    const ones = path.join(tmp, 'ones-b.json');
    fs.writeFileSync(ones, constantModel([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    const data = path.join(tmp, 'first-of-each');
    writeT10kSubset(data, t10k, first);

    const rep = await runEval({ model: file, data, compare: ones });
    const m = rep.model;
    expect(rep.data.count).toBe(10);
    expect(m.correct).toBe(8);
    expect(m.accuracy).toBe(0.8);
    const expected = [...Array(10).keys()].map((i) =>
      [...Array(10).keys()].map((j) => {
        const predicted = i === 3 ? 5 : i === 5 ? 3 : i;
        return j === predicted ? 1 : 0;
      }),
    );
    expect(m.confusion).toEqual(expected);
    for (const c of m.classes) {
      const swapped = c.label === '3' || c.label === '5';
      expect([c.precision, c.recall]).toEqual(swapped ? [0, 0] : [1, 1]);
    }
    // The subset holds class c at position c.
    expect(m.errors.map((e) => [e.index, e.label, e.predicted])).toEqual([
      [3, 3, 5],
      [5, 5, 3],
    ]);
    // Distance 0 to the matching template against hundreds of squared units to any other one.
    for (const e of m.errors) expect(e.probability).toBeGreaterThan(0.999);

    // The constant model answers "1"; the template model does so only for the "1" template.
    const c = rep.compare!;
    expect(c.model.correct).toBe(1);
    expect(c.agreement).toEqual({ count: 10, agree: 1, rate: 0.1 });
    expect(c.disagreements.map((d) => d.index)).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9]);
    const d3 = c.disagreements.find((d) => d.index === 3)!;
    expect(d3.label).toBe(3);
    expect(d3.a.predicted).toBe(5);
    expect(d3.b.predicted).toBe(1);
  });

  it('names the file when a model does not fit MNIST, and points to `digitkit download` when data is missing', async () => {
    const ok = path.join(tmp, 'fits.json');
    fs.writeFileSync(ok, constantModel([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    await expect(runEval({ model: ok, data: path.join(tmp, 'nothing-here') })).rejects.toMatchObject({
      code: 3,
      message: expect.stringContaining('digitkit download'),
    });
    const small = path.join(tmp, 'small-input.json');
    fs.writeFileSync(
      small,
      formatModel({
        dtype: 'int8',
        input: { width: 14, height: 14, scale: 1 / 255 },
        layers: [{ rows: 196, cols: 10, w: new Int8Array(1960), scale: 1, b: new Array(10).fill(0) }],
      }),
    );
    await expect(runEval({ model: ok, compare: small, data: embeddedMnistDir() })).rejects.toMatchObject({
      code: 3,
      message: `${small}: input is 14x14, the MNIST test digits are 28x28`,
    });
    await expect(runEval({ model: path.join(tmp, 'absent.json'), data: embeddedMnistDir() })).rejects.toMatchObject({
      code: 3,
      message: expect.stringContaining('absent.json: no such model file'),
    });
  });

  it('an empty test set is invalid input (exit 3), never "accuracy NaN%", and leaves no report behind', async () => {
    const t = readSplit('t10k');
    const empty = path.join(tmp, 'empty-t10k');
    writeT10kSubset(empty, t, []);
    const model = path.join(tmp, 'constant.json');
    fs.writeFileSync(model, constantModel([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    await expect(runEval({ model, data: empty })).rejects.toMatchObject({
      code: 3,
      message: expect.stringMatching(/empty-t10k.*no test samples/),
    });
    const report = path.join(tmp, 'empty-report');
    for (const args of [[], ['--json'], ['--report', report]]) {
      const res = await runCli(['eval', '--model', model, '--data', empty, ...args]);
      expect(res.code, args.join(' ')).toBe(3);
      expect(res.stdout + res.stderr).not.toMatch(/NaN/);
      expect(res.stdout + res.stderr).toContain(empty);
    }
    expect(fs.existsSync(report) ? fs.readdirSync(report) : []).toEqual([]);
  });
});
