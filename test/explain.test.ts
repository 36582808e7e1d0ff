// digitkit/explain as it ships (dist/explain/index.js) against the shipped core (dist/core/index.js)
// on the shipped models and 20 real t10k digits: hidden activations are the core's own forward
// intermediates (read from its per-layer scratch after a `forward` call), saliency equals central
// finite differences of the core's logits, integrated gradients are complete, and the module is
// import-free and within its 2 KB gzipped budget.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { randomModelText, rng } from './helpers/random-model.js';
import { digitAt, loadT10k } from './helpers/render.js';
import { wine } from './helpers/sklearn-csv.js';

type Explain = typeof import('../src/explain/index.js');
type Core = typeof import('../src/core/index.js');
type Model = import('../src/core/index.js').Model;

const EXPLAIN = path.join(ROOT, 'dist/explain/index.js');
const explain: Explain = await import(pathToFileURL(EXPLAIN).href);
const core: Core = await import(pathToFileURL(path.join(ROOT, 'dist/core/index.js')).href);
const t10k = await loadT10k();
/** 20 real digits: two of each class, from the start of t10k. */
const DIGITS = (() => {
  const seen = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; out.length < 20; i++) {
    const l = digitAt(t10k, i).label;
    if ((seen.get(l) ?? 0) < 2) (out.push(i), seen.set(l, (seen.get(l) ?? 0) + 1));
  }
  return out;
})();
const SHIPPED = ['mnist-int8.json', 'mnist-f32.json'].map((f) => path.join(ROOT, 'models', f));

const load = (file: string) => core.loadModel(fs.readFileSync(file, 'utf8'), file);
const input = (model: Model, i: number) => core.pixelsToInput(model, digitAt(t10k, i).pixels);

/**
 * The core's per-layer outputs after its forward pass on `x` (scaled input): each layer's
 * pre-activations, as it keeps them in its scratch (one Float64Array per layer, allocated once).
 */
function coreLayers(model: Model, x: ArrayLike<number>): Float64Array[] {
  core.forward(model, x);
  const scratch = (model as unknown as { scratch?: Float64Array[] }).scratch;
  if (!scratch || scratch.length !== model.layers.length) throw new Error('the core keeps no per-layer scratch');
  return scratch.map((s) => s.slice());
}
const coreLogits = (model: Model, x: ArrayLike<number>) => coreLayers(model, x).pop()!;

const maxAbs = (a: ArrayLike<number>) =>
  Array.prototype.reduce.call(a, (m: number, v: number) => Math.max(m, Math.abs(v)), 0) as number;
const sum = (a: ArrayLike<number>) => Array.prototype.reduce.call(a, (s: number, v: number) => s + v, 0) as number;

describe.each(SHIPPED)('digitkit/explain on %s and 20 t10k digits', (file) => {
  const model = load(file);
  const name = path.basename(file);

  it('hiddenActivations equal the core forward pass intermediates bit for bit (ReLU of its scratch)', () => {
    for (const i of DIGITS) {
      const x = input(model, i);
      const want = coreLayers(model, x)
        .slice(0, -1)
        .map((z) => z.map((v) => (v > 0 ? v : 0)));
      const got = explain.hiddenActivations(model, x);
      expect(got.map((h) => h.length)).toEqual(model.layers.slice(0, -1).map((l) => l.cols));
      for (let k = 0; k < want.length; k++) {
        const diff = want[k].findIndex((v, j) => v !== got[k][j]);
        expect(diff, `digit ${i}, hidden layer ${k}, unit ${diff}`).toBe(-1);
      }
      const logits = explain.logits(model, x);
      expect(Array.from(logits)).toEqual(Array.from(coreLogits(model, x)));
    }
  });

  it('through forwardPixels (raw pixels) the same to 1e-12: bit for bit for float32, the int8 integer first layer rounds differently', () => {
    let worst = 0;
    for (const i of DIGITS) {
      const px = digitAt(t10k, i).pixels;
      core.forwardPixels(model, px);
      const scratch = (model as unknown as { scratch: Float64Array[] }).scratch;
      const got = explain.hiddenActivations(model, core.pixelsToInput(model, px));
      got.forEach((h, k) =>
        h.forEach((v, j) => {
          const want = Math.max(scratch[k][j], 0);
          worst = Math.max(worst, Math.abs(v - want) / Math.max(1, Math.abs(want)));
        }),
      );
    }
    expect(worst).toBeLessThanOrEqual(1e-12);
    if (model.dtype === 'float32') expect(worst).toBe(0);
  });

  it('saliency equals central finite differences of the core logit, to 1e-6 relative, for the top and the runner-up class', () => {
    let worst = 0,
      retried = 0;
    for (const i of DIGITS) {
      const x = input(model, i);
      const probs = core.forward(model, x);
      const ranked = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
      const signs = (layers: Float64Array[]) =>
        layers
          .slice(0, -1)
          .map((z) => Array.from(z, (v) => (v > 0 ? '1' : '0')).join(''))
          .join('|');
      const at = signs(coreLayers(model, x));
      for (const c of ranked.slice(0, 2)) {
        const s = explain.saliency(model, x, c);
        expect(s.length).toBe(x.length);
        const xp = Float64Array.from(x);
        const fd = new Float64Array(x.length);
        for (let p = 0; p < x.length; p++) {
          // A difference across a ReLU switch measures two linear pieces: step smaller until none switches.
          for (let h = 1e-5; ; h /= 8) {
            xp[p] = x[p] + h;
            const up = coreLayers(model, xp);
            xp[p] = x[p] - h;
            const down = coreLayers(model, xp);
            xp[p] = x[p];
            if (signs(up) !== at || signs(down) !== at) {
              retried++;
              if (h < 1e-12) throw new Error(`digit ${i}, input ${p}: a ReLU switches within 1e-12`);
              continue;
            }
            fd[p] = (up[up.length - 1][c] - down[down.length - 1][c]) / (2 * h);
            break;
          }
        }
        let err = 0;
        for (let p = 0; p < x.length; p++) err = Math.max(err, Math.abs(s[p] - fd[p]));
        worst = Math.max(worst, err / maxAbs(s));
      }
    }
    console.log(
      `explain ${name}: saliency vs central differences, worst max|s - fd| / max|s| = ${worst.toExponential(2)} over ${DIGITS.length} digits x 2 classes (${retried} steps retried smaller at a ReLU switch)`,
    );
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('integrated gradients are complete: they sum to logit(x) - logit(0) to 1e-6 relative (the top 3 classes and the true one)', () => {
    let worst = 0;
    const zero = coreLogits(model, new Float64Array(model.layers[0].rows));
    for (const i of DIGITS) {
      const x = input(model, i);
      const lx = coreLogits(model, x);
      const ranked = Array.from(lx.keys()).sort((a, b) => lx[b] - lx[a]);
      for (const c of new Set([...ranked.slice(0, 3), digitAt(t10k, i).label])) {
        const ig = explain.integratedGradients(model, x, c);
        const delta = lx[c] - zero[c];
        worst = Math.max(worst, Math.abs(sum(ig) - delta) / Math.max(Math.abs(delta), 1e-9));
        // Attribution only where there is input: x_i = 0 gives 0.
        x.forEach((v, p) => v === 0 && expect(ig[p]).toBe(0));
      }
    }
    console.log(
      `explain ${name}: integrated gradients, worst |sum - (logit(x) - logit(0))| / |logit(x) - logit(0)| = ${worst.toExponential(2)} over ${DIGITS.length} digits x 3-4 classes`,
    );
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('exact integrated gradients are the limit of the Riemann sum over saliency on the path (computed here, independently)', () => {
    for (const i of DIGITS.slice(0, 2)) {
      const x = input(model, i);
      const c = digitAt(t10k, i).label;
      const exact = explain.integratedGradients(model, x, c);
      const riemann = (n: number) => {
        const acc = new Float64Array(x.length);
        for (let s = 0; s < n; s++) {
          const g = explain.saliency(
            model,
            x.map((v) => (v * (s + 0.5)) / n),
            c,
          );
          g.forEach((v, p) => (acc[p] += (v * x[p]) / n));
        }
        return acc;
      };
      const err = (a: Float64Array) => maxAbs(a.map((v, p) => v - exact[p])) / maxAbs(exact);
      const coarse = err(riemann(50));
      const fine = err(riemann(1000));
      expect(fine).toBeLessThan(coarse);
      expect(fine).toBeLessThan(5e-3);
      // The library's own `steps` is that same midpoint rule.
      const lib = explain.integratedGradients(model, x, c, 50);
      const mine = riemann(50);
      expect(maxAbs(lib.map((v, p) => v - mine[p])) / maxAbs(exact)).toBeLessThan(1e-12);
    }
  });
});

describe('a hand-built version-2 vector model on 20 real rows of the UCI wine measurements', () => {
  const W = wine();
  const mean = W.names.map((_, j) => W.x.reduce((s, r) => s + r[j], 0) / W.x.length);
  const invStd = W.names.map((_, j) => 1 / Math.sqrt(W.x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / W.x.length));
  const ROWS = Array.from({ length: 20 }, (_, k) => k * 9); // every class
  it.each([
    ['float32', ['float32', 'float32', 'float32']],
    ['mixed int4/int8/float32', ['int4', 'int8', 'float32']],
  ] as const)(
    '%s: activations are the core forwardValues intermediates, saliency its central differences, IG complete',
    (_, dtypes) => {
      const text = randomModelText({
        dtypes: [...dtypes],
        shape: [13, 16, 8, 3],
        seed: 12,
        input: { kind: 'vector', size: 13, offset: mean, scale: invStd, names: W.names },
        labels: ['class_0', 'class_1', 'class_2'],
      });
      expect(JSON.parse(text).version).toBe(2);
      const model = core.loadModel(text);
      const input = model.input;
      if (input.kind !== 'vector') throw new Error('expected a vector model');
      let fdErr = 0,
        igErr = 0;
      const zero = coreLogits(model, new Float64Array(13));
      for (const r of ROWS) {
        const v = W.x[r];
        // The model's scaled input, as the core computes it from raw values: (v - offset) * scale.
        const x = Float64Array.from(v, (value, i) => (value - input.offset[i]) * input.scale[i]);
        core.forwardValues(model, v);
        const scratch = (model as unknown as { scratch: Float64Array[] }).scratch.map((z) => z.slice());
        const hidden = explain.hiddenActivations(model, x);
        hidden.forEach((h, k) =>
          h.forEach((a, j) => expect(a, `row ${r}, layer ${k}, unit ${j}`).toBe(Math.max(scratch[k][j], 0))),
        );
        const c = W.y[r];
        const s = explain.saliency(model, x, c);
        for (let i = 0; i < 13; i++) {
          const h = 1e-6,
            xp = Float64Array.from(x);
          xp[i] = x[i] + h;
          const up = coreLogits(model, xp)[c];
          xp[i] = x[i] - h;
          const down = coreLogits(model, xp)[c];
          fdErr = Math.max(fdErr, Math.abs((up - down) / (2 * h) - s[i]) / maxAbs(s));
        }
        const ig = explain.integratedGradients(model, x, c);
        const delta = coreLogits(model, x)[c] - zero[c];
        igErr = Math.max(igErr, Math.abs(sum(ig) - delta) / Math.abs(delta));
      }
      console.log(
        `explain vector model (${dtypes.join('/')}): saliency vs central differences ${fdErr.toExponential(2)}, IG completeness ${igErr.toExponential(2)} over 20 wine rows`,
      );
      expect(fdErr).toBeLessThanOrEqual(1e-6);
      expect(igErr).toBeLessThanOrEqual(1e-6);
    },
  );
});

describe('digitkit/explain on other shapes and bad arguments', () => {
  it('a model without hidden layers: saliency is the weight column, integrated gradients x times it, exactly', () => {
    const model = core.loadModel(randomModelText({ dtype: 'float32', shape: [784, 10], seed: 3 }));
    const x = input(model, 0);
    expect(explain.hiddenActivations(model, x)).toEqual([]);
    const { w, cols } = model.layers[0];
    const col = Array.from({ length: 784 }, (_, i) => w[i * cols + 7]);
    expect(Array.from(explain.saliency(model, x, 7))).toEqual(col);
    expect(Array.from(explain.integratedGradients(model, x, 7))).toEqual(col.map((v, i) => v * x[i] + 0));
  });

  it('a deeper model with negative inputs (what a vector model feeds it): finite differences and completeness hold', () => {
    const model = core.loadModel(randomModelText({ dtype: 'float32', shape: [784, 32, 24, 16, 10], seed: 9 }));
    const rand = rng(4);
    const x = Float64Array.from({ length: 784 }, () => (rand() < 0.3 ? rand() * 4 - 2 : 0));
    const c = 3;
    const s = explain.saliency(model, x, c);
    const logit = (v: Float64Array) => explain.logits(model, v)[c];
    const xp = Float64Array.from(x);
    let err = 0;
    for (let p = 0; p < 784; p += 7) {
      const h = 1e-7;
      xp[p] = x[p] + h;
      const up = logit(xp);
      xp[p] = x[p] - h;
      const down = logit(xp);
      xp[p] = x[p];
      err = Math.max(err, Math.abs((up - down) / (2 * h) - s[p]));
    }
    expect(err / maxAbs(s)).toBeLessThanOrEqual(1e-6);
    const ig = explain.integratedGradients(model, x, c);
    const delta = logit(x) - logit(new Float64Array(784));
    expect(Math.abs(sum(ig) - delta) / Math.abs(delta)).toBeLessThanOrEqual(1e-9);
  });

  it('refuses a wrong input length, a non-finite input and a class out of range (RangeError naming it)', () => {
    const model = load(SHIPPED[0]);
    const x = input(model, 0);
    expect(() => explain.saliency(model, x.subarray(1), 0)).toThrow('783 inputs, expected 784');
    expect(() =>
      explain.hiddenActivations(
        model,
        Float64Array.from(x, (v, i) => (i === 5 ? NaN : v)),
      ),
    ).toThrow('non-finite');
    for (const c of [10, -1, 1.5]) {
      expect(() => explain.saliency(model, x, c)).toThrow(RangeError);
      expect(() => explain.integratedGradients(model, x, c)).toThrow(`class ${c}, expected an integer in [0, 9]`);
    }
  });
});

describe('the shipped explain module (dist/explain/index.js)', () => {
  it('contains no import, require, node:, process or Buffer, and is at most 2,048 bytes gzipped', () => {
    const js = fs.readFileSync(EXPLAIN, 'utf8');
    for (const word of [/\bimport\b/, /\brequire\b/, /node:/, /\bprocess\b/, /\bBuffer\b/])
      expect(js).not.toMatch(word);
    const gz = gzipSync(Buffer.from(js), { level: 9 }).length;
    console.log(`explain: dist/explain/index.js ${js.length} bytes, ${gz} gzipped (budget 2,048)`);
    expect(gz).toBeLessThanOrEqual(2048);
  });
});
