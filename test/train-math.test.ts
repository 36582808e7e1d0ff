// The training maths on its own: gradients by central differences, Adam's first steps by hand,
// schedules, augmentation, the PRNG and the checkpoint format.
import { describe, expect, it } from 'vitest';
import { adamStep } from '../src/train/adam.js';
import { AUG_STRIDE, augmentImage, drawAugment, PIXELS, SIDE } from '../src/train/augment.js';
import { createMlpScratch, mlpLossAndGrad } from '../src/train/mlp.js';
import { heInit, layerViews, paramLayout } from '../src/train/params.js';
import { Rng } from '../src/train/rng.js';
import { learningRate } from '../src/train/schedule.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/train/checkpoint.js';
import { DigitkitError } from '../src/errors.js';

describe('backward pass', () => {
  it('matches central differences on a tiny net in float64 (relative error < 1e-4)', () => {
    const sizes = [7, 6, 5, 4];
    const layout = paramLayout(sizes);
    const rng = Rng.fromSeed(42);
    const p = new Float64Array(layout.count);
    for (let i = 0; i < p.length; i++) p[i] = rng.normal() * 0.7;
    const g = new Float64Array(layout.count);
    const n = 5;
    const x = new Float64Array(n * sizes[0]);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform() < 0.3 ? 0 : rng.uniform(); // zeros, as in MNIST
    const labels = [0, 3, 1, 2, 3];
    const s = createMlpScratch(layout, n, 64);
    const lossAt = () =>
      mlpLossAndGrad(layerViews(p, layout), layerViews(new Float64Array(layout.count), layout), x, labels, 0, n, 0.1, s)
        .loss / n;
    mlpLossAndGrad(layerViews(p, layout), layerViews(g, layout), x, labels, 0, n, 0.1, s);
    const h = 1e-6;
    let worst = 0;
    let checked = 0;
    for (const l of layout.layers) {
      for (const [start, len] of [
        [l.w, l.rows * l.cols],
        [l.b, l.cols],
      ]) {
        for (let i = start; i < start + len; i++) {
          const keep = p[i];
          p[i] = keep + h;
          const up = lossAt();
          p[i] = keep - h;
          const down = lossAt();
          p[i] = keep;
          const numeric = (up - down) / (2 * h);
          const rel = Math.abs(numeric - g[i]) / Math.max(Math.abs(numeric) + Math.abs(g[i]), 1e-7);
          worst = Math.max(worst, rel);
          checked++;
        }
      }
    }
    expect(checked).toBe(7 * 6 + 6 + 6 * 5 + 5 + 5 * 4 + 4);
    expect(worst).toBeLessThan(1e-4);
  });

  it('in float32 too (relative error < 1e-2), with the loss falling along the gradient', () => {
    const layout = paramLayout([10, 8, 3]);
    const rng = Rng.fromSeed(7);
    const p = new Float32Array(layout.count);
    heInit(p, layout, rng);
    const g = new Float32Array(layout.count);
    const x = Float32Array.from({ length: 3 * 10 }, () => rng.uniform());
    const labels = [2, 0, 1];
    const s = createMlpScratch(layout, 3);
    const before = mlpLossAndGrad(layerViews(p, layout), layerViews(g, layout), x, labels, 0, 3, 0, s).loss;
    let i = 0; // the first layer's weight with the largest gradient
    for (let k = 1; k < 10 * 8; k++) if (Math.abs(g[k]) > Math.abs(g[i])) i = k;
    const keep = p[i];
    const h = 1e-3;
    const tmp = new Float32Array(layout.count);
    p[i] = keep + h;
    const up = mlpLossAndGrad(layerViews(p, layout), layerViews(tmp, layout), x, labels, 0, 3, 0, s).loss / 3;
    p[i] = keep - h;
    const down = mlpLossAndGrad(layerViews(p, layout), layerViews(tmp, layout), x, labels, 0, 3, 0, s).loss / 3;
    p[i] = keep;
    expect(Math.abs((up - down) / (2 * h) - g[i]) / Math.abs(g[i])).toBeLessThan(1e-2);
    for (let k = 0; k < p.length; k++) p[k] -= 0.1 * g[k];
    expect(mlpLossAndGrad(layerViews(p, layout), layerViews(tmp, layout), x, labels, 0, 3, 0, s).loss).toBeLessThan(
      before,
    );
  });
});

describe('Adam', () => {
  it('takes the first two steps computed by hand (bias correction included)', () => {
    const p = new Float32Array([1, -2, 0.5]);
    const m = new Float32Array(3);
    const v = new Float32Array(3);
    adamStep(p, new Float32Array([0.1, -0.2, 0]), m, v, 0.01, 1);
    // m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g²: each step is lr · g / (|g| + ε); a zero gradient moves nothing.
    [0.01, -0.02, 0].forEach((x, i) => expect(m[i]).toBeCloseTo(x, 9));
    [1e-5, 4e-5, 0].forEach((x, i) => expect(v[i]).toBeCloseTo(x, 11));
    expect(p[0]).toBeCloseTo(0.990000001, 7);
    expect(p[1]).toBeCloseTo(-1.9900000005, 7);
    expect(p[2]).toBe(0.5);
    adamStep(p, new Float32Array([0.3, 0.1, -0.5]), m, v, 0.01, 2);
    // m = 0.9 m + 0.1 g = [0.039, -0.008, -0.05]; v = 0.999 v + 0.001 g² = [9.999e-5, 4.996e-5, 2.5e-4];
    // m̂ = m / 0.19, v̂ = v / 0.001999; step = 0.01 m̂ / (sqrt v̂ + ε) = [0.0091778108, -0.0026633702, -0.0074413680].
    expect(m[0]).toBeCloseTo(0.039, 8);
    expect(m[1]).toBeCloseTo(-0.008, 8);
    expect(v[0]).toBeCloseTo(9.999e-5, 10);
    expect(v[2]).toBeCloseTo(2.5e-4, 10);
    expect(p[0]).toBeCloseTo(0.9808221902, 6);
    expect(p[1]).toBeCloseTo(-1.9873366303, 6);
    expect(p[2]).toBeCloseTo(0.507441368, 6);
  });
});

describe('learning-rate schedules', () => {
  const cos = { name: 'cosine' as const, base: 0.002, warmupSteps: 10, totalSteps: 110 };
  it('warm up linearly, then decay by a per-step cosine to 0', () => {
    expect(learningRate(cos, 0)).toBeCloseTo(0.0002, 12);
    expect(learningRate(cos, 9)).toBeCloseTo(0.002, 12);
    expect(learningRate(cos, 10)).toBeCloseTo(0.002, 12);
    expect(learningRate(cos, 60)).toBeCloseTo(0.001, 12);
    expect(learningRate(cos, 110)).toBeCloseTo(0, 12);
    for (let s = 11; s < 110; s++) expect(learningRate(cos, s)).toBeLessThan(learningRate(cos, s - 1));
  });
  it('constant stays at its base after the warm-up', () => {
    const c = { name: 'constant' as const, base: 0.001, warmupSteps: 0, totalSteps: 50 };
    expect([0, 25, 49].map((s) => learningRate(c, s))).toEqual([0.001, 0.001, 0.001]);
  });
});

describe('augmentation', () => {
  const img = new Uint8Array(PIXELS);
  img[10 * SIDE + 12] = 255; // one bright pixel at row 10, column 12
  img[14 * SIDE + 14] = 51;
  const out = new Float32Array(PIXELS);
  const at = (r: number, c: number) => out[r * SIDE + c];

  it('the identity keeps every pixel (scaled to [0, 1])', () => {
    augmentImage(out, 0, img, 0, new Float64Array([0, 0, 1, 0]), 0);
    expect(at(10, 12)).toBe(1);
    expect(at(14, 14)).toBe(Math.fround(0.2));
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1.2, 6);
  });
  it('an integer shift moves pixels and fills with 0', () => {
    augmentImage(out, 0, img, 0, new Float64Array([-2, 3, 1, 0]), 0);
    expect(at(13, 10)).toBe(1);
    expect(at(10, 12)).toBe(0);
    const edge = new Uint8Array(PIXELS).fill(9);
    augmentImage(out, 0, edge, 0, new Float64Array([1, 0, 1, 0]), 0);
    expect(at(5, 0)).toBe(0); // shifted right: column 0 has no source
    expect(at(5, 1)).toBe(Math.fround(9 / 255));
  });
  it('a 90° rotation about the centre maps (r, c) to (c, 27 - r), exactly', () => {
    augmentImage(out, 0, img, 0, new Float64Array([0, 0, Math.cos(Math.PI / 2), Math.sin(Math.PI / 2)]), 0);
    expect(at(12, 17)).toBeCloseTo(1, 6);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1.2, 5);
  });
  it('a zoom samples bilinearly between pixels', () => {
    const ramp = new Uint8Array(PIXELS);
    for (let r = 0; r < SIDE; r++) for (let c = 0; c < SIDE; c++) ramp[r * SIDE + c] = c * 9;
    augmentImage(out, 0, ramp, 0, new Float64Array([0, 0, 1 / 2, 0]), 0); // zoom x2: source = 13.5 + (x - 13.5) / 2
    expect(at(5, 13) * 255).toBeCloseTo(13.25 * 9, 3);
    expect(at(5, 20) * 255).toBeCloseTo(16.75 * 9, 3);
  });
  it('draws shifts in [-shift, shift] and rotations/zooms within range, four PRNG draws per image', () => {
    const rng = Rng.fromSeed(3);
    const t = new Float64Array(AUG_STRIDE);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      drawAugment(rng, { shift: 2, rotate: 10, zoom: 0.1 }, t, 0);
      seen.add(t[0]);
      const scale = 1 / Math.hypot(t[2], t[3]);
      const deg = (Math.atan2(t[3], t[2]) * 180) / Math.PI;
      expect(scale).toBeGreaterThanOrEqual(0.9 - 1e-12);
      expect(scale).toBeLessThanOrEqual(1.1 + 1e-12);
      expect(Math.abs(deg)).toBeLessThanOrEqual(10 + 1e-9);
    }
    expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2]);
    const a = Rng.fromSeed(9);
    const b = Rng.fromSeed(9);
    drawAugment(a, { shift: 0, rotate: 0, zoom: 0 }, t, 0);
    for (let i = 0; i < 4; i++) b.nextU32();
    expect(a.state()).toEqual(b.state());
  });
});

describe('PRNG', () => {
  it('is reproducible, round-trips its state, and differs by seed', () => {
    const a = Rng.fromSeed(1);
    const first = [a.nextU32(), a.nextU32()];
    expect([Rng.fromSeed(1).nextU32()]).toEqual([first[0]]);
    const saved = a.state();
    const x = [a.uniform(), a.normal(), a.int(10)];
    const b = Rng.fromState(saved);
    expect([b.uniform(), b.normal(), b.int(10)]).toEqual(x);
    expect(Rng.fromSeed(2).nextU32()).not.toBe(first[0]);
    const perm = Int32Array.from({ length: 100 }, (_, i) => i);
    a.shuffle(perm);
    expect(Array.from(perm).sort((p, q) => p - q)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
  it('gives normals with mean 0 and variance 1', () => {
    const r = Rng.fromSeed(5);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});

describe('checkpoint format', () => {
  const ck: Checkpoint = {
    config: {
      epochs: 2,
      batch: 8,
      lr: 0.002,
      schedule: 'cosine',
      warmup: 0.2,
      labelSmoothing: 0.1,
      hidden: [4],
      shift: 1,
      rotate: 10,
      zoom: 0.1,
      seed: 3,
      limit: 40,
      val: 8,
    },
    dataset: { 'train-images-idx3-ubyte': 'ab' },
    paramCount: 5,
    progress: {
      epoch: 1,
      orderDrawn: true,
      stepInEpoch: 2,
      step: 6,
      rng: [1, 2, 3, 4294967295],
      epochLoss: 1.5,
      epochCorrect: 3,
      epochSeen: 16,
      history: { loss: [2], trainAccuracy: [0.5], valAccuracy: [0.25], lr: [0.002] },
    },
    state: Float32Array.from({ length: 15 }, (_, i) => i / 7),
    order: Int32Array.from({ length: 32 }, (_, i) => 31 - i),
  };
  it('round-trips every field and number exactly', () => {
    const back = decodeCheckpoint(encodeCheckpoint(ck), 'x.ckpt');
    expect(back.config).toEqual(ck.config);
    expect(back.progress).toEqual(ck.progress);
    expect(Array.from(back.state)).toEqual(Array.from(ck.state));
    expect(Array.from(back.order!)).toEqual(Array.from(ck.order!));
  });
  it('rejects truncation, a flipped bit and a foreign file with exit code 3, naming the file', () => {
    const bytes = encodeCheckpoint(ck);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40] ^= 1;
    for (const [b, msg] of [
      [bytes.subarray(0, bytes.length - 5), /checksum/],
      [flipped, /checksum/],
      [Buffer.from('{"format":"digitkit-mlp"}'), /bad magic/],
    ] as const) {
      let err: unknown;
      try {
        decodeCheckpoint(b, 'x.ckpt');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DigitkitError);
      expect((err as DigitkitError).code).toBe(3);
      expect((err as Error).message).toMatch(/^x\.ckpt: /);
      expect((err as Error).message).toMatch(msg);
    }
  });
});

describe('augmentation draws for other inputs', () => {
  it('with flip an image takes a fifth draw and about half are mirrored; a vector takes one normal per feature, only with noise', () => {
    const t = new Float64Array(AUG_STRIDE);
    const a = Rng.fromSeed(9);
    const b = Rng.fromSeed(9);
    let flipped = 0;
    for (let i = 0; i < 1000; i++) {
      drawAugment(a, { shift: 1, rotate: 0, zoom: 0, flip: true }, t, 0);
      for (let k = 0; k < 5; k++) b.nextU32();
      flipped += t[4];
    }
    expect(a.state()).toEqual(b.state());
    expect(flipped).toBeGreaterThan(450);
    expect(flipped).toBeLessThan(550);
    const v = new Float64Array(13);
    const r = Rng.fromSeed(2);
    const before = r.state();
    drawAugment(r, { shift: 0, rotate: 0, zoom: 0 }, v, 0, { kind: 'vector', size: 13 });
    expect(r.state()).toEqual(before);
    expect(Array.from(v).every((x) => x === 0)).toBe(true);
    const draws: number[] = [];
    for (let i = 0; i < 400; i++) {
      drawAugment(r, { shift: 0, rotate: 0, zoom: 0, noise: 0.5 }, v, 0, { kind: 'vector', size: 13 });
      draws.push(...v);
    }
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.02);
  });
});
