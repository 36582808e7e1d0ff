// Version 2 of the model and fixtures contracts (docs/contracts/model-format.md, fixtures-format.md)
// in the core, the writers, the float64 reference and verify: int4 and mixed layers, images of any
// size with 1 or 3 channels and a preprocess mode, vector inputs with offset/scale, any labels. One
// test per rejection the contract lists for version 2; version-1 files are still written whenever a
// model fits version 1. Real data: MNIST t10k digits, and the UCI wine measurements scikit-learn ships.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyPixels,
  classifyValues,
  forward,
  forwardPixels,
  forwardValues,
  loadModel,
  ModelError,
  parseRawModel,
  prepareImage,
  preprocess,
  toGray,
  type Model,
  type RawModel,
} from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { formatModel, readModelFile } from '../src/node/model-file.js';
import { encodeValues, formatFixtures, parseFixtures } from '../src/verify/fixtures-file.js';
import { referenceProbs } from '../src/verify/reference.js';
import { runVerify } from '../src/verify/verify.js';
import { ROOT, runCli } from './helpers/cli.js';
import { fixturesFor } from './helpers/fixtures-for.js';
import { randomLayers, randomModelText, rng, tempDir } from './helpers/random-model.js';
import { wine } from './helpers/sklearn-csv.js';

const FILE = 'models/v2.json';
const { test: t10k } = await loadMnist(embeddedMnistDir(), ['t10k']);
const digit = (i: number) => t10k!.images.subarray(i * 784, (i + 1) * 784);

const WINE = wine();
/** Standardising statistics as a trainer would store them (mean, 1/std). */
const mean = WINE.names.map((_, j) => WINE.x.reduce((s, r) => s + r[j], 0) / WINE.x.length);
const invStd = WINE.names.map(
  (_, j) => 1 / Math.sqrt(WINE.x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / WINE.x.length),
);

const VECTOR_INPUT = { kind: 'vector' as const, size: 13, offset: mean, scale: invStd, names: WINE.names };
const vectorText = (dtype: 'int8' | 'int4' | 'float32' = 'float32') =>
  randomModelText({
    dtype,
    shape: [13, 16, 8, 3],
    seed: 5,
    input: VECTOR_INPUT,
    labels: ['class_0', 'class_1', 'class_2'],
  });
const RGB_INPUT = { width: 16, height: 12, channels: 3, scale: 1 / 255, preprocess: 'resize' as const };
const rgbText = (dtype: 'int8' | 'int4' | 'float32' = 'int8') =>
  randomModelText({ dtype, shape: [16 * 12 * 3, 24, 5], seed: 6, input: RGB_INPUT, labels: ['a', 'b', 'c', 'd', 'e'] });
const INT4 = randomModelText({ dtype: 'int4', shape: [784, 32, 16, 10], seed: 8 });
const MIXED = randomModelText({ dtypes: ['int4', 'int8', 'float32'], shape: [784, 32, 16, 10], seed: 9 });

type Doc = Record<string, any>;

function rejects(base: string, edit: (doc: Doc) => void, field: string, problem: RegExp): void {
  const doc = JSON.parse(base);
  edit(doc);
  let caught: unknown;
  try {
    parseRawModel(JSON.stringify(doc), FILE);
  } catch (e) {
    caught = e;
  }
  expect(caught, `accepted: ${field}`).toBeInstanceOf(ModelError);
  const err = caught as ModelError;
  expect(err.field).toBe(field);
  expect(err.message.startsWith(`${FILE}: ${field} `)).toBe(true);
  expect(err.message).toMatch(problem);
}

const bytesOf = (doc: Doc, k: number) => new Uint8Array(Buffer.from(doc.layers[k].w, 'base64'));
const setBytes = (doc: Doc, k: number, b: Uint8Array) => (doc.layers[k].w = Buffer.from(b).toString('base64'));

function maxDiff(model: Model, raw: RawModel, inputs: ArrayLike<number>[], vector = false): number {
  let max = 0;
  for (const v of inputs) {
    const got = vector ? classifyValues(model, v).probs : classifyPixels(model, v).probs;
    const want = referenceProbs(raw, v);
    for (let j = 0; j < want.length; j++) max = Math.max(max, Math.abs(got[j] - want[j]));
  }
  return max;
}

describe('the version-2 model contract: what the writer writes', () => {
  it('keeps to version 1 whenever the model fits it: the shipped models re-write to their own bytes', async () => {
    for (const name of ['models/mnist-int8.json', 'models/mnist-f32.json']) {
      const file = await readModelFile(path.join(ROOT, name));
      const raw = file.raw;
      expect(raw.version).toBe(1);
      const again = formatModel({
        layers: raw.layers.map((l) => ({ rows: l.rows, cols: l.cols, dtype: l.dtype, w: l.q, scale: l.scale, b: l.b })),
        input: raw.input,
        labels: raw.labels,
        meta: raw.meta,
      });
      expect(again === file.bytes.toString('utf8'), name).toBe(true);
    }
  });

  it('writes version 2 for int4, mixed, 3-channel, "resize" and vector models, with the contract fields', () => {
    const cases: [string, (d: Doc) => void][] = [
      [INT4, (d) => expect([d.dtype, d.layers[0].dtype]).toEqual(['int4', undefined])],
      [
        MIXED,
        (d) => expect([d.dtype, ...d.layers.map((l: Doc) => l.dtype)]).toEqual(['mixed', 'int4', 'int8', 'float32']),
      ],
      [rgbText(), (d) => expect(d.input).toEqual({ kind: 'image', ...RGB_INPUT })],
      [vectorText(), (d) => expect(d.input).toEqual(VECTOR_INPUT)],
    ];
    for (const [text, check] of cases) {
      const doc = JSON.parse(text);
      expect(doc.version).toBe(2);
      check(doc);
      expect(parseRawModel(text).version).toBe(2);
    }
    const v1 = JSON.parse(randomModelText({ seed: 1, shape: [784, 8, 10] }));
    expect([v1.version, v1.input]).toEqual([1, { width: 28, height: 28, scale: 1 / 255 }]);
  });

  it('packs int4 two to a byte, element 2m in the low nibble, an odd count padded with a zero nibble', () => {
    const w = Int8Array.from([1, -1, 7, -7, 0, 3, -2]); // 7 weights: 1x7
    const text = formatModel({
      layers: [{ rows: 1, cols: 7, dtype: 'int4', w, scale: 0.5, b: new Float32Array(7) }],
      input: { kind: 'vector', size: 1, scale: 1 },
      labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    });
    const bytes = Buffer.from(JSON.parse(text).layers[0].w, 'base64');
    expect([...bytes]).toEqual([0xf1, 0x97, 0x30, 0x0e]);
    expect([...parseRawModel(text).layers[0].q]).toEqual([...w]);
  });

  it('refuses to write values its dtype cannot hold', () => {
    const w = Int8Array.from([8, 0]);
    expect(() =>
      formatModel({
        layers: [{ rows: 1, cols: 2, dtype: 'int4', w, scale: 1, b: [0, 0] }],
        labels: ['a', 'b'],
        input: { kind: 'vector', size: 1, scale: 1 },
      }),
    ).toThrow(/int4 values must lie in \[-7, 7\]/);
  });
});

describe("the version-2 model contract: the reader's rejections (one test each, naming file and field)", () => {
  const V1 = randomModelText({ seed: 3, shape: [784, 8, 10] });
  const ODD = randomModelText({ dtype: 'int4', shape: [784, 9, 7, 3], seed: 4, labels: ['a', 'b', 'c'] });
  const VEC = vectorText();

  it('a dtype version 1 does not allow (int4)', () =>
    rejects(V1, (d) => (d.dtype = 'int4'), 'dtype', /is "int4", expected "int8" or "float32" in a version-1 file/));
  it('a dtype version 1 does not allow (mixed)', () =>
    rejects(V1, (d) => (d.dtype = 'mixed'), 'dtype', /is "mixed", expected "int8" or "float32" in a version-1 file/));
  it('a dtype no version knows', () =>
    rejects(INT4, (d) => (d.dtype = 'int2'), 'dtype', /is "int2", expected "int8" or "float32" or "int4" or "mixed"/));
  it('a layer dtype in a version-1 file', () =>
    rejects(
      V1,
      (d) => (d.layers[0].dtype = 'int8'),
      'layers[0].dtype',
      /is "int8": a layer dtype needs a version-2 file/,
    ));
  it('a layer dtype missing in a "mixed" file', () =>
    rejects(
      MIXED,
      (d) => delete d.layers[1].dtype,
      'layers[1].dtype',
      /is missing, expected "int8" or "int4" or "float32"/,
    ));
  it('a layer dtype no version knows', () =>
    rejects(
      MIXED,
      (d) => (d.layers[2].dtype = 'float16'),
      'layers[2].dtype',
      /is "float16", expected "int8" or "int4" or "float32"/,
    ));
  it('int4 weights that decode to the wrong byte count', () =>
    rejects(
      INT4,
      (d) => setBytes(d, 1, bytesOf(d, 1).subarray(0, 255)),
      'layers[1].w',
      /decodes to 255 bytes, expected 256 \(32x16 int4\)/,
    ));
  it('an int4 nibble of -8 (outside [-7, 7])', () =>
    rejects(
      INT4,
      (d) =>
        setBytes(
          d,
          0,
          bytesOf(d, 0).map((b, i) => (i === 10 ? (b & 0x0f) | 0x80 : b)),
        ),
      'layers[0].w',
      /holds -8 at index 21, expected values in \[-7, 7\]/,
    ));
  it('a nonzero padding nibble (odd weight count)', () =>
    rejects(
      ODD,
      (d) =>
        setBytes(
          d,
          1,
          bytesOf(d, 1).map((b, i, a) => (i === a.length - 1 ? b | 0x10 : b)),
        ),
      'layers[1].w',
      /has a nonzero padding nibble after its last weight/,
    ));
  it('an int4 layer without a scale', () =>
    rejects(
      INT4,
      (d) => delete d.layers[2].scale,
      'layers[2].scale',
      /is missing, expected a finite positive number or an array of 10/,
    ));
  it('an input kind no version knows', () =>
    rejects(VEC, (d) => (d.input.kind = 'audio'), 'input.kind', /is "audio", expected "image" or "vector"/));
  it('a vector input in an otherwise version-1 file (kind checked)', () =>
    rejects(V1, (d) => (d.input.kind = 'vector'), 'input.kind', /is "vector", expected "image" in a version-1 file/));
  it('channels other than 1 or 3', () =>
    rejects(rgbText(), (d) => (d.input.channels = 2), 'input.channels', /is 2, expected 1 or 3/));
  it('3 channels in a version-1 file', () =>
    rejects(V1, (d) => (d.input.channels = 3), 'input.channels', /is 3, expected 1 in a version-1 file/));
  it('an unknown preprocess mode', () =>
    rejects(
      rgbText(),
      (d) => (d.input.preprocess = 'crop'),
      'input.preprocess',
      /is "crop", expected "digit" or "resize"/,
    ));
  it('"resize" in a version-1 file', () =>
    rejects(
      V1,
      (d) => (d.input.preprocess = 'resize'),
      'input.preprocess',
      /is "resize", expected "digit" in a version-1 file/,
    ));
  it('a first layer that does not take width x height x channels inputs', () =>
    rejects(
      rgbText(),
      (d) => (d.input.channels = 1),
      'layers[0].rows',
      /is 576, expected 192 \(input.width x input.height\)/,
    ));
  it('a first layer that does not take input.size features', () =>
    rejects(
      VEC,
      (d) => {
        d.input.size = 12;
        d.input.offset.pop();
        d.input.scale.pop();
        d.input.names.pop();
      },
      'layers[0].rows',
      /is 13, expected 12 \(input.size\)/,
    ));
  it('a vector size that is not a positive integer', () =>
    rejects(VEC, (d) => (d.input.size = 2.5), 'input.size', /is 2.5, expected a positive integer/));
  it('an offset of the wrong length', () =>
    rejects(VEC, (d) => d.input.offset.pop(), 'input.offset', /is an array of 12, expected an array of 13/));
  it('an offset with a non-finite entry', () =>
    rejects(VEC, (d) => (d.input.offset[3] = 'x'), 'input.offset[3]', /is "x", expected a finite number/));
  it('a scale that is not positive', () =>
    rejects(
      VEC,
      (d) => (d.input.scale = 0),
      'input.scale',
      /is 0, expected a finite positive number or an array of 13/,
    ));
  it('a scale array of the wrong length', () =>
    rejects(VEC, (d) => d.input.scale.push(1), 'input.scale', /is an array of 14, expected an array of 13/));
  it('a scale array with a negative entry', () =>
    rejects(VEC, (d) => (d.input.scale[2] = -1), 'input.scale[2]', /is -1, expected a finite positive number/));
  it('names of the wrong length', () =>
    rejects(VEC, (d) => d.input.names.pop(), 'input.names', /is an array of 12, expected an array of 13/));
  it('a name that is not a string', () =>
    rejects(VEC, (d) => (d.input.names[1] = 7), 'input.names[1]', /is 7, expected a string/));
  it('an empty label', () =>
    rejects(VEC, (d) => (d.labels[1] = ''), 'labels', /is not a non-empty array of non-empty strings/));
  it('weights whose outputs could overflow (a finite but huge scale: NaN probabilities otherwise)', () =>
    rejects(V1, (d) => (d.layers[0].scale = 1e308), 'layers[0]', /has weights so large that outputs could overflow/));
  it('float32 weights whose outputs could overflow', () => {
    const f32 = randomModelText({ dtype: 'float32', seed: 3, shape: [784, 8, 10] });
    rejects(
      f32,
      (d) => {
        const b = bytesOf(d, 1);
        new DataView(b.buffer).setFloat32(0, 3e38, true);
        setBytes(d, 1, b);
        d.layers[0].b[0] = 1e290;
      },
      'layers[1]',
      /could overflow/,
    );
  });
});

describe('version-2 models run as the reference says', () => {
  const images = Array.from({ length: 40 }, (_, i) => digit(i * 17));

  it('int4 (one scale: the exact integer first layer; per-channel: the float path) agrees to 1e-12', () => {
    for (const perChannel of [false, true]) {
      const text = randomModelText({ dtype: 'int4', perChannel, shape: [784, 32, 16, 10], seed: 8 });
      const model = loadModel(text) as Model & { packed?: unknown };
      expect(model.packed !== undefined).toBe(!perChannel);
      expect(maxDiff(model, parseRawModel(text), images)).toBeLessThan(1e-12);
    }
  });

  it('int4 packs its first layer up to the exactness bound (rows * 255 * 7 < 2^25)', () => {
    const packed = (rows: number) => {
      const text = randomModelText({
        dtype: 'int4',
        shape: [rows, 8, 2],
        seed: 2,
        input: { width: rows, height: 1, scale: 1 / 255 },
        labels: ['a', 'b'],
      });
      return (loadModel(text) as Model & { packed?: unknown }).packed !== undefined;
    };
    expect(packed(18798)).toBe(true); // 18798 * 255 * 7 = 33,554,430 < 2^25
    expect(packed(18799)).toBe(false);
  });

  it('mixed int4 / int8 / float32 agrees to 1e-12', () => {
    expect(maxDiff(loadModel(MIXED), parseRawModel(MIXED), images)).toBeLessThan(1e-12);
  });

  it('a 3-channel image model agrees to 1e-12 on real colour pixels (MNIST digits tinted per channel)', () => {
    for (const dtype of ['int8', 'int4', 'float32'] as const) {
      const text = rgbText(dtype);
      const rgb = images.map((d) =>
        Uint8Array.from(
          { length: 16 * 12 * 3 },
          (_, i) => d[(((i / 3) | 0) % 16) + 28 * (((i / 3 / 16) | 0) + 8)] * [1, 0.6, 0.3][i % 3],
        ),
      );
      expect(maxDiff(loadModel(text), parseRawModel(text), rgb)).toBeLessThan(1e-12);
    }
  });

  it('a vector model agrees to 1e-12 on the real wine measurements (x = (v - offset) * scale)', () => {
    for (const dtype of ['float32', 'int8', 'int4'] as const) {
      const text = vectorText(dtype);
      const model = loadModel(text);
      expect(maxDiff(model, parseRawModel(text), WINE.x, true)).toBeLessThan(1e-12);
      const x = WINE.x[5].map((v, j) => (v - mean[j]) * invStd[j]);
      const viaScaled = forward(model, x);
      classifyValues(model, WINE.x[5]).probs.forEach((p, j) => expect(Math.abs(p - viaScaled[j])).toBeLessThan(1e-15));
      // rows back to back
      expect(forwardValues(model, WINE.x.slice(0, 4).flat()).length).toBe(12);
    }
  });

  it('each input kind takes only its own inputs (RangeError naming what it expected)', () => {
    const vec = loadModel(vectorText());
    const img = loadModel(INT4);
    expect(() => classifyPixels(vec, new Uint8Array(13))).toThrow(/input kind is vector: it does not take pixels/);
    expect(() => forwardValues(img, new Float64Array(784))).toThrow(/input kind is image: it does not take values/);
    expect(() => classifyValues(vec, [1, 2, 3])).toThrow(/3 values, expected 13/);
    expect(() => forwardPixels(img, new Uint8Array(785))).toThrow(/785 pixels, expected a multiple of 784/);
  });

  it('never returns NaN probabilities: an input far outside the range gives finite probabilities or throws', () => {
    const vec = loadModel(vectorText());
    let threw = 0;
    for (const bad of [1e300, -1e300, 1e308, -1e308, Number.MAX_VALUE, NaN, Infinity, -Infinity]) {
      const row = WINE.x[0].slice();
      row[12] = bad;
      try {
        const { probs } = classifyValues(vec, row);
        expect(probs.every(Number.isFinite)).toBe(true);
        expect(Math.abs(probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        expect((e as Error).message).toMatch(/the logits are not finite/);
        threw++;
      }
    }
    expect(threw).toBeGreaterThanOrEqual(3); // NaN and the infinities at least
  });
});

describe('prepareImage: a picture as the model says (input.preprocess)', () => {
  /** An RGBA picture of a real digit: dark ink on white, each pixel repeated k x k. */
  const rgbaOf = (d: ArrayLike<number>, side: number, k: number) => {
    const out = new Uint8ClampedArray(side * k * side * k * 4);
    for (let y = 0; y < side * k; y++)
      for (let x = 0; x < side * k; x++) {
        const v = 255 - d[((y / k) | 0) * side + ((x / k) | 0)];
        out.set([v, v, v, 255], (y * side * k + x) * 4);
      }
    return out;
  };

  it('"digit" at 28x28 is exactly preprocess(toGray(...)): what predict and the page always ran', () => {
    const model = loadModel(randomModelText({ seed: 1, shape: [784, 8, 10] }));
    for (const i of [0, 1, 2, 3]) {
      const rgba = rgbaOf(digit(i), 28, 3);
      const want = preprocess(toGray(rgba), 84, 84);
      expect(prepareImage(model, rgba, 84, 84)).toEqual(want);
    }
  });

  it('"digit" at another size centres the ink in the scaled box; 3 channels repeat the gray', () => {
    const model = loadModel(
      randomModelText({
        seed: 1,
        shape: [20 * 20 * 3, 8, 10],
        input: { width: 20, height: 20, channels: 3, scale: 1 / 255 },
      }),
    );
    const p = prepareImage(model, rgbaOf(digit(0), 28, 2), 56, 56);
    expect(p.found && p.inverted).toBe(true);
    expect(p.pixels.length).toBe(1200);
    let m = 0,
      cx = 0,
      cy = 0,
      x0 = 20,
      x1 = 0;
    for (let i = 0; i < 400; i++) {
      const v = p.pixels[3 * i];
      expect([p.pixels[3 * i + 1], p.pixels[3 * i + 2]]).toEqual([v, v]);
      m += v;
      cx += (i % 20) * v;
      cy += ((i / 20) | 0) * v;
      if (v) ((x0 = Math.min(x0, i % 20)), (x1 = Math.max(x1, i % 20)));
    }
    expect(Math.abs(cx / m - 10)).toBeLessThan(1);
    expect(Math.abs(cy / m - 10)).toBeLessThan(1);
    expect(x1 - x0 + 1).toBeLessThanOrEqual(15); // the box is 20/28 of the field
  });

  it('"resize" area-averages the whole picture: a 2x upscaled digit comes back exactly, with no inversion', () => {
    const model = loadModel(
      randomModelText({
        seed: 1,
        shape: [784, 8, 10],
        input: { width: 28, height: 28, scale: 1 / 255, preprocess: 'resize' },
      }),
    );
    for (const i of [5, 6]) {
      const p = prepareImage(model, rgbaOf(digit(i), 28, 2), 56, 56);
      expect(p.found).toBe(true);
      expect(p.inverted).toBe(false);
      expect([...p.pixels]).toEqual([...digit(i)].map((v) => 255 - v));
    }
  });

  it('"resize" with 3 channels keeps colour and flattens transparency onto white', () => {
    const model = loadModel(rgbText());
    const [w, h] = [32, 24];
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) rgba.set(x < w / 2 ? [200, 40, 10, 255] : [0, 0, 0, 0], (y * w + x) * 4);
    const { pixels } = prepareImage(model, rgba, w, h);
    expect(pixels.length).toBe(16 * 12 * 3);
    expect([...pixels.subarray(0, 3)]).toEqual([200, 40, 10]);
    expect([...pixels.subarray(pixels.length - 3)]).toEqual([255, 255, 255]);
  });

  it('refuses a vector model and a picture of the wrong length', () => {
    expect(() => prepareImage(loadModel(vectorText()), new Uint8ClampedArray(16), 2, 2)).toThrow(/vector model/);
    expect(() => prepareImage(loadModel(INT4), new Uint8ClampedArray(15), 2, 2)).toThrow(/15 RGBA values for 2x2/);
  });
});

describe('the version-2 fixtures contract and verify', () => {
  const dir = tempDir();

  it('a vector model: values cases (float64, exact) verify in Node, and a wrong probability fails', async () => {
    const model = path.join(dir, 'wine.json');
    fs.writeFileSync(model, vectorText('int8'));
    const fx = fixturesFor(model, WINE.x.slice(0, 30), WINE.y.slice(0, 30), true);
    const text = formatFixtures(fx);
    expect(JSON.parse(text).version).toBe(2);
    const file = path.join(dir, 'wine-fixtures.json');
    fs.writeFileSync(file, text);
    const ok = await runVerify({ model, fixtures: file });
    expect(ok.ok).toBe(true);
    expect(ok.max!.diff).toBeLessThanOrEqual(1e-12);
    fx.cases[4].probs[1] += 2e-6;
    fs.writeFileSync(file, formatFixtures(fx));
    const bad = await runVerify({ model, fixtures: file });
    expect(bad.ok).toBe(false);
    expect(bad.failures.map((f) => f.id)).toEqual(['case-4']);
  });

  it('pixel fixtures are still written as version 1', () => {
    const model = path.join(dir, 'rgb.json');
    fs.writeFileSync(model, rgbText());
    const fx = fixturesFor(model, [new Uint8Array(576).fill(9)], [0], false);
    expect(JSON.parse(formatFixtures(fx)).version).toBe(1);
  });

  it.each([
    [
      'values in a version-1 file',
      (d: Doc) => ((d.version = 1), (d.cases[0] = { ...d.cases[0], pixels: undefined })),
      'cases[0].values is not allowed in a version-1 file',
    ],
    ['both pixels and values', (d: Doc) => (d.cases[0].pixels = 'AAAA'), 'cases[0] has both pixels and values'],
    [
      'values that are not whole float64s',
      (d: Doc) => (d.cases[1].values = 'AAAA'),
      'cases[1].values is not base64 of float64 values',
    ],
    [
      'a non-finite value',
      (d: Doc) => (d.cases[2].values = encodeValues([1, NaN, 3])),
      'cases[2].values holds a non-finite value at index 1',
    ],
  ])('rejects %s (exit 3 naming the file and field)', (_name, edit, message) => {
    const doc = JSON.parse(
      formatFixtures(fixturesFor(path.join(dir, 'wine.json'), WINE.x.slice(0, 3), [0, 0, 0], true)),
    );
    edit(doc);
    let caught: any;
    try {
      parseFixtures(JSON.stringify(doc), 'f.json');
    } catch (e) {
      caught = e;
    }
    expect(caught?.code).toBe(3);
    expect(caught.message).toContain(`f.json: ${message}`);
  });

  it('verify refuses fixtures whose inputs do not fit the model (exit 3, naming the case)', async () => {
    const model = path.join(dir, 'wine2.json');
    fs.writeFileSync(model, vectorText());
    const fx = fixturesFor(model, WINE.x.slice(0, 2), [0, 0], true);
    fx.cases[1].values = encodeValues(WINE.x[1].slice(0, 12));
    const file = path.join(dir, 'short.json');
    fs.writeFileSync(file, formatFixtures(fx));
    const r = await runCli(['verify', '--model', model, '--fixtures', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}: cases[1] (case-1): values decode to 12 values, the model takes 13`);
  });

  it('a 3-channel image model and a vector model pass `digitkit verify --browser` in Chromium too', async () => {
    const rgbModel = path.join(dir, 'rgb3.json');
    fs.writeFileSync(rgbModel, rgbText('int4'));
    const rand = rng(3);
    const rgbInputs = Array.from({ length: 10 }, () =>
      Uint8Array.from({ length: 576 }, () => Math.floor(rand() * 256)),
    );
    const rgbFixtures = path.join(dir, 'rgb3-fixtures.json');
    fs.writeFileSync(
      rgbFixtures,
      formatFixtures(
        fixturesFor(
          rgbModel,
          rgbInputs,
          rgbInputs.map((_, k) => k % 5),
          false,
        ),
      ),
    );
    const vecModel = path.join(dir, 'wine3.json');
    fs.writeFileSync(vecModel, vectorText('int4'));
    const vecFixtures = path.join(dir, 'wine3-fixtures.json');
    fs.writeFileSync(
      vecFixtures,
      formatFixtures(fixturesFor(vecModel, WINE.x.slice(40, 70), WINE.y.slice(40, 70), true)),
    );
    for (const [model, fixtures] of [
      [rgbModel, rgbFixtures],
      [vecModel, vecFixtures],
    ]) {
      for (const args of [[], ['--browser']]) {
        const r = await runCli(['verify', '--model', model, '--fixtures', fixtures, '--json', ...args]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const doc = JSON.parse(r.stdout);
        expect(doc.ok).toBe(true);
        expect(doc.max.diff).toBeLessThanOrEqual(1e-6);
      }
    }
  });
});
