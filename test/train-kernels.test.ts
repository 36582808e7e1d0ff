// The fast wasm SIMD kernels against their plain TypeScript references, on random shapes including
// the edges (one image, a last partial batch, odd widths, empty rows), and the fast engine against
// the reference engine on whole training steps.
import { describe, expect, it } from 'vitest';
import { adamStep } from '../src/train/adam.js';
import { AUG_STRIDE, augmentImage, PIXELS } from '../src/train/augment.js';
import type { Engine, ImageSet } from '../src/train/engine.js';
import { createReferenceEngine } from '../src/train/reference-engine.js';
import { instantiate, kernelModule, WA, type KernelExports } from '../src/train/wasm-loader.js';
import { linearBackward, linearForward, softmaxCrossEntropy } from '../src/train/layers.js';
import { heInit } from '../src/train/params.js';
import { createFastEngine } from '../src/train/fast-engine.js';
import { Rng } from '../src/train/rng.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';

// One small memory for the kernel-level tests, carved by a bump allocator.
const memory = new WA.Memory({ initial: 64, maximum: 64, shared: true });
const k: KernelExports = instantiate(kernelModule(), memory);
const buf = memory.buffer as unknown as ArrayBuffer;
let top = 65536;
const alloc = (bytes: number) => {
  const at = top;
  top += Math.ceil(bytes / 16) * 16 + 16;
  return at;
};
const reset = () => {
  top = 65536;
};
const f32 = (at: number, n: number) => new Float32Array(buf, at, n);
const i32 = (at: number, n: number) => new Int32Array(buf, at, n);

const rng = Rng.fromSeed(11);
const randArray = (n: number, zeros = 0) =>
  Float32Array.from({ length: n }, () => (rng.uniform() < zeros ? 0 : rng.normal()));

/** max |a - b| relative to the largest magnitude involved */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-6;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]), Math.abs(b[i]));
  }
  return d / m;
}

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
    const set = (s: typeof train, n: number): ImageSet => ({
      images: s!.images.subarray(0, n * PIXELS),
      labels: s!.labels.subarray(0, n),
      count: n,
    });
    const o = { sizes, maxBatch, smoothing, train: set(train, 600), test: set(test, 500) };
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
