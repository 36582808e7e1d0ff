// Quantization-aware training and distillation in both training engines: the wasm kernels (fakeQuant,
// distillXent) against their TypeScript references (qat.ts, layers.ts softmaxDistill), the distillation
// gradient against central differences, and whole training steps of the fast engine against the
// reference engine, as train-kernels.test.ts does for plain training.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { AUG_STRIDE, PIXELS } from '../src/train/augment.js';
import { MNIST_INPUT, type Engine, type EngineOptions, type QatSpec } from '../src/train/engine.js';
import { createFastEngine } from '../src/train/fast-engine.js';
import { softmaxCrossEntropy, softmaxDistill } from '../src/train/layers.js';
import { heInit, layerViews, paramLayout } from '../src/train/params.js';
import { computeScales, fakeQuantize, quantizeInts } from '../src/train/qat.js';
import { createReferenceEngine } from '../src/train/reference-engine.js';
import { Rng } from '../src/train/rng.js';
import { ROOT } from './helpers/cli.js';
import { kernelMemory, relDiff } from './helpers/kernel-memory.js';

const { k, alloc, reset, f32, f64 } = kernelMemory();
const rng = Rng.fromSeed(21);

const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('fake quantization: the wasm kernel against qat.ts, bit for bit', () => {
  it.each([
    [4, false],
    [4, true],
    [8, false],
    [8, true],
  ])('int%i, per-channel %s: scales, then float32(q * scale), ties rounded away from zero', (bits, perChannel) => {
    for (const [rows, cols] of [
      [784, 33],
      [7, 10],
      [1, 1],
    ]) {
      reset();
      const w = Float32Array.from({ length: rows * cols }, () => rng.normal() * 0.1);
      // Exact ties: weights at half steps of the scale the largest weight sets (column 0 gets both signs).
      const Q = bits === 4 ? 7 : 127;
      w[0] = 0.7;
      if (w.length > cols) w[cols] = -0.7 * (2.5 / Q);
      if (w.length > 2 * cols) w[2 * cols] = 0.7 * (0.5 / Q);
      if (cols > 1 && rows > 1) for (let i = 0; i < rows; i++) w[i * cols + 1] = 0; // an all-zero column
      const ref = computeScales(w, rows, cols, bits, perChannel);
      const want = new Float32Array(w.length);
      fakeQuantize(want, w, rows, cols, bits, ref);
      const W = alloc(w.length * 4);
      const O = alloc(w.length * 4);
      const S = alloc(cols * 4);
      f32(W, w.length).set(w);
      k.fakeQuant(O, W, rows, cols, Q, S, perChannel, true);
      expect(sameBits(f32(S, ref.length), ref)).toBe(true);
      expect(sameBits(f32(O, w.length), want)).toBe(true);
      // Frozen scales: the kernel uses what it is given.
      const frozen = Float32Array.from(ref, (s) => s * 0.5);
      f32(S, frozen.length).set(frozen);
      fakeQuantize(want, w, rows, cols, bits, frozen);
      k.fakeQuant(O, W, rows, cols, Q, S, perChannel, false);
      expect(sameBits(f32(S, frozen.length), frozen)).toBe(true);
      expect(sameBits(f32(O, w.length), want)).toBe(true);
      // The integers are in range, and the clamped ones sit at ±Q under the halved scales.
      const q = quantizeInts(w, rows, cols, bits, frozen);
      expect(Math.max(...Array.from(q, Math.abs))).toBe(Q);
    }
  });

  it('rounds half away from zero and clamps to ±Q (the contract rule, in float32)', () => {
    const s = new Float32Array([1]);
    const w = [0.5, 1.5, 2.5, -0.5, -2.5, 6.49, 6.5, 7.6, -100, 0];
    expect(Array.from(quantizeInts(w, 1, w.length, 4, s))).toEqual([1, 2, 3, -1, -3, 6, 7, 7, -7, 0]);
    expect(Array.from(computeScales([0, 0, 0, 0], 2, 2, 4, true))).toEqual([1, 1]);
    expect(Array.from(computeScales([0.7, -1.4, 0, 0], 2, 2, 4, true))).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
});

describe('distillation loss', () => {
  it('softmaxDistill: the gradient matches central differences of the loss (float64)', () => {
    const n = 3;
    const c = 10;
    for (const [T, alpha, smoothing] of [
      [1, 0.5, 0],
      [4, 0.7, 0.05],
      [2, 1, 0.1],
    ]) {
      const z = Float64Array.from({ length: n * c }, () => rng.normal() * 3);
      const zt = Float64Array.from({ length: n * c }, () => rng.normal() * 5);
      const labels = [3, 0, 9];
      const loss = (zz: Float64Array) =>
        softmaxDistill(new Float64Array(n * c), zz, zt, labels, 0, n, c, smoothing, 1, 1 / T, alpha);
      const dz = new Float64Array(n * c);
      softmaxDistill(dz, z, zt, labels, 0, n, c, smoothing, 1, 1 / T, alpha);
      for (let j = 0; j < n * c; j++) {
        const zp = z.slice();
        const zm = z.slice();
        zp[j] += 1e-5;
        zm[j] -= 1e-5;
        expect(Math.abs((loss(zp) - loss(zm)) / 2e-5 - dz[j])).toBeLessThan(1e-7);
      }
    }
  });

  it('alpha 0 is the label loss; a student equal to its teacher at alpha 1 has zero loss and gradient', () => {
    const c = 10;
    const z = Float64Array.from({ length: c }, () => rng.normal() * 3);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    const la = softmaxDistill(
      a,
      z,
      z.map((v) => v * 2),
      [4],
      0,
      1,
      c,
      0.05,
      0.5,
      1 / 3,
      0,
    );
    const lb = softmaxCrossEntropy(b, z, [4], 0, 1, c, 0.05, 0.5);
    expect(la).toBeCloseTo(lb, 12);
    expect(relDiff(a, b)).toBeLessThan(1e-12);
    const same = softmaxDistill(a, z, z, [4], 0, 1, c, 0, 1, 1 / 4, 1);
    expect(Math.abs(same)).toBeLessThan(1e-12);
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThan(1e-12);
  });

  it('the wasm distillXent = softmaxDistill (loss and gradient)', () => {
    for (const [T, alpha, smoothing] of [
      [1, 0.5, 0],
      [4, 0.5, 0.05],
      [2.5, 0.9, 0.1],
    ]) {
      reset();
      const c = 10;
      const z = Float32Array.from({ length: c }, () => rng.normal() * 4);
      const zt = Float32Array.from({ length: c }, () => rng.normal() * 6);
      const want = new Float32Array(c);
      const loss = softmaxDistill(want, z, zt, [7], 0, 1, c, smoothing, 1 / 128, 1 / T, alpha);
      const [Z, ZT, D, TMP] = [alloc(c * 4), alloc(c * 4), alloc(c * 4), alloc(3 * c * 8)];
      f32(Z, c).set(z);
      f32(ZT, c).set(zt);
      const got = k.distillXent(D, Z, ZT, 7, c, smoothing, 1 / 128, 1 / T, alpha, TMP);
      expect(Math.abs(got - loss) / loss).toBeLessThan(1e-12);
      expect(relDiff(f32(D, c), want)).toBeLessThan(1e-6);
      expect(f64(TMP, 1)[0]).toBeGreaterThan(0); // it used its scratch, not something else's
    }
  });
});

describe('QAT and distillation: the fast engine against the reference engine', () => {
  const mnist = loadMnist(embeddedMnistDir());
  const teacherModel = loadModel(fs.readFileSync(path.join(ROOT, 'models/mnist-f32.json'), 'utf8'));
  const teacherSizes = [784, ...teacherModel.layers.map((l) => l.cols)];
  const teacherParams = new Float32Array(paramLayout(teacherSizes).count);
  layerViews(teacherParams, paramLayout(teacherSizes)).forEach((v, i) => {
    v.w.set(teacherModel.layers[i].w);
    v.b.set(teacherModel.layers[i].b);
  });

  async function engines(
    sizes: number[],
    maxBatch: number,
    threads: number,
    extra: Pick<EngineOptions, 'qat' | 'teacher'>,
  ): Promise<[Engine, Engine]> {
    const { train, test } = await mnist;
    const o: EngineOptions = {
      sizes,
      maxBatch,
      smoothing: 0.05,
      input: MNIST_INPUT,
      train: { inputs: train!.images.subarray(0, 600 * PIXELS), labels: train!.labels.subarray(0, 600), count: 600 },
      test: { inputs: test!.images.subarray(0, 500 * PIXELS), labels: test!.labels.subarray(0, 500), count: 500 },
      ...extra,
    };
    return [createReferenceEngine(o), await createFastEngine(o, threads)];
  }
  function start(a: Engine, b: Engine, seed: number, frozen?: QatSpec) {
    heInit(a.params, a.layout, Rng.fromSeed(seed));
    b.state.set(a.state);
    if (frozen) {
      let s = 0;
      layerViews(a.params, a.layout).forEach((l, i) => {
        if (!frozen.bits[i]) return;
        const sc = computeScales(l.w, l.rows, l.cols, frozen.bits[i], frozen.perChannel[i]);
        a.qatScales[s].set(sc);
        b.qatScales[s++].set(sc);
      });
    }
    a.paramsChanged();
    b.paramsChanged();
    for (let i = 0; i < a.order.length; i++) a.order[i] = b.order[i] = (i * 7919) % a.order.length;
  }
  function draw(a: Engine, b: Engine, n: number, seed: number) {
    const r = Rng.fromSeed(seed);
    for (let i = 0; i < n; i++) {
      const th = (r.uniform() * 2 - 1) * 0.2;
      const s = 1 + (r.uniform() * 2 - 1) * 0.1;
      const t = [r.int(3) - 1, r.int(3) - 1, Math.cos(th) / s, Math.sin(th) / s];
      a.aug.set(t, i * AUG_STRIDE);
      b.aug.set(t, i * AUG_STRIDE);
    }
  }

  const QATS: [string, QatSpec][] = [
    [
      'int4 everywhere, per-layer scales recomputed every step',
      { bits: [4, 4, 4], perChannel: [false, false, false], frozen: false },
    ],
    [
      'int4 + int8 + float, per-channel, frozen scales',
      { bits: [4, 8, 0], perChannel: [true, false, false], frozen: true },
    ],
  ];
  it.each(QATS)('QAT %s: same fake-quantized weights, loss and accuracy; close after 5 steps', async (_, qat) => {
    const [ref, fast] = await engines([784, 24, 12, 10], 32, 2, { qat });
    try {
      start(ref, fast, 3, qat.frozen ? qat : undefined);
      const wr = ref.forwardWeights();
      const wf = fast.forwardWeights();
      wr.forEach((w, i) => expect(sameBits(wf[i], w), `layer ${i}`).toBe(true));
      // Quantized layers really are on the grid: each weight is q * scale with |q| <= Q.
      let s = 0;
      qat.bits.forEach((bits, i) => {
        if (!bits) return expect(sameBits(wr[i], layerViews(ref.params, ref.layout)[i].w as Float32Array)).toBe(true);
        const scales = ref.qatScales[s++];
        const cols = ref.layout.layers[i].cols;
        for (let p = 0; p < wr[i].length; p++) {
          const q = wr[i][p] / scales[scales.length > 1 ? p % cols : 0];
          expect(Math.abs(q - Math.round(q))).toBeLessThan(1e-4);
          expect(Math.abs(Math.round(q))).toBeLessThanOrEqual(bits === 4 ? 7 : 127);
        }
      });
      for (let t = 1; t <= 5; t++) {
        draw(ref, fast, 32, t);
        const a = ref.trainStep(t * 32, 32, 0.002, t);
        const b = fast.trainStep(t * 32, 32, 0.002, t);
        expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-4);
        if (t === 1) expect(b.correct).toBe(a.correct);
      }
      expect(relDiff(fast.params, ref.params)).toBeLessThan(1e-4);
      expect(
        Math.abs(fast.evaluate('test', 0, 500).correct - ref.evaluate('test', 0, 500).correct),
      ).toBeLessThanOrEqual(1);
      if (qat.frozen) expect(sameBits(fast.qatScales[0], ref.qatScales[0])).toBe(true);
      // The same state in both gives the same fake-quantized weights again.
      fast.state.set(ref.state);
      fast.paramsChanged();
      fast.forwardWeights().forEach((w, i) => expect(sameBits(w, ref.forwardWeights()[i]), `layer ${i}`).toBe(true));
    } finally {
      await fast.close();
    }
  });

  it('distillation from the shipped float model (teacher on the same augmented images): same loss and gradient', async () => {
    const teacher = { sizes: teacherSizes, params: teacherParams, temperature: 3, alpha: 0.7 };
    const [ref, fast] = await engines([784, 20, 10], 40, 2, { teacher });
    try {
      start(ref, fast, 4);
      const P = ref.layout.count;
      draw(ref, fast, 40, 9);
      const a = ref.trainStep(0, 40, 0.001, 1);
      const b = fast.trainStep(0, 40, 0.001, 1);
      expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-5);
      expect(b.correct).toBe(a.correct);
      // Adam's first moment after step 1 is 0.1 g: the gradients agree.
      expect(relDiff(fast.state.subarray(P, 2 * P), ref.state.subarray(P, 2 * P))).toBeLessThan(1e-4);
      for (let t = 2; t <= 5; t++) {
        draw(ref, fast, 37, 10 + t);
        ref.trainStep(t * 37, 37, 0.001, t);
        fast.trainStep(t * 37, 37, 0.001, t);
      }
      expect(relDiff(fast.params, ref.params)).toBeLessThan(1e-4);
    } finally {
      await fast.close();
    }
  });

  it('QAT with a teacher gives the same bits with 1, 2 or 3 threads', async () => {
    const teacher = { sizes: teacherSizes, params: teacherParams, temperature: 2, alpha: 0.5 };
    const qat: QatSpec = { bits: [4, 8, 8], perChannel: [true, true, false], frozen: false };
    const states: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const [ref, fast] = await engines([784, 40, 24, 10], 50, threads, { qat, teacher });
      try {
        start(ref, fast, 8);
        for (let t = 1; t <= 4; t++) {
          draw(ref, fast, 50, t);
          fast.trainStep(t * 50, 50, 0.002, t);
        }
        states.push(fast.state.slice());
      } finally {
        await fast.close();
      }
    }
    expect(sameBits(states[1], states[0])).toBe(true);
    expect(sameBits(states[2], states[0])).toBe(true);
  });
});
