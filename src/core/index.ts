/**
 * digitkit inference core: parse + validate a model (contract: digitkit-mlp versions 1 and 2),
 * dequantize once, run the forward pass, and turn pictures into the model's pixels. One ES module
 * that imports nothing and touches no host globals, so the same file runs in Node and in a browser
 * (`<script type="module">`).
 *
 * Arithmetic is float64 throughout: weights are dequantized as `q * scale` in float64 (exactly the
 * contract's reference), so the only difference from a reference forward pass is summation order.
 */

export const MODEL_FORMAT = 'digitkit-mlp';
/** The newest version this reader knows; it reads every version from 1 on. */
export const MODEL_VERSION = 2;
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

/** How one layer's weights are stored. */
export type LayerDtype = 'int8' | 'int4' | 'float32';

/** One layer as stored in the file, decoded but not dequantized. */
export interface RawLayer {
  rows: number;
  cols: number;
  dtype: LayerDtype;
  /** Row-major (input-major) weights: int8 and int4 values (int4 unpacked, in [-7, 7]) or float32. */
  q: Int8Array | Float32Array;
  /** int8/int4 only: one scale for the layer, or one per output column. */
  scale?: number | number[];
  b: number[];
}

/** An image input: `size` = width * height * channels pixels 0..255 (channels interleaved), x = pixel * scale. */
export interface ImageInput {
  kind: 'image';
  width: number;
  height: number;
  channels: number;
  scale: number;
  /** How a picture becomes the model's pixels: MNIST-style digit centring, or a plain resize. */
  preprocess: 'digit' | 'resize';
  size: number;
}

/** A vector of `size` features: x[i] = (v[i] - offset[i]) * scale[i]. */
export interface VectorInput {
  kind: 'vector';
  size: number;
  offset: number[];
  scale: number[];
  names?: string[];
}

export interface ModelInfo {
  /** The file's version (a writer uses 1 whenever the model fits it). */
  version: number;
  /** The file's dtype: every layer's, or "mixed" when each layer names its own. */
  dtype: LayerDtype | 'mixed';
  input: ImageInput | VectorInput;
  labels: string[];
  meta: unknown;
}

export interface RawModel extends ModelInfo {
  layers: RawLayer[];
}

/** A loaded model, ready to run: weights dequantized to float64 (once, when first used). */
export interface Model extends ModelInfo {
  layers: { rows: number; cols: number; w: Float64Array; b: Float64Array }[];
}

/** What `loadRawModel` builds beyond the public Model: working state the forward pass owns. */
interface Loaded extends Model {
  /**
   * int8/int4 image models with one scale and an even column count: layer 0 for integer pixels
   * 0..255, in exact integers. Weight (i, j) holds q[i][j] + q[i][j + cols/2] * 2^26 for j < cols/2:
   * a column's sum of pixel * q stays below 2^25 in magnitude, so one float64 carries two columns
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
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const POS_INT = ', expected a positive integer';
const POS_NUM = ', expected a finite positive number';
/** Logit bound above which a model is refused: softmax needs finite logits (see the load-time check). */
const MAX_LOGIT = 1e300;

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

  const { version, dtype, input, labels } = doc;
  const v2 = version === 2;
  /** `v` must be one of `allowed`; the version-2 values count only in a version-2 file. */
  const oneOf = (v: unknown, field: string, allowed: unknown[], only2: unknown[] = []) =>
    need(
      allowed.includes(v) || (v2 && only2.includes(v)),
      field,
      `is ${show(v)}, expected ${(v2 ? allowed.concat(only2) : allowed).map(show).join(' or ')}${
        !v2 && only2.includes(v) ? ' in a version-1 file' : ''
      }`,
    );
  need(doc.format === MODEL_FORMAT, 'format', `is ${show(doc.format)}, expected "${MODEL_FORMAT}"`);
  need(version === 1 || v2, 'version', `is ${show(version)}, this reader knows versions 1 and 2`);
  oneOf(dtype, 'dtype', ['int8', 'float32'], ['int4', 'mixed']);
  oneOf(doc.activation ?? 'relu', 'activation', ['relu']);
  oneOf(doc.output ?? 'softmax', 'output', ['softmax']);
  need(input && typeof input == 'object', 'input', `is ${show(input)}, expected an object`);
  oneOf(input.kind ?? 'image', 'input.kind', ['image'], ['vector']);
  let inp: ImageInput | VectorInput, from: string;
  if (input.kind == 'vector') {
    const { size, offset, scale, names } = input;
    need(isPosInt(size), 'input.size', `is ${show(size)}${POS_INT}`);
    /** An array of `size` entries passing `ok` (or, where `one` allows, a single one for all). */
    const list = (v: any, field: string, ok: (e: unknown) => boolean, what: string, one?: boolean): any[] => {
      if (one && !Array.isArray(v)) {
        need(ok(v), field, `is ${show(v)}, expected ${what} or an array of ${size}`);
        return Array(size).fill(v);
      }
      need(Array.isArray(v) && v.length == size, field, `is ${show(v)}, expected an array of ${size}`);
      const bad = v.findIndex((e: unknown) => !ok(e));
      need(bad < 0, `${field}[${bad}]`, `is ${show(v[bad])}, expected ${what}`);
      return v;
    };
    inp = {
      kind: 'vector',
      size,
      offset: list(offset ?? 0, 'input.offset', Number.isFinite, 'a finite number', offset === undefined),
      scale: list(scale, 'input.scale', isPos, 'a finite positive number', true),
    };
    if (names !== undefined) inp.names = list(names, 'input.names', (e) => typeof e == 'string', 'a string');
    from = '(input.size)';
  } else {
    const { width, height, channels = 1, scale, preprocess = 'digit' } = input;
    need(isPosInt(width), 'input.width', `is ${show(width)}${POS_INT}`);
    need(isPosInt(height), 'input.height', `is ${show(height)}${POS_INT}`);
    need(isPos(scale), 'input.scale', `is ${show(scale)}${POS_NUM}`);
    oneOf(channels, 'input.channels', [1], [3]);
    oneOf(preprocess, 'input.preprocess', ['digit'], ['resize']);
    inp = { kind: 'image', width, height, channels, scale, preprocess, size: width * height * channels };
    from = channels > 1 ? '(input.width x input.height x input.channels)' : '(input.width x input.height)';
  }
  need(
    Array.isArray(labels) && labels.length && labels.every((l) => typeof l == 'string' && l),
    'labels',
    'is not a non-empty array of non-empty strings',
  );
  need(Array.isArray(doc.layers) && doc.layers.length, 'layers', 'is not a non-empty array');

  // Bound on |activation| through the network, worst case from the input's range (pixels 0..255; for
  // vectors, per unit of standardised input): refuse a model whose logits could overflow, since
  // softmax of a non-finite logit is NaN. (Vector inputs are unbounded: forward checks too.)
  let n = inp.size,
    bound = inp.kind == 'image' ? 255 * inp.scale : 1;
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
    if (!v2) need(l.dtype === undefined, at + '.dtype', `is ${show(l.dtype)}: a layer dtype needs a version-2 file`);
    const lt: LayerDtype = l.dtype ?? (dtype == 'mixed' ? undefined : dtype);
    oneOf(lt, at + '.dtype', ['int8', 'int4', 'float32']);
    const bytes = (typeof w == 'string' && decodeBase64(w, base64)) as Uint8Array;
    need(
      bytes,
      at + '.w',
      typeof w == 'string' ? 'is not valid base64 (RFC 4648, with padding)' : `is ${show(w)}, expected a base64 string`,
    );
    const size = lt == 'int8' ? count : lt == 'int4' ? (count + 1) >> 1 : 4 * count;
    need(bytes.length == size, at + '.w', `decodes to ${bytes.length} bytes, expected ${size} (${rows}x${cols} ${lt})`);
    let q: Int8Array | Float32Array;
    let bad: number;
    let max = 0;
    if (lt != 'float32') {
      const Q = lt == 'int8' ? 127 : 7;
      if (lt == 'int8') q = new Int8Array(bytes.buffer, bytes.byteOffset, count);
      else {
        // Two's-complement nibbles, element 2m low and 2m+1 high; an odd count pads with a zero nibble.
        q = new Int8Array(count);
        for (let i = 0; i < count; i++) q[i] = (bytes[i >> 1] << (i & 1 ? 24 : 28)) >> 28;
        need(count % 2 == 0 || bytes[size - 1] < 16, at + '.w', 'has a nonzero padding nibble after its last weight');
      }
      bad = q.indexOf(-Q - 1);
      need(bad < 0, at + '.w', `holds ${-Q - 1} at index ${bad}, expected values in [-${Q}, ${Q}]`);
      const arr = Array.isArray(scale);
      need(
        arr ? scale.length == cols : isPos(scale),
        at + '.scale',
        `is ${show(scale)}${POS_NUM} or an array of ${cols}`,
      );
      bad = arr ? scale.findIndex((s: unknown) => !isPos(s)) : -1;
      need(bad < 0, `${at}.scale[${bad}]`, `is ${show(scale[bad])}${POS_NUM}`);
      max = Q * (arr ? maxAbs(scale) : scale);
    } else {
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      q = new Float32Array(count);
      for (let i = 0; i < count; i++) max = Math.max(max, Math.abs((q[i] = dv.getFloat32(4 * i, true)))); // the file is little-endian
      bad = q.findIndex((v) => !Number.isFinite(v));
      need(bad < 0, at + '.w', `holds a non-finite weight at index ${bad}`);
    }
    need(Array.isArray(b) && b.length == cols, at + '.b', `is ${show(b)}, expected an array of ${cols} numbers`);
    bad = b.findIndex((v: unknown) => !Number.isFinite(v));
    need(bad < 0, `${at}.b[${bad}]`, `is ${show(b[bad])}, expected a finite number`);
    bound = rows * max * bound + maxAbs(b);
    need(
      !(bound > MAX_LOGIT),
      at,
      `has weights so large that outputs could overflow (bound ${bound.toExponential(2)})`,
    );
    return { rows, cols, dtype: lt, q, scale: lt == 'float32' ? undefined : scale, b };
  });
  need(n == labels.length, `layers[${layers.length - 1}].cols`, `is ${n}, expected ${labels.length} (labels.length)`);
  return { version, dtype, input: inp, labels, layers, meta: doc.meta };
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
 * an int8 or int4 model classifying pixels never needs layer 0's (it runs `packed`), which shortens a start.
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
  const { rows, cols, q, scale, dtype } = raw.layers[0],
    h = cols / 2;
  let packed;
  // rows * 255 * max|q| < 2^25: the bound packing needs.
  if (
    raw.input.kind == 'image' &&
    typeof scale == 'number' &&
    h % 1 == 0 &&
    rows * 255 * (dtype == 'int4' ? 7 : 127) < 2 ** 25
  ) {
    const w = new Float64Array(q.length);
    for (let i = 0; i < q.length; i += cols) for (let j = i; j < i + h; j++) w[j] = q[j] + q[j + h] * 2 ** 26;
    packed = { w, f: scale * raw.input.scale };
  }
  const m: Loaded = {
    ...raw,
    layers,
    packed,
    scratch: layers.map((l) => new Float64Array(l.cols)),
    idx: new Int32Array(n),
    val: new Float64Array(n),
  };
  return m;
}

/** Parse, validate and dequantize a model file's text (or parsed JSON). */
export function loadModel(text: string | unknown, source?: string): Model {
  return loadRawModel(parseRawModel(text, source));
}

/**
 * Probabilities for one input vector `x` (already scaled, as the model's first layer takes it), read
 * from `x` at `xOff`, written to `out` at `outOff`.
 */
export function forward(model: Model, x: ArrayLike<number>, out?: Float64Array, xOff = 0, outOff = 0): Float64Array {
  return run(model as Loaded, x, out ?? new Float64Array(model.labels.length), xOff, outOff);
}

/**
 * `forward`; with `raw`, `x` holds the model's raw input instead (pixels 0..255 for an image model,
 * feature values for a vector model), scaled here.
 */
function run(
  model: Loaded,
  x: ArrayLike<number>,
  out: Float64Array,
  xOff: number,
  outOff: number,
  raw?: boolean,
): Float64Array {
  const { layers, idx, val, packed, input } = model,
    { rows, cols, b } = layers[0],
    z = model.scratch[0],
    vec = raw && input.kind == 'vector';
  // Input-major: gather the inputs that are not zero (most MNIST pixels are), then add x_i * W[i, :]
  // for each (accumulate).
  let m = 0,
    exact = raw && !!packed;
  for (let i = 0; i < rows; i++) {
    let v = x[xOff + i];
    if (vec) v = (v - input.offset[i]) * input.scale[i];
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
    for (let t = 0; raw && !vec && t < m; t++) val[t] *= input.scale as number;
    z.set(b);
    accumulate(z, layers[0].w, idx, val, m, cols);
  }
  for (let k = 1; k < layers.length; k++) {
    // A hidden layer: ReLU zeroes about half of its inputs, skipped too (a NaN is kept, so that it
    // reaches the logits and softmax refuses it rather than ReLU hiding it).
    const { rows, cols, w, b } = layers[k],
      a = model.scratch[k - 1],
      z = model.scratch[k];
    m = 0;
    for (let i = 0; i < rows; i++) {
      if (!(a[i] <= 0)) {
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

/**
 * Numerically stable softmax of `z` into `out` (subtract the max before exp). Non-finite logits (an
 * input far outside what the model was made for) throw a RangeError: never NaN probabilities.
 */
export function softmax(z: ArrayLike<number>, out: Float64Array | Float32Array, outOff = 0): void {
  let max = -Infinity;
  let sum = 0;
  for (let j = 0; j < z.length; j++) max = Math.max(max, z[j]);
  if (max - max !== 0) throw new RangeError("the logits are not finite (an input far outside the model's range?)");
  for (let j = 0; j < z.length; j++) sum += out[outOff + j] = Math.exp(z[j] - max);
  for (let j = 0; j < z.length; j++) out[outOff + j] /= sum;
}

/** Probabilities for `n` inputs stored back to back in `xs` (each `layers[0].rows` long). */
export function forwardBatch(model: Model, xs: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
  const size = model.input.size;
  const classes = model.labels.length;
  const res = out ?? new Float64Array(n * classes);
  for (let s = 0; s < n; s++) run(model as Loaded, xs, res, s * size, s * classes);
  return res;
}

/** The batch forward over raw inputs for models of one input kind. */
const forwardRaw =
  (kind: string, what: string) =>
  (model: Model, raw: ArrayLike<number>, out?: Float64Array): Float64Array => {
    const size = model.input.size,
      classes = model.labels.length,
      n = raw.length / size;
    if (model.input.kind != kind)
      throw new RangeError(`the model's input kind is ${model.input.kind}: it does not take ${what}`);
    if (n % 1) throw new RangeError(`${raw.length} ${what}, expected a multiple of ${size}`);
    const res = out ?? new Float64Array(n * classes);
    for (let s = 0; s < n; s++) run(model as Loaded, raw, res, s * size, s * classes, true);
    return res;
  };

/**
 * Probabilities for every image in `pixels` (an image model's raw 0..255 values, ink = 255 for a
 * digit model, channels interleaved; images back to back, `input.size` each), `labels.length` per
 * image. With an int8 or int4 model, an image of integer pixels has its first layer computed in exact
 * integer arithmetic (`packed`).
 */
export const forwardPixels = forwardRaw('image', 'pixels');

/** Probabilities for every row in `values` (a vector model's raw feature values, rows back to back). */
export const forwardValues = forwardRaw('vector', 'values');

/** The model's input vector for raw 0..255 pixels (ink = 255): `x = pixel * input.scale`. */
export function pixelsToInput(model: ModelInfo, pixels: ArrayLike<number>, out?: Float64Array): Float64Array {
  const x = out ?? new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] * (model.input.scale as number);
  return x;
}

export interface Classification {
  /** Index of the most probable class. */
  index: number;
  label: string;
  probability: number;
  probs: Float64Array;
}

/** The most probable class of one input's probabilities. */
const classify =
  (forwardOne: (model: Model, raw: ArrayLike<number>) => Float64Array, what: string) =>
  (model: Model, raw: ArrayLike<number>): Classification => {
    if (raw.length != model.input.size) throw new RangeError(`${raw.length} ${what}, expected ${model.input.size}`);
    const probs = forwardOne(model, raw);
    let index = 0;
    for (let j = 1; j < probs.length; j++) if (probs[j] > probs[index]) index = j;
    return { index, label: model.labels[index], probability: probs[index], probs };
  };

/** Classify one image of 0..255 pixels (for a digit model: ink = 255 on 0), `input.size` of them. */
export const classifyPixels = classify(forwardPixels, 'pixels');

/** Classify one row of a vector model's raw feature values. */
export const classifyValues = classify(forwardValues, 'values');

// ---- preprocessing (a picture -> the model's pixels) ----

export interface Preprocessed {
  /** The model's input pixels, row-major (for a digit model ink = 255 on 0; all 0 when nothing was found). */
  pixels: Uint8ClampedArray;
  /** Some ink stood out from the background (always true for a "resize" model). */
  found: boolean;
  /** The image was inverted (dark ink on a light background). */
  inverted: boolean;
}

/**
 * Gray 0..255 from RGBA bytes (e.g. a canvas's ImageData.data), alpha flattened onto white; but when
 * the background is transparent (most pixels under half opaque) and the ink is light (its
 * alpha-weighted mean over 127.5), onto black: white ink on transparent is its alpha, not blank.
 */
export function toGray(d: ArrayLike<number>): Uint8ClampedArray {
  const g = new Uint8ClampedArray(d.length >> 2);
  let t = 0,
    s = 0,
    v = (o: number) => d[o] + d[o + 1] + d[o + 2];
  for (let o = 0; o < d.length; o += 4) {
    if (d[o + 3] < 128) t += 2;
    s += (v(o) - 382.5) * d[o + 3];
  }
  const b = t > g.length && s > 0 ? 0 : 765;
  for (let i = 0, o = 0; i < g.length; i++, o += 4) g[i] = b / 3 - ((b - v(o)) * d[o + 3]) / 765;
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

/** A `w` x `h` plane area-averaged to `W` x `H` (row-major both). */
const resize2d = (a: ArrayLike<number>, w: number, h: number, W: number, H: number) =>
  resample(resample(a, 0, w, w, W, h), 0, h, h, H, W);

/**
 * MNIST's recipe on a `w` x `h` gray image (0..255, e.g. `toGray(imageData.data)`), returning a
 * `W` x `H` input (default 28x28, MNIST's; other sizes scale the 20-pixel box and the centre with it):
 * 1. background = median of the border pixels; polarity: `invert` true/false forces it, undefined
 *    (auto) inverts when the image's mean is darker than the background (dark ink on light);
 * 2. ink = difference from the background; under 40/255 is noise (JPEG, paper) and ignored;
 * 3. crop to the ink, scale so it fits a 20x20 box keeping its aspect (area averaging: thin strokes keep their mass);
 * 4. normalise contrast: gain so the ink's intensity-weighted mean is 217 (MNIST's typical value),
 *    which also brings faint thin strokes up to MNIST's brightness;
 * 5. place it with the ink's centre of mass at pixel (14, 14), shifted less if ink would fall off.
 * `found` is false when there is no ink (blank image): never classify that. `g` must hold exactly
 * w*h values (a RangeError otherwise: RGBA needs `toGray` first).
 */
export function preprocess(g: ArrayLike<number>, w: number, h: number, invert?: boolean, W = 28, H = 28): Preprocessed {
  const n = w * h;
  if (g.length != n || !n) throw new RangeError(`${g.length} gray values for ${w}x${h}`);
  const pixels = new Uint8ClampedArray(W * H),
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
    // (For 28x28, min(20 / bw, 20 / bh) is exactly 20 / max(bw, bh): division rounds monotonically.)
    const bw = x1 - x0 + 1,
      bh = y1 - y0 + 1,
      s = Math.min((W * 20) / 28 / bw, (H * 20) / 28 / bh),
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
    const q = resize2d(v, bw, bh, ow, oh);
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
    const dx = Math.min(Math.max(Math.round(W / 2 - cx / m), 0), W - ow),
      dy = Math.min(Math.max(Math.round(H / 2 - cy / m), 0), H - oh),
      top = (217 * m) / m2;
    for (let i = 0; i < q.length; i++) pixels[(((i / ow) | 0) + dy) * W + (i % ow) + dx] = q[i] * top;
  }
  return { pixels, found, inverted };
}

/**
 * A `w` x `h` RGBA picture (e.g. a canvas's ImageData.data) as an image model's pixels, the way the
 * model says (`input.preprocess`): "digit" runs `preprocess` on its gray; "resize" area-averages the
 * whole picture to width x height, alpha flattened onto white, gray or RGB per `input.channels`, with
 * no crop and no inversion. (A 3-channel digit model gets the gray in all three.)
 */
export function prepareImage(
  model: ModelInfo,
  rgba: ArrayLike<number>,
  w: number,
  h: number,
  invert?: boolean,
): Preprocessed {
  const inp = model.input;
  if (inp.kind != 'image') throw new RangeError('a vector model does not take images');
  const { width: W, height: H, channels: c } = inp;
  if (rgba.length != 4 * w * h || !rgba.length) throw new RangeError(`${rgba.length} RGBA values for ${w}x${h}`);
  if (inp.preprocess == 'digit') {
    const p = preprocess(toGray(rgba), w, h, invert, W, H);
    if (c > 1) p.pixels = Uint8ClampedArray.from({ length: inp.size }, (_, i) => p.pixels[(i / c) | 0]);
    return p;
  }
  const pixels = new Uint8ClampedArray(inp.size);
  for (let k = 0; k < c; k++) {
    const plane =
      c > 1
        ? Array.from({ length: w * h }, (_, i) => 255 - ((255 - rgba[4 * i + k]) * rgba[4 * i + 3]) / 255)
        : toGray(rgba);
    resize2d(plane, w, h, W, H).forEach((v, i) => (pixels[i * c + k] = v));
  }
  return { pixels, found: true, inverted: false };
}
