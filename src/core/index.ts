/**
 * digitkit inference core: parse + validate a model (contract: digitkit-mlp v1), dequantize once,
 * run the forward pass. One ES module that imports nothing and touches no host globals, so the
 * same file runs in Node and in a browser (`<script type="module">`).
 *
 * Arithmetic is float64 throughout: weights are dequantized as `q * scale` in float64 (exactly the
 * contract's reference), so the only difference from a reference forward pass is summation order.
 */

export const MODEL_FORMAT = 'digitkit-mlp';
export const MODEL_VERSION = 1;
/** Files above this size are rejected before parsing (contract). */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/** A model file that breaks the contract. `field` is the JSON path of the offending field. */
export class ModelError extends Error {
  constructor(
    source: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${source}: ${field ? field + ' ' : ''}${problem}`);
    this.name = 'ModelError';
  }
}

/** One layer as stored in the file, decoded but not dequantized. */
export interface RawLayer {
  rows: number;
  cols: number;
  /** int8 weights (dtype int8) or float32 weights (dtype float32), row-major, input-major. */
  q: Int8Array | Float32Array;
  /** int8 only: one scale for the layer, or one per output column. */
  scale?: number | number[];
  b: number[];
}

export interface ModelInfo {
  dtype: 'int8' | 'float32';
  input: { width: number; height: number; scale: number };
  labels: string[];
  meta: unknown;
}

export interface RawModel extends ModelInfo {
  layers: RawLayer[];
}

/** A loaded model, ready to run: weights dequantized to float64 (once, when first used). */
export interface Model extends ModelInfo {
  layers: { rows: number; cols: number; w: Float64Array; b: Float64Array }[];
  /**
   * int8 models with one scale and an even column count: layer 0 for integer pixels 0..255, in
   * exact integers. Weight (i, j) holds q[i][j] + q[i][j + cols/2] * 2^26 for j < cols/2: a
   * column's sum of pixel * q stays below 2^25 in magnitude, so one float64 carries two columns
   * exactly (below 2^53) and a pixel costs half the multiply-adds. `f` = scale * input.scale.
   */
  packed?: { w: Float64Array; f: number };
  /**
   * Scratch, allocated once per model (forward is synchronous, so sharing is safe): each layer's
   * outputs, and the nonzero inputs' row offsets and values.
   */
  scratch: Float64Array[];
  idx: Int32Array;
  val: Float64Array;
}

// A host function where there is one (browsers, Node); the core never needs it.
declare const atob: (s: string) => string;

/**
 * Strict RFC 4648 base64 (with padding). Returns null on any invalid character or length. A host
 * may pass its own native decoder (about 20x faster than this loop on a cold start); it only sees
 * input that passed the check.
 */
export function decodeBase64(s: string, host?: (s: string) => Uint8Array): Uint8Array | null {
  if (s.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  if (host) return host(s);
  const out = new Uint8Array((s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0));
  if (typeof atob == 'function') {
    // The host's decoder: twice as fast on a cold start, when a model's weights are decoded.
    const bytes = atob(s);
    for (let i = 0; i < out.length; i++) out[i] = bytes.charCodeAt(i);
  } else {
    // Six bits per character, a byte out per eight, until `out` is full (the padding adds none).
    for (let i = 0, bits = 0, n = 0, o = 0; o < out.length; i++) {
      bits = (bits << 6) | 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.indexOf(s[i]);
      if ((n += 6) >= 8) out[o++] = bits >> (n -= 8);
    }
  }
  return out;
}

const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isPos = (v: unknown): v is number => Number.isFinite(v) && (v as number) > 0;
const show = (v: unknown) =>
  v === undefined
    ? 'missing'
    : typeof v == 'string'
      ? JSON.stringify(v)
      : v && typeof v == 'object'
        ? Array.isArray(v)
          ? 'an array of ' + v.length
          : 'an object'
        : String(v);
const POS_INT = ', expected a positive integer';
const POS_NUM = ', expected a finite positive number';

/**
 * Parse and validate a model file's text (or an already-parsed JSON value) without dequantizing.
 * `source` names the file in error messages; `base64` is a host decoder for `decodeBase64`.
 */
export function parseRawModel(text: string | unknown, source = 'model', base64?: (s: string) => Uint8Array): RawModel {
  const need = (ok: unknown, field: string, problem: string) => {
    if (!ok) throw new ModelError(source, field, problem);
  };
  let doc: any = text;
  if (typeof text == 'string') {
    // A UTF-16 length above the limit means the UTF-8 byte length is too.
    need(text.length <= MAX_MODEL_BYTES, '', `is larger than ${MAX_MODEL_BYTES} bytes`);
    try {
      doc = JSON.parse(text);
    } catch (e) {
      need(0, '', `is not valid JSON (${(e as Error).message})`);
    }
  }
  need(doc && typeof doc == 'object' && !Array.isArray(doc), '', 'is not a JSON object');
  // Keys that could reach a prototype, anywhere in the document (iterative: no recursion limit).
  for (const todo: [any, string][] = [[doc, '']]; todo.length;) {
    const [v, at] = todo.pop()!;
    for (const k of Object.keys(v)) {
      const f = Array.isArray(v) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
      need(
        !['__proto__', 'constructor', 'prototype'].includes(k),
        f,
        'is a forbidden key (the file is data, never code)',
      );
      if (v[k] && typeof v[k] == 'object') todo.push([v[k], f]);
    }
  }

  const { dtype, input, labels } = doc;
  need(doc.format === MODEL_FORMAT, 'format', `is ${show(doc.format)}, expected "${MODEL_FORMAT}"`);
  need(doc.version === MODEL_VERSION, 'version', `is ${show(doc.version)}, this reader knows version ${MODEL_VERSION}`);
  need(dtype == 'int8' || dtype == 'float32', 'dtype', `is ${show(dtype)}, expected "int8" or "float32"`);
  need(
    doc.activation === undefined || doc.activation == 'relu',
    'activation',
    `is ${show(doc.activation)}, expected "relu"`,
  );
  need(doc.output === undefined || doc.output == 'softmax', 'output', `is ${show(doc.output)}, expected "softmax"`);
  need(input && typeof input == 'object', 'input', `is ${show(input)}, expected an object`);
  need(isPosInt(input.width), 'input.width', `is ${show(input.width)}${POS_INT}`);
  need(isPosInt(input.height), 'input.height', `is ${show(input.height)}${POS_INT}`);
  need(isPos(input.scale), 'input.scale', `is ${show(input.scale)}${POS_NUM}`);
  need(
    Array.isArray(labels) && labels.length && labels.every((l) => typeof l == 'string'),
    'labels',
    'is not a non-empty array of strings',
  );
  need(Array.isArray(doc.layers) && doc.layers.length, 'layers', 'is not a non-empty array');

  let n = input.width * input.height;
  let from = '(input.width x input.height)';
  const layers = (doc.layers as any[]).map((l, k): RawLayer => {
    const at = `layers[${k}]`;
    need(l && typeof l == 'object', at, `is ${show(l)}, expected an object`);
    const { rows, cols, w, scale, b } = l;
    need(isPosInt(rows), at + '.rows', `is ${show(rows)}${POS_INT}`);
    need(isPosInt(cols), at + '.cols', `is ${show(cols)}${POS_INT}`);
    need(rows == n, at + '.rows', `is ${rows}, expected ${n} ${from}`);
    const count = rows * cols;
    need(count <= 16_777_216, at, `has ${rows}x${cols} weights, more than 16777216`);
    n = cols;
    from = `(${at}.cols)`;
    const bytes = (typeof w == 'string' && decodeBase64(w, base64)) as Uint8Array;
    need(
      bytes,
      at + '.w',
      typeof w == 'string' ? 'is not valid base64 (RFC 4648, with padding)' : `is ${show(w)}, expected a base64 string`,
    );
    const size = dtype == 'int8' ? count : 4 * count;
    need(
      bytes.length == size,
      at + '.w',
      `decodes to ${bytes.length} bytes, expected ${size} (${rows}x${cols} ${dtype})`,
    );
    let q: Int8Array | Float32Array;
    let bad: number;
    if (dtype == 'int8') {
      q = new Int8Array(bytes.buffer);
      bad = q.indexOf(-128);
      need(bad < 0, at + '.w', `holds -128 at index ${bad}, expected values in [-127, 127]`);
      const arr = Array.isArray(scale);
      need(
        arr ? scale.length == cols : isPos(scale),
        at + '.scale',
        `is ${show(scale)}${POS_NUM} or an array of ${cols}`,
      );
      bad = arr ? scale.findIndex((s: unknown) => !isPos(s)) : -1;
      need(bad < 0, `${at}.scale[${bad}]`, `is ${show(scale[bad])}${POS_NUM}`);
    } else {
      const dv = new DataView(bytes.buffer);
      q = new Float32Array(count);
      for (let i = 0; i < count; i++) q[i] = dv.getFloat32(4 * i, true); // the file is little-endian
      bad = q.findIndex((v) => !Number.isFinite(v));
      need(bad < 0, at + '.w', `holds a non-finite weight at index ${bad}`);
    }
    need(Array.isArray(b) && b.length == cols, at + '.b', `is ${show(b)}, expected an array of ${cols} numbers`);
    bad = b.findIndex((v: unknown) => !Number.isFinite(v));
    need(bad < 0, `${at}.b[${bad}]`, `is ${show(b[bad])}, expected a finite number`);
    return { rows, cols, q, scale: dtype == 'int8' ? scale : undefined, b };
  });
  need(n == labels.length, `layers[${layers.length - 1}].cols`, `is ${n}, expected ${labels.length} (labels.length)`);
  return {
    dtype,
    input: { width: input.width, height: input.height, scale: input.scale },
    labels,
    layers,
    meta: doc.meta,
  };
}

/** Dequantize a raw layer's weights to float64: `q * scale` (per layer or per output column). */
export function dequantize({ rows, cols, q, scale }: RawLayer): Float64Array {
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < w.length; i++)
    w[i] = q[i] * (scale === undefined ? 1 : typeof scale == 'number' ? scale : scale[i % cols]);
  return w;
}

/**
 * Turn a validated raw model into a runnable one. Each layer is dequantized once, when first used:
 * an int8 model classifying pixels never needs layer 0's (it runs `packed`), which shortens a start.
 */
export function loadRawModel(raw: RawModel): Model {
  const layers = raw.layers.map((l) => {
    let w: Float64Array | undefined;
    return {
      rows: l.rows,
      cols: l.cols,
      get w() {
        return (w ??= dequantize(l));
      },
      b: Float64Array.from(l.b),
    };
  });
  const n = Math.max(...layers.map((l) => l.rows)) + 8;
  const { rows, cols, q, scale } = raw.layers[0],
    h = cols / 2;
  let packed;
  // rows * 255 * 127 < 2^25: the bound packing needs.
  if (typeof scale == 'number' && h % 1 == 0 && rows < 1037) {
    const w = new Float64Array(q.length);
    for (let i = 0; i < q.length; i += cols) for (let j = i; j < i + h; j++) w[j] = q[j] + q[j + h] * 2 ** 26;
    packed = { w, f: scale * raw.input.scale };
  }
  return {
    ...raw,
    layers,
    packed,
    scratch: layers.map((l) => new Float64Array(l.cols)),
    idx: new Int32Array(n),
    val: new Float64Array(n),
  };
}

/** Parse, validate and dequantize a model file's text (or parsed JSON). */
export function loadModel(text: string | unknown, source?: string): Model {
  return loadRawModel(parseRawModel(text, source));
}

/**
 * Probabilities for one input vector `x` (already scaled: x = pixel * input.scale), read from `x`
 * at `xOff`, written to `out` at `outOff`.
 */
export function forward(model: Model, x: ArrayLike<number>, out?: Float64Array, xOff = 0, outOff = 0): Float64Array {
  return run(model, x, out ?? new Float64Array(model.labels.length), xOff, outOff);
}

/** `forward`; with `pixels`, `x` holds raw 0..255 pixels instead. */
function run(
  model: Model,
  x: ArrayLike<number>,
  out: Float64Array,
  xOff: number,
  outOff: number,
  pixels?: boolean,
): Float64Array {
  const { layers, idx, val, packed } = model,
    { rows, cols, b } = layers[0],
    z = model.scratch[0];
  // Input-major: gather the inputs that are not zero (most MNIST pixels are), then add x_i * W[i, :]
  // for each (accumulate).
  let m = 0,
    exact = pixels && !!packed;
  for (let i = 0; i < rows; i++) {
    const v = x[xOff + i];
    if (v !== 0) {
      idx[m] = i * cols;
      val[m++] = v;
      exact &&= v === (v & 255);
    }
  }
  if (exact) {
    // Integer pixels: the packed sums in z's first half, then each lane's two columns (the high
    // one is the nearest integer to lane / 2^26).
    const { w, f } = packed!,
      h = cols / 2;
    z.fill(0);
    accumulate(z, w, idx, val, m, h);
    for (let j = 0; j < h; j++) {
      const hi = Math.round(z[j] * 2 ** -26);
      z[j] = b[j] + (z[j] - hi * 2 ** 26) * f;
      z[j + h] = b[j + h] + hi * f;
    }
  } else {
    for (let t = 0; pixels && t < m; t++) val[t] *= model.input.scale;
    z.set(b);
    accumulate(z, layers[0].w, idx, val, m, cols);
  }
  for (let k = 1; k < layers.length; k++) {
    // A hidden layer: ReLU zeroes about half of its inputs, skipped too.
    const { rows, cols, w, b } = layers[k],
      a = model.scratch[k - 1],
      z = model.scratch[k];
    m = 0;
    for (let i = 0; i < rows; i++) {
      if (a[i] > 0) {
        idx[m] = i * cols;
        val[m++] = a[i];
      }
    }
    z.set(b);
    accumulate(z, w, idx, val, m, cols);
  }
  softmax(model.scratch[layers.length - 1], out, outOff);
  return out;
}

/**
 * z[j] += x_i * W[i, j] for j < n and the `m` gathered inputs (row offsets in `idx`, values in
 * `val`): eight rows at a time, two columns per step (fewer loads and stores of z per weight, fewer
 * loop steps). The list is padded to a multiple of 8 with x = 0 rows, which add nothing.
 */
function accumulate(z: Float64Array, w: Float64Array, idx: Int32Array, val: Float64Array, m: number, n: number): void {
  while (m & 7) {
    idx[m] = 0;
    val[m++] = 0;
  }
  for (let t = 0; t < m; t += 8) {
    const a0 = val[t],
      a1 = val[t + 1],
      a2 = val[t + 2],
      a3 = val[t + 3],
      a4 = val[t + 4],
      a5 = val[t + 5],
      a6 = val[t + 6],
      a7 = val[t + 7];
    const p0 = idx[t],
      p1 = idx[t + 1],
      p2 = idx[t + 2],
      p3 = idx[t + 3],
      p4 = idx[t + 4],
      p5 = idx[t + 5],
      p6 = idx[t + 6],
      p7 = idx[t + 7];
    let j = 0;
    for (; j + 1 < n; j += 2) {
      z[j] +=
        a0 * w[p0 + j] +
        a1 * w[p1 + j] +
        a2 * w[p2 + j] +
        a3 * w[p3 + j] +
        a4 * w[p4 + j] +
        a5 * w[p5 + j] +
        a6 * w[p6 + j] +
        a7 * w[p7 + j];
      z[j + 1] +=
        a0 * w[p0 + j + 1] +
        a1 * w[p1 + j + 1] +
        a2 * w[p2 + j + 1] +
        a3 * w[p3 + j + 1] +
        a4 * w[p4 + j + 1] +
        a5 * w[p5 + j + 1] +
        a6 * w[p6 + j + 1] +
        a7 * w[p7 + j + 1];
    }
    // An odd column count leaves one.
    if (j < n)
      z[j] +=
        a0 * w[p0 + j] +
        a1 * w[p1 + j] +
        a2 * w[p2 + j] +
        a3 * w[p3 + j] +
        a4 * w[p4 + j] +
        a5 * w[p5 + j] +
        a6 * w[p6 + j] +
        a7 * w[p7 + j];
  }
}

/** Numerically stable softmax of `z` into `out` (subtract the max before exp). */
export function softmax(z: ArrayLike<number>, out: Float64Array | Float32Array, outOff = 0): void {
  let max = -Infinity;
  let sum = 0;
  for (let j = 0; j < z.length; j++) max = Math.max(max, z[j]);
  for (let j = 0; j < z.length; j++) sum += out[outOff + j] = Math.exp(z[j] - max);
  for (let j = 0; j < z.length; j++) out[outOff + j] /= sum;
}

/** Probabilities for `n` inputs stored back to back in `xs` (each `layers[0].rows` long). */
export function forwardBatch(model: Model, xs: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
  const size = model.layers[0].rows;
  const classes = model.labels.length;
  const res = out ?? new Float64Array(n * classes);
  for (let s = 0; s < n; s++) run(model, xs, res, s * size, s * classes);
  return res;
}

/**
 * Probabilities for every image in `pixels` (raw 0..255 values, ink = 255; images back to back,
 * `layers[0].rows` each), `labels.length` per image. With an int8 model, an image of integer
 * pixels has its first layer computed in exact integer arithmetic (`packed`).
 */
export function forwardPixels(model: Model, pixels: ArrayLike<number>, out?: Float64Array): Float64Array {
  const size = model.layers[0].rows,
    classes = model.labels.length,
    n = pixels.length / size;
  if (n % 1) throw new RangeError(`${pixels.length} pixels, expected a multiple of ${size}`);
  const res = out ?? new Float64Array(n * classes);
  for (let s = 0; s < n; s++) run(model, pixels, res, s * size, s * classes, true);
  return res;
}

/** The model's input vector for raw 0..255 pixels (ink = 255): `x = pixel * input.scale`. */
export function pixelsToInput(model: ModelInfo, pixels: ArrayLike<number>, out?: Float64Array): Float64Array {
  const x = out ?? new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] * model.input.scale;
  return x;
}

export interface Classification {
  /** Index of the most probable class. */
  index: number;
  label: string;
  probability: number;
  probs: Float64Array;
}

/** Classify one 28x28 image of 0..255 pixels (ink = 255 on 0). */
export function classifyPixels(model: Model, pixels: ArrayLike<number>): Classification {
  if (pixels.length != model.layers[0].rows)
    throw new RangeError(`${pixels.length} pixels, expected ${model.layers[0].rows}`);
  const probs = forwardPixels(model, pixels);
  let index = 0;
  for (let j = 1; j < probs.length; j++) if (probs[j] > probs[index]) index = j;
  return { index, label: model.labels[index], probability: probs[index], probs };
}

// ---- preprocessing (raw grayscale pixels -> 28x28 MNIST-style input) ----

export interface Preprocessed {
  /** 28x28 row-major, ink = 255 on 0: what the model sees (all 0 when nothing was found). */
  pixels: Uint8ClampedArray;
  /** Some ink stood out from the background. */
  found: boolean;
  /** The image was inverted (dark ink on a light background). */
  inverted: boolean;
}

/** Gray 0..255 from RGBA bytes (e.g. a canvas's ImageData.data), alpha flattened onto white. */
export function toGray(d: ArrayLike<number>): Uint8ClampedArray {
  const g = new Uint8ClampedArray(d.length >> 2);
  for (let i = 0, o = 0; i < g.length; i++, o += 4) g[i] = 255 - ((765 - d[o] - d[o + 1] - d[o + 2]) * d[o + 3]) / 765;
  return g;
}

/** Area-average `L` lines of `n` samples (line `l` at `o + l * sl`) into `m` samples each, written transposed: `b[k * L + l]`. */
function resample(a: ArrayLike<number>, o: number, sl: number, n: number, m: number, L: number): Float64Array {
  const f = m / n,
    b = new Float64Array(m * L);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < n; i++) {
      const u = a[o + l * sl + i],
        lo = i * f,
        hi = lo + f;
      if (u) for (let k = lo | 0; k < hi; k++) b[k * L + l] += u * (Math.min(hi, k + 1) - Math.max(lo, k));
    }
  }
  return b;
}

/**
 * MNIST's recipe on a `w` x `h` gray image (0..255, e.g. `toGray(imageData.data)`), returning the
 * model's 28x28 input:
 * 1. background = median of the border pixels; polarity: `invert` true/false forces it, undefined
 *    (auto) inverts when the image's mean is darker than the background (dark ink on light);
 * 2. ink = difference from the background; under 40/255 is noise (JPEG, paper) and ignored;
 * 3. crop to the ink, scale so the longer side is 20 px (area averaging: thin strokes keep their mass);
 * 4. normalise contrast: gain so the ink's intensity-weighted mean is 217 (MNIST's typical value),
 *    which also brings faint thin strokes up to MNIST's brightness;
 * 5. place it with the ink's centre of mass at pixel (14, 14), shifted less if ink would fall off.
 * `found` is false when there is no ink (blank image): never classify that. `g` must hold exactly
 * w*h values (a RangeError otherwise: RGBA needs `toGray` first).
 */
export function preprocess(g: ArrayLike<number>, w: number, h: number, invert?: boolean): Preprocessed {
  const n = w * h;
  if (g.length != n || !n) throw new RangeError(`${g.length} gray values for ${w}x${h}`);
  const pixels = new Uint8ClampedArray(784),
    b: number[] = [],
    box = [w, 0, h, 0, w, 0, h, 0];
  for (let i = 0; i < w; i++) b.push(g[i], g[n - w + i]);
  for (let i = 0; i < n; i += w) b.push(g[i], g[i + w - 1]);
  let bg = new Uint8Array(b).sort()[b.length >> 1],
    sum = 0;
  // One pass, row by row: the sum (for the polarity) and the ink's bounding box in both polarities
  // (x0, x1, y0, y1 brighter than the background, then darker).
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const d = g[i] - bg;
      sum += g[i];
      if (d > 40 || d < -40) {
        const k = d > 0 ? 0 : 4;
        if (x < box[k]) box[k] = x;
        if (x > box[k + 1]) box[k + 1] = x;
        if (y < box[k + 2]) box[k + 2] = y;
        box[k + 3] = y;
      }
    }
  }
  const inverted = invert ?? sum < bg * n,
    sg = inverted ? -1 : 1,
    [x0, x1, y0, y1] = box.slice(inverted ? 4 : 0);
  const found = x1 - x0 + y1 - y0 > 3;
  if (found) {
    const bw = x1 - x0 + 1,
      bh = y1 - y0 + 1,
      s = 20 / Math.max(bw, bh),
      v = new Uint8ClampedArray(bw * bh);
    const ow = Math.round(bw * s) || 1,
      oh = Math.round(bh * s) || 1;
    // The ink inside the box: the difference from the background, under 40 as 0.
    for (let y = 0, o = 0; y < bh; y++) {
      for (let x = 0, i = (y + y0) * w + x0; x < bw; x++, o++, i++) {
        const u = (g[i] - bg) * sg;
        if (u > 40) v[o] = u;
      }
    }
    const q = resample(resample(v, 0, bw, bw, ow, bh), 0, bh, bh, oh, ow);
    let m = 0,
      m2 = 0,
      cx = 0,
      cy = 0;
    for (let i = 0; i < q.length; i++) {
      m += q[i];
      m2 += q[i] * q[i];
      cx += (i % ow) * q[i];
      cy += ((i / ow) | 0) * q[i];
    }
    const dx = Math.min(Math.max(Math.round(14 - cx / m), 0), 28 - ow),
      dy = Math.min(Math.max(Math.round(14 - cy / m), 0), 28 - oh),
      top = (217 * m) / m2;
    for (let i = 0; i < q.length; i++) pixels[(((i / ow) | 0) + dy) * 28 + (i % ow) + dx] = q[i] * top;
  }
  return { pixels, found, inverted };
}
