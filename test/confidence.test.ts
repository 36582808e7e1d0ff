// Confidence (issue 18 item 8): the threshold chosen on the shipped MNIST model's validation split
// (the last 5,000 real training images) by the stated rule, `eval --confidence` and its model copy,
// and `predict --min-confidence` / `--allow-unsure` through the real CLI on real PNGs: rendered t10k
// digits and pictures that are not digits (a scribble, the letter A, a dot).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import {
  CANDIDATES,
  chooseThreshold,
  confidenceTable,
  MNIST_MIN_CONFIDENCE,
  runConfidence,
  withMinConfidence,
} from '../src/eval/confidence.js';
import type { BatchPredictions } from '../src/infer/batch.js';
import { ROOT, runCli } from './helpers/cli.js';
import { nonDigitPng } from './helpers/non-digits.js';
import { tempDir } from './helpers/random-model.js';
import { digitAt, loadT10k, LOOKS, renderDigit, rng } from './helpers/render.js';

const SHIPPED = path.join(ROOT, 'models/mnist-int8.json');
const MNIST = embeddedMnistDir();

/** Predictions over 2 classes from each sample's top probability and whether it is right. */
function twoClass(samples: [number, boolean][]): { p: BatchPredictions; labels: number[] } {
  const probs = new Float64Array(samples.length * 2);
  samples.forEach(([top], i) => probs.set([top, 1 - top], 2 * i));
  return {
    p: {
      count: samples.length,
      classes: 2,
      probs,
      predicted: new Int32Array(samples.length),
      margin: new Float64Array(samples.length),
    },
    labels: samples.map(([, right]) => (right ? 0 : 1)),
  };
}

describe('the threshold table and the rule', () => {
  it('counts refused samples and avoided errors per threshold; the rule takes the largest refusing at most maxRefused', () => {
    const { p, labels } = twoClass([
      [0.55, false],
      [0.6, true],
      [0.7, false],
      [0.9, true],
      [0.95, true],
      [0.99, true],
      [0.99, true],
      [0.99, true],
      [0.99, true],
      [0.99, true],
    ]);
    const t = confidenceTable(p, labels, [0.5, 0.6, 0.8, 0.96]);
    expect(t.errors).toBe(2);
    expect(t.rows.map((r) => [r.refused, r.errorsAvoided])).toEqual([
      [0, 0],
      [1, 1],
      [3, 2],
      [5, 2],
    ]);
    expect(t.rows[2].refusedShare).toBe(0.3);
    expect(t.rows[2].errorsAvoidedShare).toBe(1);
    expect(t.rows[2].keptAccuracy).toBe(1);
    expect(t.rows[1].keptAccuracy).toBeCloseTo(8 / 9, 12);
    expect(chooseThreshold(t, 0.1)!.threshold).toBe(0.6);
    expect(chooseThreshold(t, 0.3)!.threshold).toBe(0.8);
    expect(chooseThreshold(t, 0)!.threshold).toBe(0.5);
    expect(chooseThreshold(confidenceTable(p, labels, [0.9]), 0.1)).toBeNull();
  });

  it(`on the shipped model's real validation split (training images 55,000-59,999) the rule chooses ${MNIST_MIN_CONFIDENCE}, the page's default; measured once on the test set`, async () => {
    const rep = await runConfidence({ data: MNIST, model: SHIPPED });
    expect(rep.validation.from).toBe(55000);
    expect(rep.validation.count).toBe(5000);
    expect(rep.validation.note).toBeUndefined();
    expect(rep.validation.rows.map((r) => r.threshold)).toEqual(CANDIDATES);
    // Refusals grow with the threshold; the rule's choice refuses at most 1%, the next candidate more.
    const shares = rep.validation.rows.map((r) => r.refusedShare);
    expect(shares).toEqual([...shares].sort((a, b) => a - b));
    const c = rep.chosen!;
    expect(c.threshold).toBe(MNIST_MIN_CONFIDENCE);
    expect(c.refusedShare).toBeLessThanOrEqual(0.01);
    expect(rep.validation.rows.find((r) => r.threshold > c.threshold)!.refusedShare).toBeGreaterThan(0.01);
    expect(c.errorsAvoided).toBeGreaterThan(0);
    // The test set: 10,000 digits, measured at the chosen threshold only.
    expect(rep.test.count).toBe(10000);
    const at = rep.test.atChosen!;
    expect(at.threshold).toBe(c.threshold);
    expect(at.errorsAvoidedShare).toBeGreaterThan(at.refusedShare * 10);
    // The page carries the same default (a plain script: it cannot import this module).
    const app = fs.readFileSync(path.join(ROOT, 'src/web/assets/app.js'), 'utf8');
    expect(app).toMatch(new RegExp(`const DEFAULT_MIN_CONFIDENCE = ${MNIST_MIN_CONFIDENCE};`));
  });
});

describe('digitkit eval --confidence', () => {
  it('prints the table, the rule and its effect on the test set; --json has every candidate; --out writes a copy carrying meta.minConfidence', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'mnist-sure.json');
    const text = await runCli(['eval', '--confidence', '--data', MNIST, '--out', out]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('validation training images 55,000-59,999 (5,000 samples');
    expect(text.stdout).toMatch(/^threshold +refused +errors avoided +accuracy kept$/m);
    expect(text.stdout).toMatch(new RegExp(`^ +${MNIST_MIN_CONFIDENCE.toFixed(2)} \\* +\\d+\\.\\d\\d%`, 'm'));
    expect(text.stdout).toContain(`of the validation samples: ${MNIST_MIN_CONFIDENCE.toFixed(2)}`);
    expect(text.stdout).toMatch(
      /^test set +at 0\.\d\d: refuses \d+\.\d\d% of 10,000 samples \(\d+\), avoids \d+ of \d+ errors/m,
    );
    expect(text.stdout).toContain(`wrote      ${out} (meta.minConfidence ${MNIST_MIN_CONFIDENCE.toFixed(2)})`);
    // The copy: the model's bytes but for the one meta field.
    const copy = JSON.parse(fs.readFileSync(out, 'utf8'));
    const orig = JSON.parse(fs.readFileSync(SHIPPED, 'utf8'));
    expect(copy.meta.minConfidence).toBe(MNIST_MIN_CONFIDENCE);
    delete copy.meta.minConfidence;
    expect(JSON.stringify(copy)).toBe(fs.readFileSync(SHIPPED, 'utf8').trim());
    expect(withMinConfidence(Buffer.from(JSON.stringify(orig)), 0.5)).toContain('"minConfidence":0.5}');

    const json = await runCli(['eval', '--confidence', '--data', MNIST, '--max-refused', '0.05', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const rep = JSON.parse(json.stdout);
    expect(rep.validation.rows).toHaveLength(99);
    expect(rep.maxRefused).toBe(0.05);
    expect(rep.chosen.threshold).toBeGreaterThan(MNIST_MIN_CONFIDENCE);
    expect(rep.chosen.refusedShare).toBeLessThanOrEqual(0.05);
  });

  it('bad uses are exit 2, and the shipped model is never rewritten', async () => {
    const before = fs.readFileSync(SHIPPED);
    for (const [args, msg] of [
      [['--confidence', '--out', SHIPPED], /--out .*mnist-int8\.json is the model itself/],
      [['--confidence', '--max-refused', '1'], /--max-refused 1: expected a share in \[0, 1\)/],
      [['--out', path.join(tempDir(), 'x.json')], /--out goes with --confidence/],
      [['--confidence', '--compare', SHIPPED], /--confidence cannot be combined with --compare/],
    ] as const) {
      const r = await runCli(['eval', '--data', MNIST, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    expect(fs.readFileSync(SHIPPED).equals(before)).toBe(true);
  });
});

describe('digitkit predict --min-confidence', () => {
  /** Three real t10k digits (a 7, a 2, a 1) rendered as canvas PNGs, and the three non-digits. */
  async function pictures(dir: string) {
    const t10k = await loadT10k();
    for (const i of [0, 1, 2]) {
      const { bytes } = await renderDigit(digitAt(t10k, i).pixels, LOOKS['canvas 200x200'], rng(i + 1));
      fs.writeFileSync(path.join(dir, `digit-${i}.png`), bytes);
    }
    for (const n of ['scribble', 'A', 'dot']) fs.writeFileSync(path.join(dir, `${n}.png`), await nonDigitPng(n));
  }

  it(`at the default threshold chosen on validation (${MNIST_MIN_CONFIDENCE}): the digits are answered, the scribble and the dot are "not sure" (listed apart, exit 5); --allow-unsure exits 0`, async () => {
    const dir = tempDir();
    await pictures(dir);
    const p = String(MNIST_MIN_CONFIDENCE);
    const r = await runCli(['predict', dir, '--min-confidence', p]);
    expect(r.code, r.stderr).toBe(5);
    const lines = r.stdout.trim().split('\n');
    const header = lines.findIndex((l) => l.startsWith('not sure (top probability below 56.0%):'));
    expect(header).toBeGreaterThan(0);
    // Answered above the section, not sure below it: each with its best guess and probability.
    for (const i of [0, 1, 2]) expect(lines.findIndex((l) => l.includes(`digit-${i}.png`))).toBeLessThan(header);
    for (const n of ['scribble', 'dot']) {
      const at = lines.findIndex((l) => l.includes(`${n}.png`));
      expect(at, r.stdout).toBeGreaterThan(header);
      expect(lines[at]).toMatch(/not sure {2}best guess \d \d+\.\d%/);
    }
    // Known limit, reported rather than tuned away: the letter A reads as a confident 4 (88%), above any
    // threshold that keeps refusals of real digits near 1% (0.90 refuses 6.6% of validation digits).
    expect(lines.find((l) => l.includes('A.png'))).toMatch(/A\.png +4 +8\d\.\d%/);
    expect(lines.at(-1)).toBe('6 inputs: 4 classified, 2 not sure, 0 rejected');
    expect(r.stderr).toContain(
      'digitkit predict: 2 results not sure (top probability below 56.0%): exit 5 (--allow-unsure accepts them)',
    );

    const ok = await runCli(['predict', dir, '--min-confidence', p, '--allow-unsure']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(r.stdout);
    expect(ok.stderr).toBe('');

    const json = await runCli(['predict', dir, '--min-confidence', p, '--json']);
    expect(json.code).toBe(5);
    const results = JSON.parse(json.stdout) as {
      file: string;
      unsure: boolean;
      minConfidence: number;
      probability: number;
    }[];
    const unsure = results.filter((x) => x.unsure).map((x) => path.basename(x.file));
    expect(unsure).toEqual(['dot.png', 'scribble.png']);
    for (const x of results) {
      expect(x.minConfidence).toBe(MNIST_MIN_CONFIDENCE);
      expect(x.unsure).toBe(x.probability < MNIST_MIN_CONFIDENCE);
    }
  });

  it("without the flag: the model's meta.minConfidence applies; a model without one gives today's output (no threshold)", async () => {
    const dir = tempDir();
    await pictures(dir);
    const model = path.join(tempDir(), 'sure.json');
    fs.writeFileSync(model, withMinConfidence(fs.readFileSync(SHIPPED), MNIST_MIN_CONFIDENCE));
    const withMeta = await runCli(['predict', dir, '--model', model]);
    expect(withMeta.code).toBe(5);
    expect(withMeta.stdout).toContain('6 inputs: 4 classified, 2 not sure, 0 rejected');
    // The flag overrides the model's own threshold.
    const lower = await runCli(['predict', dir, '--model', model, '--min-confidence', '0.3']);
    expect(lower.code, lower.stderr).toBe(0);
    expect(lower.stdout).toContain('6 inputs: 6 classified, 0 not sure, 0 rejected');

    const plain = await runCli(['predict', dir, '--model', SHIPPED]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toContain('not sure');
    expect(plain.stdout.trim().split('\n').at(-1)).toBe('6 inputs: 6 classified, 0 rejected');
    const plainJson = JSON.parse((await runCli(['predict', dir, '--model', SHIPPED, '--json'])).stdout);
    for (const x of plainJson) expect(Object.keys(x)).not.toContain('unsure');
  });

  it('a bad threshold is exit 2 (the flag) or exit 3 (the model file), before any image is read', async () => {
    const dir = tempDir();
    const png = path.join(dir, 'dot.png');
    fs.writeFileSync(png, await nonDigitPng('dot'));
    for (const v of ['0', '1.5', '-0.2', 'abc']) {
      const r = await runCli(['predict', png, `--min-confidence=${v}`]);
      expect(r.code, `${v}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/--min-confidence/);
    }
    const bad = path.join(dir, 'bad.json');
    const doc = JSON.parse(fs.readFileSync(SHIPPED, 'utf8'));
    doc.meta.minConfidence = 'high';
    fs.writeFileSync(bad, JSON.stringify(doc));
    const r = await runCli(['predict', png, '--model', bad]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(`digitkit predict: ${bad}: meta.minConfidence "high": expected a number in (0, 1]`);
  });
});
