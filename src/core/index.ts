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
const MAX_LAYER_WEIGHTS = 16_777_216;

/** A model file that breaks the contract. `field` is the JSON path of the offending field. */
export class ModelError extends Error {
  readonly field: string;
  constructor(source: string, field: string, problem: string) {
    super(`${source}: ${field ? field + ' ' : ''}${problem}`);
    this.name = 'ModelError';
    this.field = field;
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

/** A loaded model, ready to run: weights dequantized to float64 once. */
export interface Model extends ModelInfo {
  layers: { rows: number; cols: number; w: Float64Array; b: Float64Array }[];
  /** Activation scratch, allocated once per model (forward is synchronous, so sharing is safe). */
  scratch: Float64Array[];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Strict RFC 4648 base64 (with padding). Returns null on any invalid character or length. */
export function decodeBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = s.charCodeAt(i + k);
      let d = c < 128 ? B64_INDEX[c] : -1;
      if (d < 0) {
        // '=' only as the last one or two characters of the string.
        if (c === 61 && i + 4 === s.length && k >= 4 - pad) d = 0;
        else return null;
      }
      v = (v << 6) | d;
    }
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function checkKeys(value: unknown, path: string, source: string): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkKeys(value[i], `${path}[${i}]`, source);
    return;
  }
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) throw new ModelError(source, here, 'is a forbidden key (the file is data, never code)');
    checkKeys((value as Record<string, unknown>)[key], here, source);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isPosFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v));

/**
 * Parse and validate a model file's text (or an already-parsed JSON value) without dequantizing.
 * `source` names the file in error messages.
 */
export function parseRawModel(text: string | unknown, source = 'model'): RawModel {
  let doc: unknown = text;
  if (typeof text === 'string') {
    // A UTF-16 length above the limit means the UTF-8 byte length is too.
    if (text.length > MAX_MODEL_BYTES) throw new ModelError(source, '', `is larger than ${MAX_MODEL_BYTES} bytes`);
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ModelError(source, '', `is not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(doc)) throw new ModelError(source, '', 'is not a JSON object');
  checkKeys(doc, '', source);
  const fail = (field: string, problem: string): never => {
    throw new ModelError(source, field, problem);
  };

  if (doc.format !== MODEL_FORMAT) fail('format', `is ${show(doc.format)}, expected "${MODEL_FORMAT}"`);
  if (doc.version !== MODEL_VERSION) fail('version', `is ${show(doc.version)}, this reader knows version ${MODEL_VERSION}`);
  const dtype = doc.dtype;
  if (dtype !== 'int8' && dtype !== 'float32') fail('dtype', `is ${show(dtype)}, expected "int8" or "float32"`);
  if (doc.activation !== undefined && doc.activation !== 'relu') fail('activation', `is ${show(doc.activation)}, expected "relu"`);
  if (doc.output !== undefined && doc.output !== 'softmax') fail('output', `is ${show(doc.output)}, expected "softmax"`);

  const inp = doc.input;
  if (!isObject(inp)) fail('input', 'is missing or not an object');
  const input = inp as Record<string, unknown>;
  if (!isPosInt(input.width)) fail('input.width', `is ${show(input.width)}, expected a positive integer`);
  if (!isPosInt(input.height)) fail('input.height', `is ${show(input.height)}, expected a positive integer`);
  if (!isPosFinite(input.scale)) fail('input.scale', `is ${show(input.scale)}, expected a finite positive number`);

  const labels = doc.labels;
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string')) {
    fail('labels', 'is missing or not a non-empty array of strings');
  }
  const layersIn = doc.layers;
  if (!Array.isArray(layersIn) || layersIn.length === 0) fail('layers', 'is missing or empty');

  const layers: RawLayer[] = [];
  let prevCols = (input.width as number) * (input.height as number);
  (layersIn as unknown[]).forEach((l, k) => {
    const at = `layers[${k}]`;
    if (!isObject(l)) return fail(at, 'is not an object');
    const { rows, cols } = l;
    if (!isPosInt(rows)) return fail(`${at}.rows`, `is ${show(rows)}, expected a positive integer`);
    if (!isPosInt(cols)) return fail(`${at}.cols`, `is ${show(cols)}, expected a positive integer`);
    if (rows * cols > MAX_LAYER_WEIGHTS) fail(`${at}`, `has ${rows}x${cols} weights, more than ${MAX_LAYER_WEIGHTS}`);
    if (rows !== prevCols) {
      fail(`${at}.rows`, k === 0 ? `is ${rows}, expected ${prevCols} (input.width x input.height)` : `is ${rows}, expected ${prevCols} (layers[${k - 1}].cols)`);
    }
    prevCols = cols;
    const count = rows * cols;
    const bytesPer = dtype === 'int8' ? 1 : 4;
    if (typeof l.w !== 'string') return fail(`${at}.w`, 'is missing or not a base64 string');
    const bytes = decodeBase64(l.w);
    if (!bytes) return fail(`${at}.w`, 'is not valid base64 (RFC 4648 with padding)');
    if (bytes.length !== count * bytesPer) {
      fail(`${at}.w`, `decodes to ${bytes.length} bytes, expected ${count * bytesPer} (${rows}x${cols} ${dtype})`);
    }
    let q: Int8Array | Float32Array;
    let scale: number | number[] | undefined;
    if (dtype === 'int8') {
      q = new Int8Array(bytes.buffer, bytes.byteOffset, count);
      for (let i = 0; i < count; i++) if (q[i] === -128) fail(`${at}.w`, `holds -128 at index ${i}, expected values in [-127, 127]`);
      const s = l.scale;
      if (s === undefined) return fail(`${at}.scale`, 'is missing (required for int8)');
      if (Array.isArray(s)) {
        if (s.length !== cols) fail(`${at}.scale`, `has ${s.length} entries, expected ${cols} (one per output column) or one number`);
        s.forEach((v, j) => { if (!isPosFinite(v)) fail(`${at}.scale[${j}]`, `is ${show(v)}, expected a finite positive number`); });
        scale = s as number[];
      } else if (!isPosFinite(s)) {
        return fail(`${at}.scale`, `is ${show(s)}, expected a finite positive number or an array of ${cols}`);
      } else scale = s;
    } else {
      // Copy so the float view is 4-byte aligned whatever the decoder returned.
      const f = new Float32Array(count);
      new Uint8Array(f.buffer).set(bytes);
      if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
        // Big-endian host: the file is little-endian.
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < count; i++) f[i] = dv.getFloat32(4 * i, true);
      }
      for (let i = 0; i < count; i++) if (!Number.isFinite(f[i])) fail(`${at}.w`, `holds a non-finite weight at index ${i}`);
      q = f;
    }
    const b = l.b;
    if (!Array.isArray(b)) return fail(`${at}.b`, 'is missing or not an array');
    if (b.length !== cols) fail(`${at}.b`, `has ${b.length} entries, expected ${cols}`);
    b.forEach((v, j) => { if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${at}.b[${j}]`, `is ${show(v)}, expected a finite number`); });
    layers.push({ rows, cols, q, scale, b: b as number[] });
  });
  if (prevCols !== (labels as string[]).length) {
    fail(`layers[${layers.length - 1}].cols`, `is ${prevCols}, expected ${(labels as string[]).length} (labels.length)`);
  }
  return {
    dtype: dtype as 'int8' | 'float32',
    input: { width: input.width as number, height: input.height as number, scale: input.scale as number },
    labels: labels as string[],
    layers,
    meta: doc.meta,
  };
}

/** Dequantize a raw layer's weights to float64: `q * scale` (per layer or per output column). */
export function dequantize(layer: RawLayer): Float64Array {
  const { rows, cols, q, scale } = layer;
  const w = new Float64Array(rows * cols);
  if (scale === undefined) {
    for (let i = 0; i < w.length; i++) w[i] = q[i];
  } else if (typeof scale === 'number') {
    for (let i = 0; i < w.length; i++) w[i] = q[i] * scale;
  } else {
    for (let i = 0, p = 0; i < rows; i++) for (let j = 0; j < cols; j++, p++) w[p] = q[p] * scale[j];
  }
  return w;
}

/** Turn a validated raw model into a runnable one (dequantizes every layer once). */
export function loadRawModel(raw: RawModel): Model {
  const layers = raw.layers.map((l) => ({ rows: l.rows, cols: l.cols, w: dequantize(l), b: Float64Array.from(l.b) }));
  return {
    dtype: raw.dtype,
    input: raw.input,
    labels: raw.labels,
    meta: raw.meta,
    layers,
    scratch: layers.map((l) => new Float64Array(l.cols)),
  };
}

/** Parse, validate and dequantize a model file's text (or parsed JSON). */
export function loadModel(text: string | unknown, source = 'model'): Model {
  return loadRawModel(parseRawModel(text, source));
}

/**
 * One linear layer, input-major: for each nonzero input i, add x_i * W[i, :] to the outputs.
 * Zero inputs (most MNIST pixels, and every ReLU that is off) cost nothing.
 */
function linear(x: ArrayLike<number>, xOff: number, rows: number, cols: number, w: Float64Array, b: Float64Array, z: Float64Array): void {
  for (let j = 0; j < cols; j++) z[j] = b[j];
  for (let i = 0; i < rows; i++) {
    const xi = x[xOff + i];
    if (xi === 0) continue;
    const base = i * cols;
    for (let j = 0; j < cols; j++) z[j] += xi * w[base + j];
  }
}

function relu(z: Float64Array): void {
  for (let j = 0; j < z.length; j++) if (z[j] < 0) z[j] = 0;
}

/** Numerically stable softmax of `z` into `out` (subtract the max before exp). */
export function softmax(z: ArrayLike<number>, out: Float64Array | Float32Array, outOff = 0): void {
  let max = -Infinity;
  for (let j = 0; j < z.length; j++) if (z[j] > max) max = z[j];
  let sum = 0;
  for (let j = 0; j < z.length; j++) {
    const e = Math.exp(z[j] - max);
    out[outOff + j] = e;
    sum += e;
  }
  for (let j = 0; j < z.length; j++) out[outOff + j] /= sum;
}

/**
 * Probabilities for one input vector `x` (already scaled: x = pixel * input.scale), read from `x`
 * at `xOff`, written to `out` at `outOff`.
 */
export function forward(model: Model, x: ArrayLike<number>, out?: Float64Array, xOff = 0, outOff = 0): Float64Array {
  const L = model.layers;
  const res = out ?? new Float64Array(L[L.length - 1].cols);
  let a: ArrayLike<number> = x;
  let aOff = xOff;
  for (let k = 0; k < L.length; k++) {
    const z = model.scratch[k];
    linear(a, aOff, L[k].rows, L[k].cols, L[k].w, L[k].b, z);
    if (k < L.length - 1) relu(z);
    a = z;
    aOff = 0;
  }
  softmax(a, res, outOff);
  return res;
}

/** Probabilities for `n` inputs stored back to back in `xs` (each `layers[0].rows` long). */
export function forwardBatch(model: Model, xs: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
  const inSize = model.layers[0].rows;
  const classes = model.labels.length;
  const res = out ?? new Float64Array(n * classes);
  for (let s = 0; s < n; s++) forward(model, xs, res, s * inSize, s * classes);
  return res;
}

/** The model's input vector for raw 0..255 pixels (ink = 255): `x = pixel * input.scale`. */
export function pixelsToInput(model: ModelInfo, pixels: ArrayLike<number>, out?: Float64Array): Float64Array {
  const x = out ?? new Float64Array(pixels.length);
  const s = model.input.scale;
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] * s;
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
  const probs = forward(model, pixelsToInput(model, pixels));
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
  for (let i = 0; i < g.length; i++) g[i] = 255 - ((765 - d[4 * i] - d[4 * i + 1] - d[4 * i + 2]) * d[4 * i + 3]) / 765;
  return g;
}

/** Area-average `L` lines of `n` samples (line `l` at `o + l * sl`) into `m` samples each, written transposed: `b[k * L + l]`. */
function resample(a: ArrayLike<number>, o: number, sl: number, n: number, m: number, L: number): Float64Array {
  const f = m / n, b = new Float64Array(m * L);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < n; i++) {
      for (let k = (i * f) | 0; k < i * f + f; k++) b[k * L + l] += a[o + l * sl + i] * (Math.min(i * f + f, k + 1) - Math.max(i * f, k));
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
 * `found` is false when there is no ink (blank image): never classify that.
 */
export function preprocess(g: ArrayLike<number>, w: number, h: number, invert?: boolean): Preprocessed {
  const n = w * h, pixels = new Uint8ClampedArray(784), b: number[] = [], v = new Uint8ClampedArray(n);
  for (let i = 0; i < w; i++) b.push(g[i], g[n - w + i]);
  for (let i = 0; i < n; i += w) b.push(g[i], g[i + w - 1]);
  let bg = new Uint8Array(b).sort()[b.length >> 1], sum = 0, x0 = w, x1 = 0, y0 = h, y1 = 0;
  for (let i = 0; i < n; i++) sum += g[i];
  const inverted = invert ?? sum < bg * n;
  for (let i = 0; i < n; i++) {
    const u = inverted ? bg - g[i] : g[i] - bg;
    if (u > 40) {
      const x = i % w, y = (i / w) | 0;
      v[i] = u;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = y;
    }
  }
  const found = x1 - x0 + y1 - y0 > 3;
  if (found) {
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1, s = 20 / Math.max(bw, bh);
    const ow = Math.round(bw * s) || 1, oh = Math.round(bh * s) || 1;
    const q = resample(resample(v, y0 * w + x0, w, bw, ow, bh), 0, bh, bh, oh, ow);
    let m = 0, m2 = 0, cx = 0, cy = 0;
    for (let i = 0; i < q.length; i++) {
      m += q[i];
      m2 += q[i] * q[i];
      cx += (i % ow) * q[i];
      cy += ((i / ow) | 0) * q[i];
    }
    const dx = Math.min(Math.max(Math.round(14 - cx / m), 0), 28 - ow), dy = Math.min(Math.max(Math.round(14 - cy / m), 0), 28 - oh), top = (217 * m) / m2;
    for (let i = 0; i < q.length; i++) pixels[(((i / ow) | 0) + dy) * 28 + (i % ow) + dx] = q[i] * top;
  }
  return { pixels, found, inverted };
}
