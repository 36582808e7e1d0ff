// The fast wasm SIMD kernels against their plain TypeScript references, on random shapes including
// the edges (one image, a last partial batch, odd widths, empty rows), and the fast engine against
// the reference engine on whole training steps.
import { describe, expect, it } from 'vitest';
import { adamStep } from '../src/train/adam.js';
import { addNoise, AUG_STRIDE, augmentImage, drawAugment, PIXELS } from '../src/train/augment.js';
import { MNIST_INPUT, type Engine, type SampleSet, type TrainInput } from '../src/train/engine.js';
import { createReferenceEngine } from '../src/train/reference-engine.js';
import { linearBackward, linearForward, softmaxCrossEntropy } from '../src/train/layers.js';
import { heInit } from '../src/train/params.js';
import { createFastEngine } from '../src/train/fast-engine.js';
import { Rng } from '../src/train/rng.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { kernelMemory, relDiff } from './helpers/kernel-memory.js';
import { wine } from './helpers/sklearn-csv.js';

// One small memory for the kernel-level tests, carved by a bump allocator.
const { k, buf, alloc, reset, f32, i32 } = kernelMemory();

const rng = Rng.fromSeed(11);
const randArray = (n: number, zeros = 0) =>
  Float32Array.from({ length: n }, () => (rng.uniform() < zeros ? 0 : rng.normal()));

const WIDTHS = [1, 3, 4, 5, 10, 31, 32, 33, 63, 64, 127, 128];

describe('combineRows (wasm SIMD) against the reference linear kernels', () => {
  it('forward over the nonzero inputs = linearForward, for odd and even widths', () => {
    for (const inDim of [1, 7, 784]) {
      for (const outDim of WIDTHS) {
        reset();
        const x = randArray(inDim, 0.6);
        const w = randArray(inDim * outDim);
        const b = randArray(outDim);
        const ref = new Float32Array(outDim);
        linearForward(ref, x, w, b, 1, inDim, outDim);
        const W = alloc(w.length * 4);
        f32(W, w.length).set(w);
        const B = alloc(outDim * 4);
        f32(B, outDim).set(b);
        const nz = Array.from(x.keys()).filter((i) => x[i] !== 0);
        const I = alloc(nz.length * 4);
        i32(I, nz.length).set(nz);
        const V = alloc(nz.length * 4);
        f32(V, nz.length).set(nz.map((i) => x[i]));
        const O = alloc(outDim * 4);
        k.combineRows(O, B, W, I, V, nz.length, outDim);
        expect(relDiff(f32(O, outDim), ref), `${inDim}x${outDim}`).toBeLessThan(1e-5);
      }
    }
  });

  it('weight-gradient rows over a batch (1, a partial 37, 128 images) = linearBackward dW and db; input gradient through Wᵀ = dInp', () => {
    for (const n of [1, 37, 128]) {
      for (const [inDim, outDim] of [
        [5, 3],
        [33, 10],
        [128, 64],
        [64, 127],
      ]) {
        reset();
        const x = randArray(n * inDim, 0.5);
        const dOut = randArray(n * outDim, 0.3);
        const w = randArray(inDim * outDim);
        const dW = new Float32Array(inDim * outDim);
        const db = new Float32Array(outDim);
        const dIn = new Float32Array(n * inDim);
        linearBackward(dIn, dW, db, dOut, x, w, n, inDim, outDim);
        const D = alloc(dOut.length * 4);
        f32(D, dOut.length).set(dOut);
        const I = alloc(n * 4);
        const V = alloc(n * 4);
        const G = alloc(outDim * 4);
        const got = new Float32Array(inDim * outDim);
        for (let i = 0; i < inDim; i++) {
          let c = 0;
          for (let r = 0; r < n; r++)
            if (x[r * inDim + i] !== 0) {
              i32(I, n)[c] = r;
              f32(V, n)[c] = x[r * inDim + i];
              c++;
            }
          k.combineRows(G, 0, D, I, V, c, outDim);
          got.set(f32(G, outDim), i * outDim);
        }
        expect(relDiff(got, dW), `dW n=${n} ${inDim}x${outDim}`).toBeLessThan(1e-5);
        i32(I, n).set(Array.from({ length: n }, (_, r) => r));
        f32(V, n).fill(1);
        k.combineRows(G, 0, D, I, V, n, outDim);
        expect(relDiff(f32(G, outDim), db), `db n=${n}`).toBeLessThan(1e-5);
        // input gradient of one image through the transposed weights, over its nonzero deltas
        const WT = alloc(inDim * outDim * 4);
        for (let i = 0; i < inDim; i++)
          for (let j = 0; j < outDim; j++) f32(WT, inDim * outDim)[j * inDim + i] = w[i * outDim + j];
        const r = n - 1;
        const nz = Array.from({ length: outDim }, (_, j) => j).filter((j) => dOut[r * outDim + j] !== 0);
        i32(I, n).set(nz.slice(0, n));
        const I2 = alloc(outDim * 4);
        i32(I2, nz.length).set(nz);
        const V2 = alloc(outDim * 4);
        f32(V2, nz.length).set(nz.map((j) => dOut[r * outDim + j]));
        const O = alloc(inDim * 4);
        k.combineRows(O, 0, WT, I2, V2, nz.length, inDim);
        expect(relDiff(f32(O, inDim), dIn.subarray(r * inDim, (r + 1) * inDim)), `dIn n=${n}`).toBeLessThan(1e-5);
      }
    }
  });

  it('a row with no contributions is exactly the initial value (bias) or zero', () => {
    reset();
    const B = alloc(40 * 4);
    f32(B, 33).set(randArray(33));
    const O = alloc(40 * 4);
    k.combineRows(O, B, 0, 0, 0, 0, 33);
    expect(Array.from(f32(O, 33))).toEqual(Array.from(f32(B, 33)));
    k.combineRows(O, 0, 0, 0, 0, 0, 33);
    expect(Array.from(f32(O, 33)).every((v) => v === 0)).toBe(true);
  });
});

describe('the other fast kernels against their references', () => {
  it('adamRow = adamStep over several steps (odd length)', () => {
    reset();
    const n = 37;
    const p = randArray(n),
      m = new Float32Array(n),
      v = new Float32Array(n);
    const P = alloc(n * 4),
      M = alloc(n * 4),
      V = alloc(n * 4),
      G = alloc(n * 4);
    f32(P, n).set(p);
    f32(M, n).fill(0);
    f32(V, n).fill(0);
    for (let t = 1; t <= 5; t++) {
      const g = randArray(n, 0.2);
      adamStep(p, g, m, v, 0.01, t);
      f32(G, n).set(g);
      k.adamRow(P, M, V, G, n, 0.01 / (1 - 0.9 ** t), 1 / (1 - 0.999 ** t));
    }
    expect(relDiff(f32(P, n), p)).toBeLessThan(1e-6);
    expect(relDiff(f32(M, n), m)).toBeLessThan(1e-6);
    expect(relDiff(f32(V, n), v)).toBeLessThan(1e-6);
  });

  it('adamRow and adamStep both set moments below 1e-30 to 0 (float32 holds them), and keep the others', () => {
    reset();
    // g = 0: a step multiplies m by 0.9 and v by 0.999, so 1.1e-30 falls below 1e-30 and 2e-30 does not.
    const m0 = [1.1e-30, -1.1e-30, 2e-30, -2e-30, 0.5, 1e-31, 0, 3e-7];
    const v0 = [1.0005e-30, 2e-30, 1.0005e-30, 2e-30, 0.25, 1e-31, 0, 1e-30];
    const zeroM = [true, true, false, false, false, true, true, false];
    const zeroV = [true, false, true, false, false, true, true, true];
    const n = m0.length;
    const p = Float32Array.from(m0, (_, i) => i + 1),
      m = Float32Array.from(m0),
      v = Float32Array.from(v0);
    const [P, M, V, G] = [alloc(n * 4), alloc(n * 4), alloc(n * 4), alloc(n * 4)];
    f32(P, n).set(p);
    f32(M, n).set(m);
    f32(V, n).set(v);
    f32(G, n).fill(0);
    adamStep(p, new Float32Array(n), m, v, 0.01, 3);
    k.adamRow(P, M, V, G, n, 0.01 / (1 - 0.9 ** 3), 1 / (1 - 0.999 ** 3));
    for (const [mm, vv] of [
      [m, v],
      [f32(M, n), f32(V, n)],
    ]) {
      expect(Array.from(mm, (x) => x === 0)).toEqual(zeroM);
      expect(Array.from(vv, (x) => x === 0)).toEqual(zeroV);
    }
    // The kept moments are what the formula gives (float32 below 1e-30 would still be nonzero).
    expect(relDiff(m, f32(M, n))).toBeLessThan(1e-6);
    expect(
      relDiff(
        m.filter((x, i) => !zeroM[i]),
        m0.filter((x, i) => !zeroM[i]).map((x) => 0.9 * x),
      ),
    ).toBeLessThan(1e-6);
    expect(Math.fround(1.1e-30 * 0.9)).not.toBe(0);
    expect(relDiff(f32(P, n), p)).toBeLessThan(1e-6);
  });

  it('softmaxXent = softmaxCrossEntropy, to the bit (same float64 steps)', () => {
    reset();
    for (const [kk, s] of [
      [10, 0.1],
      [10, 0],
      [3, 0.5],
      [1, 0],
    ] as const) {
      const z = randArray(kk).map((x) => x * 8);
      const ref = new Float32Array(kk);
      const loss = softmaxCrossEntropy(ref, z, [kk - 1], 0, 1, kk, s, 1 / 37);
      const Z = alloc(kk * 4);
      f32(Z, kk).set(z);
      const D = alloc(kk * 4);
      expect(k.softmaxXent(D, Z, kk - 1, kk, s, 1 / 37, alloc(kk * 8))).toBe(loss);
      expect(Array.from(f32(D, kk))).toEqual(Array.from(ref));
      expect(k.argmax(Z, kk)).toBe(Array.from(z).indexOf(Math.max(...z)));
    }
  });

  it('extract (augment + sparse) = augmentImage on real digits, to the bit, with rowStart marking each output row', async () => {
    const { test } = await loadMnist(embeddedMnistDir(), ['t10k']);
    reset();
    const SRC = alloc(PIXELS),
      BOX = alloc(4),
      T = alloc(32),
      IDX = alloc(PIXELS * 4),
      VAL = alloc(PIXELS * 4),
      RS = alloc(29 * 4),
      PADB = alloc(2048);
    const t = new Float64Array(buf, T, 4);
    const dense = new Float32Array(PIXELS);
    const images: Uint8Array[] = [new Uint8Array(PIXELS), new Uint8Array(PIXELS).fill(255)];
    const corner = new Uint8Array(PIXELS);
    corner[0] = 200;
    corner[PIXELS - 1] = 9;
    corner[27] = 1;
    images.push(corner);
    for (let i = 0; i < 60; i++) images.push(test!.images.subarray(i * PIXELS, (i + 1) * PIXELS));
    let checked = 0;
    for (const img of images) {
      new Uint8Array(buf, SRC, PIXELS).set(img);
      k.imageBox(SRC, BOX);
      for (let trial = 0; trial < 12; trial++) {
        const shift = trial % 3 === 0 ? 0 : rng.int(5) - 2;
        const theta = trial < 2 ? 0 : (rng.uniform() * 2 - 1) * (trial % 4 === 0 ? Math.PI : 0.3);
        const scale = trial < 2 ? 1 : 1 + (rng.uniform() * 2 - 1) * 0.5;
        t.set([shift, rng.int(5) - 2, Math.cos(theta) / scale, Math.sin(theta) / scale]);
        augmentImage(dense, 0, img, 0, t, 0);
        const nnz = k.extract(IDX, VAL, RS, SRC, BOX, T, PADB);
        const got = new Float32Array(PIXELS);
        const idx = i32(IDX, nnz),
          val = f32(VAL, nnz),
          rs = i32(RS, 29);
        for (let q = 0; q < nnz; q++) got[idx[q]] = val[q];
        const same = Buffer.from(got.buffer).equals(Buffer.from(dense.buffer));
        if (!same) expect(Array.from(got)).toEqual(Array.from(dense)); // shows where
        expect(nnz).toBe(dense.filter((x) => x !== 0).length);
        let ordered = true;
        for (let q = 1; q < nnz; q++) ordered &&= idx[q] > idx[q - 1];
        for (let y = 0; y < 28; y++) for (let q = rs[y]; q < rs[y + 1]; q++) ordered &&= Math.floor(idx[q] / 28) === y;
        expect(ordered).toBe(true);
        expect(rs[28]).toBe(nnz);
        checked++;
      }
    }
    expect(checked).toBe(63 * 12);
  });
});

describe('the fast engine against the reference engine', () => {
  const mnist = loadMnist(embeddedMnistDir());
  async function engines(sizes: number[], maxBatch: number, threads: number, smoothing = 0.1) {
    const { train, test } = await mnist;
    const set = (s: typeof train, n: number): SampleSet => ({
      inputs: s!.images.subarray(0, n * PIXELS),
      labels: s!.labels.subarray(0, n),
      count: n,
    });
    const o = { sizes, maxBatch, smoothing, input: MNIST_INPUT, train: set(train, 600), test: set(test, 500) };
    return [createReferenceEngine(o), await createFastEngine(o, threads)] as const;
  }
  function sameStart(a: Engine, b: Engine, seed: number) {
    const r = Rng.fromSeed(seed);
    heInit(a.params, a.layout, r);
    b.state.set(a.state);
    a.paramsChanged();
    b.paramsChanged();
    for (let i = 0; i < a.order.length; i++) a.order[i] = b.order[i] = (i * 7919) % a.order.length;
  }
  function draw(a: Engine, b: Engine, n: number, seed: number, augment: boolean) {
    const r = Rng.fromSeed(seed);
    for (let i = 0; i < n; i++) {
      const th = augment ? (r.uniform() * 2 - 1) * 0.2 : 0;
      const s = augment ? 1 + (r.uniform() * 2 - 1) * 0.1 : 1;
      const t = [r.int(3) - 1, r.int(3) - 1, Math.cos(th) / s, Math.sin(th) / s];
      a.aug.set(t, i * AUG_STRIDE);
      b.aug.set(t, i * AUG_STRIDE);
    }
  }

  it.each([
    [[784, 128, 64, 10], 128, 128, 2],
    [[784, 128, 64, 10], 64, 37, 2], // a last partial batch
    [[784, 33, 7, 10], 16, 1, 3], // one image, odd widths
    [[784, 5, 10], 8, 8, 1], // a single hidden layer
    [[784, 12, 10], 40, 37, 2], // more images than units in a layer
  ])(
    'sizes %j, batch %i (n = %i), %i thread(s): same gradient (Adam m = 0.1 g), loss and accuracy; close after 6 steps',
    async (sizes, maxBatch, n, threads) => {
      const [ref, fast] = await engines(sizes, maxBatch, threads);
      try {
        sameStart(ref, fast, 5);
        draw(ref, fast, n, 6, true);
        const P = ref.layout.count;
        const a = ref.trainStep(0, n, 0.001, 1);
        const b = fast.trainStep(0, n, 0.001, 1);
        expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-5);
        expect(b.correct).toBe(a.correct);
        expect(relDiff(fast.state.subarray(P, 2 * P), ref.state.subarray(P, 2 * P))).toBeLessThan(1e-4);
        for (let t = 2; t <= 6; t++) {
          draw(ref, fast, n, 6 + t, t % 2 === 0);
          ref.trainStep((t * n) % (600 - n), n, 0.001, t);
          fast.trainStep((t * n) % (600 - n), n, 0.001, t);
        }
        expect(relDiff(fast.params, ref.params)).toBeLessThan(1e-4);
        expect(Math.abs(fast.evaluate('test', 0, 500) - ref.evaluate('test', 0, 500))).toBeLessThanOrEqual(1);
        expect(Math.abs(fast.evaluate('train', 100, 300) - ref.evaluate('train', 100, 300))).toBeLessThanOrEqual(1);
      } finally {
        await fast.close();
      }
    },
  );

  it('gives the same bits with 1, 2 or 3 threads', async () => {
    const states: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const [ref, fast] = await engines([784, 40, 24, 10], 50, threads);
      try {
        sameStart(ref, fast, 8);
        for (let t = 1; t <= 4; t++) {
          draw(ref, fast, 50, t, true);
          fast.trainStep(t * 50, 50, 0.002, t);
        }
        states.push(fast.state.slice());
      } finally {
        await fast.close();
      }
    }
    expect(Buffer.from(states[1].buffer).equals(Buffer.from(states[0].buffer))).toBe(true);
    expect(Buffer.from(states[2].buffer).equals(Buffer.from(states[0].buffer))).toBe(true);
  });
});

describe('other inputs: images of any shape, vectors', () => {
  // Real data made into other shapes: 12x10 crops of MNIST digits in three channels (the digit, its
  // negative, the digit shifted), and the UCI wine measurements (13 standardised features, 3 classes).
  const mnist = loadMnist(embeddedMnistDir());
  const COLOR: TrainInput = { kind: 'image', width: 10, height: 12, channels: 3 };
  function colorCrops(images: Uint8Array, count: number): Uint8Array {
    const out = new Uint8Array(count * 360);
    for (let i = 0; i < count; i++)
      for (let y = 0; y < 12; y++)
        for (let x = 0; x < 10; x++) {
          const d = (r: number, c: number) => images[i * PIXELS + r * 28 + c];
          const o = (i * 120 + y * 10 + x) * 3;
          out[o] = d(y + 8, x + 9);
          out[o + 1] = 255 - d(y + 8, x + 9);
          out[o + 2] = d(y + 6, x + 11);
        }
    return out;
  }
  function wineSet(): { train: SampleSet; test: SampleSet } {
    const { x, y } = wine();
    const order = Array.from(x.keys()).sort((a, b) => ((a * 7919) % 178) - ((b * 7919) % 178));
    const mean = x[0].map((_, j) => x.reduce((s, r) => s + r[j], 0) / x.length);
    const std = x[0].map((_, j) => Math.sqrt(x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / x.length));
    const set = (rows: number[]): SampleSet => ({
      inputs: Float32Array.from(rows.flatMap((r) => x[r].map((v, j) => (v - mean[j]) / std[j]))),
      labels: Uint8Array.from(rows.map((r) => y[r])),
      count: rows.length,
    });
    return { train: set(order.slice(0, 140)), test: set(order.slice(140)) };
  }

  it('extractImage (the general path) = augmentImage on every shape, flipped or not, to the bit', async () => {
    const { test } = await mnist;
    reset();
    const shapes = [
      { width: 28, height: 28, channels: 1 },
      { width: 10, height: 12, channels: 3 },
      { width: 31, height: 17, channels: 3 },
      { width: 5, height: 3, channels: 1 },
    ];
    const SRC = alloc(31 * 28 * 3),
      T = alloc(40),
      IDX = alloc(28 * 31 * 3 * 4),
      VAL = alloc(28 * 31 * 3 * 4),
      RS = alloc(32 * 4);
    const t = new Float64Array(buf, T, 5);
    let checked = 0;
    for (const shape of shapes) {
      const size = shape.width * shape.height * shape.channels;
      const dense = new Float32Array(size);
      for (let i = 0; i < 12; i++) {
        // the digit's pixels in order, cycling, with a blank stretch: sparse and dense regions
        const img = Uint8Array.from({ length: size }, (_, p) =>
          p % 97 < 20 ? 0 : test!.images[i * PIXELS + (p % PIXELS)],
        );
        new Uint8Array(buf, SRC, size).set(img);
        for (let trial = 0; trial < 10; trial++) {
          const th = trial < 4 ? 0 : (rng.uniform() * 2 - 1) * 0.4;
          const s = trial < 4 ? 1 : 1 + (rng.uniform() * 2 - 1) * 0.3;
          t.set([rng.int(7) - 3, rng.int(7) - 3, Math.cos(th) / s, Math.sin(th) / s, trial % 2]);
          augmentImage(dense, 0, img, 0, t, 0, shape);
          const nnz = k.extractImage(IDX, VAL, RS, SRC, T, shape.width, shape.height, shape.channels);
          const got = new Float32Array(size);
          const idx = i32(IDX, nnz),
            val = f32(VAL, nnz),
            rs = i32(RS, shape.height + 1);
          for (let q = 0; q < nnz; q++) got[idx[q]] = val[q];
          if (!Buffer.from(got.buffer).equals(Buffer.from(dense.buffer)))
            expect(Array.from(got)).toEqual(Array.from(dense));
          expect(nnz).toBe(dense.filter((v) => v !== 0).length);
          const row = shape.width * shape.channels;
          let ordered = true;
          for (let q = 1; q < nnz; q++) ordered &&= idx[q] > idx[q - 1];
          for (let y = 0; y < shape.height; y++)
            for (let q = rs[y]; q < rs[y + 1]; q++) ordered &&= Math.floor(idx[q] / row) === y;
          expect(ordered).toBe(true);
          expect(rs[shape.height]).toBe(nnz);
          checked++;
        }
      }
    }
    expect(checked).toBe(4 * 12 * 10);
  });

  it('a flip mirrors each row, and a shifted flip mirrors the shifted image (channels kept together)', () => {
    const shape = { width: 4, height: 2, channels: 2 };
    const img = Uint8Array.from({ length: 16 }, (_, i) => i * 10);
    const out = new Float32Array(16);
    augmentImage(out, 0, img, 0, new Float64Array([0, 0, 1, 0, 1]), 0, shape);
    // row 0 pixels (0,10) (20,30) (40,50) (60,70) mirrored: (60,70) (40,50) (20,30) (0,10)
    expect(Array.from(out.subarray(0, 8), (v) => Math.round(v * 255))).toEqual([60, 70, 40, 50, 20, 30, 0, 10]);
    augmentImage(out, 0, img, 0, new Float64Array([1, 0, 1, 0, 1]), 0, shape);
    // row 1 shifted right by one: 0 (80,90) (100,110) (120,130); mirrored
    expect(Array.from(out.subarray(8, 16), (v) => Math.round(v * 255))).toEqual([120, 130, 100, 110, 80, 90, 0, 0]);
  });

  it('extractVector = addNoise to the bit, with rowStart per block of features', () => {
    reset();
    for (const [size, block] of [
      [13, 32],
      [45, 32],
      [64, 16],
      [1, 32],
    ]) {
      const x = randArray(size, 0.2);
      const noise = Float64Array.from({ length: size }, () => 0.1 * rng.normal());
      const want = new Float32Array(size);
      addNoise(want, 0, x, 0, noise, 0, size);
      const SRC = alloc(size * 4),
        N = alloc(size * 8),
        IDX = alloc(size * 4),
        VAL = alloc(size * 4),
        RS = alloc((size / block + 2) * 4);
      f32(SRC, size).set(x);
      new Float64Array(buf, N, size).set(noise);
      for (const withNoise of [true, false]) {
        const nnz = k.extractVector(IDX, VAL, RS, SRC, withNoise ? N : 0, size, block);
        const got = new Float32Array(size);
        for (let q = 0; q < nnz; q++) got[i32(IDX, nnz)[q]] = f32(VAL, nnz)[q];
        expect(Array.from(got)).toEqual(Array.from(withNoise ? want : x));
        const blocks = Math.ceil(size / block);
        const rs = i32(RS, blocks + 1);
        expect(rs[blocks]).toBe(nnz);
        for (let b = 0; b < blocks; b++)
          for (let q = rs[b]; q < rs[b + 1]; q++) expect(Math.floor(i32(IDX, nnz)[q] / block)).toBe(b);
      }
    }
  });

  async function pair(input: TrainInput, sizes: number[], maxBatch: number, threads: number) {
    const { train, test } = await mnist;
    let o;
    if (input.kind === 'vector') o = { sizes, maxBatch, smoothing: 0.1, input, ...wineSet() };
    else {
      const set = (s: typeof train, n: number): SampleSet => ({
        inputs: colorCrops(s!.images, n),
        labels: s!.labels.subarray(0, n),
        count: n,
      });
      o = { sizes, maxBatch, smoothing: 0.1, input, train: set(train, 300), test: set(test, 200) };
    }
    return [createReferenceEngine(o), await createFastEngine(o, threads)] as const;
  }

  it.each([
    ['a 10x12x3 image', COLOR, [360, 33, 10], 32, 2, { shift: 2, rotate: 0, zoom: 0, flip: true }],
    ['a 10x12x3 image, rotated and zoomed', COLOR, [360, 20, 12, 10], 16, 3, { shift: 1, rotate: 15, zoom: 0.1 }],
    ['MNIST digits, some flipped', MNIST_INPUT, [784, 24, 10], 32, 2, { shift: 1, rotate: 10, zoom: 0.1, flip: true }],
    [
      'a vector with noise',
      { kind: 'vector', size: 13 } as TrainInput,
      [13, 40, 3],
      32,
      2,
      { shift: 0, rotate: 0, zoom: 0, noise: 0.3 },
    ],
    [
      'a vector without noise',
      { kind: 'vector', size: 13 } as TrainInput,
      [13, 8, 3],
      7,
      1,
      { shift: 0, rotate: 0, zoom: 0 },
    ],
  ] as const)(
    '%s: the fast engine follows the reference (loss, accuracy, Adam moments, parameters after 8 steps)',
    async (_name, input, sizes, batch, threads, cfg) => {
      const [ref, fast] = await (input === MNIST_INPUT
        ? (async () => {
            const { train, test } = await mnist;
            const set = (s: typeof train, n: number): SampleSet => ({
              inputs: s!.images.subarray(0, n * PIXELS),
              labels: s!.labels.subarray(0, n),
              count: n,
            });
            const o = {
              sizes: [...sizes],
              maxBatch: batch,
              smoothing: 0.1,
              input,
              train: set(train, 300),
              test: set(test, 200),
            };
            return [createReferenceEngine(o), await createFastEngine(o, threads)] as const;
          })()
        : pair(input, [...sizes], batch, threads));
      try {
        heInit(ref.params, ref.layout, Rng.fromSeed(4));
        fast.state.set(ref.state);
        ref.paramsChanged();
        fast.paramsChanged();
        const count = ref.order.length;
        for (let i = 0; i < count; i++) ref.order[i] = fast.order[i] = (i * 101) % count;
        const P = ref.layout.count;
        const r = Rng.fromSeed(5);
        for (let t = 1; t <= 8; t++) {
          for (let i = 0; i < batch; i++) drawAugment(r, cfg, ref.aug, i * ref.augStride, input);
          fast.aug.set(ref.aug);
          const from = ((t - 1) * batch) % (count - batch);
          const a = ref.trainStep(from, batch, 0.002, t);
          const b = fast.trainStep(from, batch, 0.002, t);
          expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-5);
          expect(Math.abs(a.correct - b.correct)).toBeLessThanOrEqual(t === 1 ? 0 : 1);
          if (t === 1) expect(relDiff(fast.state.subarray(P, 2 * P), ref.state.subarray(P, 2 * P))).toBeLessThan(1e-4);
        }
        expect(relDiff(fast.params, ref.params)).toBeLessThan(1e-4);
        const n = input.kind === 'vector' ? 38 : 200;
        expect(Math.abs(fast.evaluate('test', 0, n) - ref.evaluate('test', 0, n))).toBeLessThanOrEqual(1);
        expect(Math.abs(fast.evaluate('train', 10, 100) - ref.evaluate('train', 10, 100))).toBeLessThanOrEqual(1);
      } finally {
        await fast.close();
      }
    },
  );

  it('gives the same bits with 1 or 3 threads for an RGB image and a vector input', async () => {
    for (const [input, sizes] of [
      [COLOR, [360, 40, 10]],
      [{ kind: 'vector', size: 13 }, [13, 40, 3]],
    ] as [TrainInput, number[]][]) {
      const states: Float32Array[] = [];
      for (const threads of [1, 3]) {
        const [ref, fast] = await pair(input, sizes, 24, threads);
        try {
          heInit(fast.params, fast.layout, Rng.fromSeed(8));
          fast.paramsChanged();
          for (let i = 0; i < fast.order.length; i++) fast.order[i] = i;
          const r = Rng.fromSeed(9);
          const cfg = { shift: 1, rotate: 5, zoom: 0.05, flip: true, noise: 0.2 };
          for (let t = 1; t <= 4; t++) {
            for (let i = 0; i < 24; i++) drawAugment(r, cfg, fast.aug, i * fast.augStride, input);
            fast.trainStep(t * 24, 24, 0.002, t);
          }
          states.push(fast.state.slice());
          expect(ref.augStride).toBe(fast.augStride);
        } finally {
          await fast.close();
        }
      }
      expect(Buffer.from(states[1].buffer).equals(Buffer.from(states[0].buffer))).toBe(true);
    }
  });

  it("refuses samples that do not fit the network (the trainer's shape check)", async () => {
    const { train } = await mnist;
    const o = {
      sizes: [784, 10, 10],
      maxBatch: 8,
      smoothing: 0,
      input: COLOR,
      train: { inputs: colorCrops(train!.images, 20), labels: train!.labels.subarray(0, 20), count: 20 },
    };
    expect(() => createReferenceEngine(o)).toThrow('the network takes 784 inputs, the samples have 360 values each');
    await expect(createFastEngine(o, 1)).rejects.toThrow('the network takes 784 inputs');
    const v = { ...o, sizes: [13, 4, 3], input: { kind: 'vector', size: 13 } as TrainInput };
    expect(() => createReferenceEngine(v)).toThrow(
      'the training samples are a Uint8Array, vectors need a Float32Array',
    );
  });
});
