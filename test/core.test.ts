// The inference core (src/core/index.ts, shipped as dist/core/index.js) against the float64
// reference, on random models of the real shape and on real t10k digits.
import { describe, expect, it } from 'vitest';
import {
  classifyPixels,
  decodeBase64,
  dequantize,
  forward,
  forwardBatch,
  forwardPixels,
  loadModel,
  parseRawModel,
  pixelsToInput,
  type Model,
  type RawModel,
} from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { referenceProbs } from '../src/verify/reference.js';
import { formatModel } from '../src/node/model-file.js';
import { randomLayers, randomModelText, rng } from './helpers/random-model.js';

const { test: t10k } = await loadMnist(embeddedMnistDir(), ['t10k']);
const digit = (i: number) => t10k!.images.subarray(i * 784, (i + 1) * 784);

/** Random 0..255 images, about a fifth of the pixels inked (like MNIST), some fully dense. */
function randomImages(n: number, seed: number): Uint8Array[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, k) =>
    Uint8Array.from({ length: 784 }, () => (k % 10 === 0 || rand() < 0.2 ? Math.floor(rand() * 256) : 0)),
  );
}

function maxDiff(model: Model, raw: RawModel, images: Uint8Array[]): number {
  let max = 0;
  for (const px of images) {
    const got = classifyPixels(model, px).probs;
    const want = referenceProbs(raw, px);
    for (let j = 0; j < want.length; j++) max = Math.max(max, Math.abs(got[j] - want[j]));
  }
  return max;
}

const KINDS = [
  { name: 'int8, one scale per layer', dtype: 'int8', perChannel: false },
  { name: 'int8, per-channel scales', dtype: 'int8', perChannel: true },
  { name: 'float32', dtype: 'float32', perChannel: false },
] as const;

describe.each(KINDS)('core forward vs the float64 reference: $name', ({ dtype, perChannel }) => {
  const text = randomModelText({ dtype, perChannel, seed: 7 });
  const raw = parseRawModel(text, 'random.json');
  const model = loadModel(text, 'random.json');

  it('agrees within 1e-6 (in fact to float64 rounding) on random inputs', () => {
    const d = maxDiff(model, raw, randomImages(60, 3));
    expect(d).toBeLessThanOrEqual(1e-6);
    expect(d).toBeLessThan(1e-12);
  });

  it('agrees within 1e-6 on real t10k digits', () => {
    const d = maxDiff(
      model,
      raw,
      Array.from({ length: 60 }, (_, k) => digit(k * 151)),
    );
    expect(d).toBeLessThanOrEqual(1e-6);
    expect(d).toBeLessThan(1e-12);
  });

  it('forwardBatch gives exactly what forward gives, image by image', () => {
    const n = 25;
    const xs = new Float64Array(n * 784);
    for (let s = 0; s < n; s++) pixelsToInput(model, digit(s), xs.subarray(s * 784, (s + 1) * 784));
    const batch = forwardBatch(model, xs, n);
    for (let s = 0; s < n; s++)
      expect(Array.from(batch.subarray(s * 10, (s + 1) * 10))).toEqual(
        Array.from(forward(model, xs.subarray(s * 784, (s + 1) * 784))),
      );
  });

  it('forwardPixels on a block of raw images gives exactly what classifyPixels gives, image by image', () => {
    const n = 30;
    const block = t10k!.images.subarray(0, n * 784);
    const out = new Float64Array(n * 10).fill(NaN);
    expect(forwardPixels(model, block, out)).toBe(out);
    for (let s = 0; s < n; s++)
      expect(Array.from(out.subarray(s * 10, (s + 1) * 10))).toEqual(Array.from(classifyPixels(model, digit(s)).probs));
    // Any array of numbers will do, and no images at all gives no probabilities.
    expect(Array.from(forwardPixels(model, Array.from(digit(3))))).toEqual(Array.from(out.subarray(30, 40)));
    expect(forwardPixels(model, new Uint8Array(0))).toHaveLength(0);
  });

  it('pixels that are not integers 0..255 (fractions, out of range) still agree with the reference', () => {
    const rand = rng(17);
    const images = Array.from({ length: 12 }, (_, k) =>
      Float64Array.from(digit(k), (p) => (p ? p - rand() * (k < 6 ? 1 : 300) : 0)),
    );
    for (const px of images) {
      const got = forwardPixels(model, px);
      const want = referenceProbs(raw, px);
      for (let j = 0; j < 10; j++) expect(Math.abs(got[j] - want[j])).toBeLessThan(1e-12);
    }
  });
});

describe('the exact integer first layer (int8 models, integer pixels)', () => {
  const packedKind = (text: string) => loadModel(text).packed !== undefined;

  it('is used for int8 models with one scale, an even column count and at most 1036 inputs; never otherwise', () => {
    expect(packedKind(randomModelText({ seed: 2 }))).toBe(true);
    expect(packedKind(randomModelText({ seed: 2, perChannel: true }))).toBe(false);
    expect(packedKind(randomModelText({ seed: 2, dtype: 'float32' }))).toBe(false);
    expect(packedKind(randomModelText({ seed: 2, shape: [784, 7, 10] }))).toBe(false);
    const large = (rows: number) =>
      formatModel({
        dtype: 'int8',
        input: { width: rows, height: 1, scale: 1 / 255 },
        layers: randomLayers({ seed: 2, shape: [rows, 8, 10] }),
        meta: {},
      });
    expect(packedKind(large(1036))).toBe(true);
    expect(packedKind(large(1037))).toBe(false);
  });

  it('stays exact at the largest sums the bound allows (every pixel 255, every weight +-127)', () => {
    // The four lanes (columns j and j + 4) hold every sign combination of the extreme sums.
    const rows = 1036,
      cols = 8;
    const signs = [1, 1, -1, -1, 1, -1, 1, -1];
    const w = Int8Array.from({ length: rows * cols }, (_, k) => 127 * signs[k % cols]);
    const layers = [
      { rows, cols, w, scale: 1e-7, b: new Float32Array(cols) },
      ...randomLayers({ seed: 4, shape: [cols, 6, 10] }),
    ];
    const text = formatModel({ dtype: 'int8', input: { width: rows, height: 1, scale: 1 / 255 }, layers, meta: {} });
    const model = loadModel(text);
    expect(model.packed).toBeDefined();
    const raw = parseRawModel(text);
    for (const px of [new Uint8Array(rows).fill(255), Uint8Array.from({ length: rows }, (_, i) => (i % 3 ? 255 : 0))]) {
      const got = forwardPixels(model, px);
      const want = referenceProbs(raw, px);
      for (let j = 0; j < 10; j++) expect(Math.abs(got[j] - want[j])).toBeLessThan(1e-12);
      // The first layer's outputs are the exact integer sums times scale * input.scale.
      for (let j = 0; j < cols; j++) {
        let sum = 0;
        for (let i = 0; i < rows; i++) sum += px[i] * w[i * cols + j];
        expect(model.scratch[0][j]).toBe(sum * (1e-7 * (1 / 255)));
      }
    }
  });

  it('agrees with forward on layer 0 dequantized (on demand: classifying pixels does not need it)', () => {
    const text = randomModelText({ seed: 5 });
    const model = loadModel(text);
    const l0 = model.layers[0];
    const probs = classifyPixels(model, digit(7)).probs;
    expect(l0.w).toEqual(dequantize(parseRawModel(text).layers[0]));
    const viaFloat = forward(model, pixelsToInput(model, digit(7)));
    for (let j = 0; j < 10; j++) expect(Math.abs(viaFloat[j] - probs[j])).toBeLessThan(1e-12);
  });
});

describe('odd layer widths', () => {
  it('agree with the reference (the kernel steps two columns at a time, one left over here)', () => {
    for (const dtype of ['int8', 'float32'] as const) {
      const text = formatModel({
        dtype,
        layers: randomLayers({ seed: 9, dtype, shape: [784, 9, 7, 3] }),
        labels: ['a', 'b', 'c'],
        meta: {},
      });
      const [model, raw] = [loadModel(text), parseRawModel(text)];
      const images = randomImages(10, 4);
      const probs = forwardPixels(model, Uint8Array.from(images.flatMap((px) => Array.from(px))));
      images.forEach((px, s) => {
        const want = referenceProbs(raw, px);
        for (let j = 0; j < 3; j++) expect(Math.abs(probs[s * 3 + j] - want[j])).toBeLessThan(1e-12);
      });
    }
  });
});

describe('core API', () => {
  const text = randomModelText({ seed: 11 });
  const model = loadModel(text);

  it('dequantizes once (when first used) as q * scale, exactly', () => {
    const raw = parseRawModel(text);
    const l = raw.layers[1];
    const w = dequantize(l);
    expect(model.layers[1].w).toEqual(w);
    for (const p of [0, 5, 100, w.length - 1]) expect(w[p]).toBe(l.q[p] * (l.scale as number));
  });

  it('classifyPixels returns the argmax, its label and probabilities that sum to 1', () => {
    const c = classifyPixels(model, digit(0));
    const probs = Array.from(c.probs);
    expect(probs).toHaveLength(10);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(c.index).toBe(probs.indexOf(Math.max(...probs)));
    expect(c.label).toBe(String(c.index));
    expect(c.probability).toBe(probs[c.index]);
  });

  it('refuses an image of the wrong size instead of reading past it', () => {
    expect(() => classifyPixels(model, new Uint8Array(783))).toThrow(/783 pixels, expected 784/);
    expect(() => forwardPixels(model, new Uint8Array(784 * 2 + 5))).toThrow(/1573 pixels, expected a multiple of 784/);
  });

  it('a blank image gives softmax of the network run on zeros (no NaN from the skipped inputs)', () => {
    const p = classifyPixels(model, new Uint8Array(784)).probs;
    expect(p.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
  });

  it('decodeBase64 matches Node on every length and is strict about the alphabet and padding', () => {
    const rand = rng(5);
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      const s = Buffer.from(bytes).toString('base64');
      expect(Array.from(decodeBase64(s)!)).toEqual(Array.from(bytes));
    }
    for (const bad of ['A', 'AB=', 'AB=C', 'A===', '====', 'AAAA====', 'AA-_', 'AA A', 'AAé=', 'AAAA\n'])
      expect(decodeBase64(bad)).toBeNull();
  });
});
