// Hand-built models and data subsets for the eval tests: every outcome is known by construction
// or computed here by a separate, plain reference (never by the code under test).
import fs from 'node:fs';
import path from 'node:path';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from '../../src/data/idx.js';
import { embeddedMnistDir } from '../../src/data/mnist.js';
import { formatModel } from '../../src/node/model-file.js';

export const PIXELS = 784;
/** Images per class in the MNIST t10k set (the published counts). */
export const T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export function readSplit(split: 'train' | 't10k', dir = embeddedMnistDir()): Split {
  const img = parseIdx(
    new Uint8Array(fs.readFileSync(path.join(dir, `${split}-images-idx3-ubyte`))),
    split,
    IDX_IMAGES_MAGIC,
  );
  const lbl = parseIdx(
    new Uint8Array(fs.readFileSync(path.join(dir, `${split}-labels-idx1-ubyte`))),
    split,
    IDX_LABELS_MAGIC,
  );
  return { images: img.data, labels: lbl.data, count: lbl.dims[0] };
}

export const digitOf = (s: Split, i: number) => s.images.subarray(i * PIXELS, (i + 1) * PIXELS);

/** Write a t10k IDX pair holding only the chosen images of `s` (a real, tiny MNIST directory). */
export function writeT10kSubset(dir: string, s: Split, indices: number[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const img = Buffer.alloc(16 + indices.length * PIXELS);
  img.writeUInt32BE(IDX_IMAGES_MAGIC, 0);
  img.writeUInt32BE(indices.length, 4);
  img.writeUInt32BE(28, 8);
  img.writeUInt32BE(28, 12);
  indices.forEach((i, k) => img.set(digitOf(s, i), 16 + k * PIXELS));
  const lbl = Buffer.alloc(8 + indices.length);
  lbl.writeUInt32BE(IDX_LABELS_MAGIC, 0);
  lbl.writeUInt32BE(indices.length, 4);
  indices.forEach((i, k) => (lbl[8 + k] = s.labels[i]));
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), img);
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), lbl);
}

/** One 784→10 layer with all-zero weights: every digit gets the logits `bias`. */
export function constantModel(bias: number[], meta: unknown = {}): string {
  return formatModel({
    dtype: 'int8',
    layers: [{ rows: PIXELS, cols: 10, w: new Int8Array(PIXELS * 10), scale: 1, b: bias }],
    meta,
  });
}

/**
 * One linear layer whose column c scores `x·t - |t|²/2` for the template t = templates[c], i.e.
 * minus half the squared distance to t plus a term common to all classes: the model predicts the
 * nearest template. A template image is at distance 0 from itself, so it gets its column's class.
 */
export function templateModel(templates: Uint8Array[], meta: unknown = {}): string {
  const w = new Float32Array(PIXELS * 10);
  const b = new Float32Array(10);
  templates.forEach((t, c) => {
    let norm = 0;
    for (let p = 0; p < PIXELS; p++) {
      const x = t[p] / 255;
      w[p * 10 + c] = x;
      norm += x * x;
    }
    b[c] = -norm / 2;
  });
  return formatModel({ dtype: 'float32', layers: [{ rows: PIXELS, cols: 10, w, b }], meta });
}

/** The nearest-class-mean classifier as a linear model (templates = class means of `train`). */
export function classMeanModel(train: Split, n: number, meta: unknown = {}): string {
  const sums = Array.from({ length: 10 }, () => new Float64Array(PIXELS));
  const counts = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    const c = train.labels[i];
    counts[c]++;
    const d = digitOf(train, i);
    for (let p = 0; p < PIXELS; p++) sums[c][p] += d[p];
  }
  return templateModel(
    sums.map((s, c) => Uint8Array.from(s, (v) => Math.round(v / counts[c]))),
    meta,
  );
}

/** The same model with per-layer int8 weights (scale = max|w| / 127, round half away from zero). */
export function toInt8(modelText: string): string {
  const doc = JSON.parse(modelText);
  const layer = doc.layers[0];
  const buf = Buffer.from(layer.w, 'base64');
  const f = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const scale = f.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
  const q = Int8Array.from(f, (v) => Math.sign(v) * Math.round(Math.abs(v) / scale));
  return formatModel({
    dtype: 'int8',
    layers: [{ rows: layer.rows, cols: layer.cols, w: q, scale, b: layer.b }],
    meta: doc.meta,
  });
}

/**
 * Reference predictions of a one-layer model, read straight from the file's JSON (base64 weights,
 * biases, input scale), in float64, summing in the order the contract's formula is written.
 */
export function referencePredict(modelText: string, s: Split): Uint8Array {
  const doc = JSON.parse(modelText);
  const layer = doc.layers[0];
  const buf = Buffer.from(layer.w, 'base64');
  const w =
    doc.dtype === 'int8'
      ? Float64Array.from(new Int8Array(buf.buffer, buf.byteOffset, buf.length), (q) => q * layer.scale)
      : Float64Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)));
  const out = new Uint8Array(s.count);
  const z = new Float64Array(10);
  for (let i = 0; i < s.count; i++) {
    const d = digitOf(s, i);
    for (let c = 0; c < 10; c++) z[c] = layer.b[c];
    for (let p = 0; p < PIXELS; p++) {
      if (d[p] === 0) continue;
      const x = d[p] * doc.input.scale;
      for (let c = 0; c < 10; c++) z[c] += x * w[p * 10 + c];
    }
    let best = 0;
    for (let c = 1; c < 10; c++) if (z[c] > z[best]) best = c;
    out[i] = best;
  }
  return out;
}
