/**
 * digitkit/core-wasm: the inference core's API on a WebAssembly SIMD forward pass. Same calls, same
 * results (within the fixtures' 1e-6 of the float64 reference), several times faster: a caller swaps
 * one import. Shipped as one ES module that imports nothing (dist/core-wasm/index.js: the core's parser
 * and this file bundled, the kernel inline as base64), so it runs unchanged in Node and in browsers.
 *
 * The model file is read by the core's own parser (one reading of the contract); the weights are then
 * laid out once in the model's own WebAssembly.Memory (src/core-wasm/wasm/forward.ts says how each
 * layer computes), and every call after that only copies pixels in and probabilities out.
 *
 * Where WebAssembly SIMD is missing (`wasmSimd` false), where the kernel may not be compiled (a page
 * whose Content-Security-Policy lacks 'wasm-unsafe-eval'), or for inputs the kernel does not take
 * (pixels that are not integers 0..255), the portable core computes the same results: a model from
 * this module always works, and `model.engine` says which ran.
 */
import {
  forwardPixels as coreForwardPixels,
  forwardValues as coreForwardValues,
  loadRawModel as loadCoreModel,
  parseRawModel,
  decodeBase64,
  type Classification,
  type Model as CoreModel,
  type ModelInfo,
  type RawModel,
  type VectorInput,
} from '../core/index.js';
import { KERNEL_BASE64 } from './kernel.js';

export {
  decodeBase64,
  MAX_MODEL_BYTES,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelError,
  parseRawModel,
  pixelsToInput,
  prepareImage,
  preprocess,
  toGray,
} from '../core/index.js';
export type {
  Classification,
  ImageInput,
  LayerDtype,
  ModelInfo,
  Preprocessed,
  RawLayer,
  RawModel,
  VectorInput,
} from '../core/index.js';

// ---- the WebAssembly JS API (no DOM or Node types here: the few members used, spelled out) ----

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
interface KernelExports {
  /** Returns the index of the first input whose logits are not finite, or -1. */
  forward(desc: number, input: number, count: number, out: number): number;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A module whose one function returns a v128 constant: valid only where wasm SIMD is. */
const SIMD_PROBE = Uint8Array.of(
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  5,
  1,
  96,
  0,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  22,
  1,
  20,
  0,
  253,
  12,
  ...new Array(16).fill(0),
  11,
);

/** True where this runtime has WebAssembly with SIMD: models then run on the kernel. */
export const wasmSimd: boolean = (() => {
  try {
    return !!WA && WA.validate(SIMD_PROBE) && KERNEL_BASE64.length > 0;
  } catch {
    return false;
  }
})();

const compiled: (object | undefined)[] = [];
/**
 * The kernel, compiled once per realm (synchronously: it is a few KB); `shared` for a memory that
 * threads share. The binary declares its imported memory with a maximum (limits flag 1); the shared
 * variant is the same bytes with that flag set to 3 (shared, with a maximum).
 */
function kernelModule(shared: boolean): object {
  const k = +shared;
  if (!compiled[k]) {
    const bytes = decodeBase64(KERNEL_BASE64)!;
    if (shared) bytes[memoryLimitsOffset(bytes)] = 3;
    compiled[k] = new WA!.Module(bytes);
  }
  return compiled[k]!;
}

/** Offset of the limits flag of the binary's one imported memory (walks the import section). */
function memoryLimitsOffset(b: Uint8Array): number {
  let o = 8;
  const leb = () => {
    let v = 0;
    for (let s = 0; ; s += 7) {
      const x = b[o++];
      v += (x & 127) * 2 ** s;
      if (x < 128) return v;
    }
  };
  while (o < b.length) {
    const id = b[o++],
      size = leb(),
      end = o + size;
    if (id == 2) {
      for (let n = leb(); n > 0; n--) {
        for (let names = 0; names < 2; names++) {
          // The module and field names (read the length first: leb() moves `o`).
          const length = leb();
          o += length;
        }
        const kind = b[o++];
        if (kind == 2) return o;
        // Not the memory (the kernel imports nothing else): a function type index, table or global.
        throw new Error('core-wasm: the kernel needs something besides its memory');
      }
    }
    o = end;
  }
  throw new Error('core-wasm: the kernel takes no memory');
}

// ---- memory layout (kept in step with the descriptor in wasm/forward.ts) ----

const D_LAYERS = 0,
  D_FIRST = 1,
  D_ROWS = 2,
  D_STRIDE = 3,
  D_IN_SCALE = 4,
  D_LIST = 6,
  D_TMP = 7,
  D_BUF_A = 8,
  D_BUF_B = 9,
  D_CLASSES = 10,
  D_LAYER0 = 16,
  L_ROWS = 0,
  L_COLS = 1,
  L_W = 2,
  L_B = 3,
  L_F = 4,
  L_SIZE = 8;
/** First layer: exact integer pairs on u8 pixels, float64 on u8 pixels, float64 on f64 inputs (vectors). */
const FIRST_INT = 0,
  FIRST_PIXELS = 1,
  FIRST_VALUES = 2;
/** Images per call into the kernel (their pixels and probabilities stay in the model's memory). */
const BLOCK = 256;
/** |Σ pixel * q| <= rows * 255 * 127 must stay below 2^31 for the integer first layer. */
const MAX_INT_ROWS = Math.floor((2 ** 31 - 1) / (255 * 127));

const up = (n: number, a: number) => Math.ceil(n / a) * a;

/** One thread's share of the memory: its descriptor, scratch, and a block of inputs and outputs. */
interface Slot {
  desc: number;
  input: number;
  output: number;
}

interface Kernel {
  exports: KernelExports;
  memory: WasmMemory;
  u8: Uint8Array;
  f64: Float64Array;
  stride: number;
  slots: Slot[];
  /** The slot this realm's calls use (each thread sharing the memory has its own). */
  slot: number;
}

/** A loaded model: the core's model fields, and where its weights live. */
export interface Model extends ModelInfo {
  layers: { rows: number; cols: number }[];
  /** What runs it: the WebAssembly kernel, or the portable core where wasm SIMD is missing. */
  engine: 'wasm' | 'core';
  /** @internal */
  kernel?: Kernel;
  /** @internal the parsed file, for the core's fallback. */
  raw: RawModel;
  /** @internal the core's model, made when first needed. */
  core?: CoreModel;
}

/**
 * Lay the model out in a fresh WebAssembly.Memory: the weights once, then `slots` scratch areas
 * (one per thread that runs it). Returns the kernel, ready.
 */
function layout(raw: RawModel, slots: number, shared: boolean): Kernel {
  const { layers, input } = raw;
  const rows = layers[0].rows;
  const image = input.kind == 'image';
  const intFirst = image && layers[0].dtype != 'float32' && rows <= MAX_INT_ROWS;
  // Bytes from one input to the next: pixels as u8, vector values as f64; a multiple of 16.
  const stride = up(image ? rows : rows * 8, 16);
  let end = 64;
  const take = (bytes: number) => {
    const at = end;
    end = up(end + bytes, 16);
    return at;
  };
  const plan = layers.map((l, k) => {
    const int = k == 0 && intFirst;
    const cols = up(l.cols, int ? 4 : 2);
    return {
      int,
      cols,
      w: take(int ? (stride / 2) * cols * 4 : l.rows * cols * 8),
      b: take(cols * 8),
      f: int ? take(cols * 8) : 0,
    };
  });
  const maxCols = Math.max(...plan.map((p) => p.cols));
  const maxRows = Math.max(stride, ...layers.map((l) => l.rows));
  const inScale = image ? input.scale : 1;
  const classes = raw.labels.length;
  const slotPlan = Array.from({ length: slots }, () => ({
    desc: take(4 * (D_LAYER0 + L_SIZE * layers.length)),
    list: take(16 * maxRows),
    tmp: take(32),
    a: take(8 * maxCols),
    b: take(8 * maxCols),
    input: take(BLOCK * stride),
    output: take(BLOCK * classes * 8),
  }));

  const pages = Math.ceil(end / 65536);
  // A shared memory is never grown (its views would go stale in other threads), so its maximum is its size.
  const memory = new WA!.Memory({ initial: pages, maximum: shared ? pages : 65536, shared });
  const buf = memory.buffer;
  const u8 = new Uint8Array(buf),
    i16 = new Int16Array(buf),
    i32 = new Int32Array(buf),
    f64 = new Float64Array(buf);
  layers.forEach((l, k) => {
    const p = plan[k];
    const sc = (j: number) => (l.scale === undefined ? 1 : typeof l.scale == 'number' ? l.scale : l.scale[j]);
    if (p.int) {
      // Rows 2p and 2p+1 interleaved, column by column: [pair][col][2] as i16.
      for (let i = 0; i < l.rows; i++)
        for (let j = 0, o = (p.w >> 1) + (i >> 1) * p.cols * 2 + (i & 1); j < l.cols; j++, o += 2)
          i16[o] = l.q[i * l.cols + j];
      for (let j = 0; j < l.cols; j++) f64[(p.f >> 3) + j] = sc(j) * inScale;
    } else {
      // Dequantized in float64 as the reference does: q * scale (float32 weights as they are).
      for (let i = 0; i < l.rows; i++)
        for (let j = 0, o = (p.w >> 3) + i * p.cols; j < l.cols; j++) f64[o + j] = l.q[i * l.cols + j] * sc(j);
    }
    for (let j = 0; j < l.cols; j++) f64[(p.b >> 3) + j] = l.b[j];
  });
  for (const s of slotPlan) {
    const d = s.desc >> 2;
    i32[d + D_LAYERS] = layers.length;
    i32[d + D_FIRST] = intFirst ? FIRST_INT : image ? FIRST_PIXELS : FIRST_VALUES;
    i32[d + D_ROWS] = rows;
    i32[d + D_STRIDE] = stride;
    f64[(s.desc >> 3) + D_IN_SCALE / 2] = inScale;
    i32[d + D_LIST] = s.list;
    i32[d + D_TMP] = s.tmp;
    i32[d + D_BUF_A] = s.a;
    i32[d + D_BUF_B] = s.b;
    i32[d + D_CLASSES] = classes;
    layers.forEach((l, k) => {
      const o = d + D_LAYER0 + L_SIZE * k;
      i32[o + L_ROWS] = l.rows;
      i32[o + L_COLS] = plan[k].cols;
      i32[o + L_W] = plan[k].w;
      i32[o + L_B] = plan[k].b;
      i32[o + L_F] = plan[k].f;
    });
  }
  return instantiate(
    memory,
    stride,
    slotPlan.map((s) => ({ desc: s.desc, input: s.input, output: s.output })),
    0,
    shared,
  );
}

function instantiate(memory: WasmMemory, stride: number, slots: Slot[], slot: number, shared: boolean): Kernel {
  const instance = new WA!.Instance(kernelModule(shared), { env: { memory } });
  return {
    exports: instance.exports as KernelExports,
    memory,
    u8: new Uint8Array(memory.buffer),
    f64: new Float64Array(memory.buffer),
    stride,
    slots,
    slot,
  };
}

export interface LoadOptions {
  /**
   * Lay the weights out in a shared WebAssembly.Memory that this many threads run at once (each
   * with its own scratch): hand `shareModel(model, t)` to thread t (t = 1 .. threads - 1) and
   * `attachModel` it there. Needs SharedArrayBuffer (in browsers: a cross-origin-isolated page).
   */
  threads?: number;
}

/** The model's public fields: the core's (minus its float64 weights), and what runs it. */
function modelOf(raw: RawModel, kernel: Kernel | undefined): Model {
  return {
    version: raw.version,
    dtype: raw.dtype,
    input: raw.input,
    labels: raw.labels,
    meta: raw.meta,
    layers: raw.layers.map((l) => ({ rows: l.rows, cols: l.cols })),
    engine: kernel ? 'wasm' : 'core',
    kernel,
    raw,
  };
}

/**
 * Whether this realm may compile the kernel: a browser refuses WebAssembly compilation to a page whose
 * Content-Security-Policy does not allow 'wasm-unsafe-eval' (models then run on the portable core).
 */
function kernelAllowed(shared: boolean): boolean {
  try {
    return !!kernelModule(shared);
  } catch {
    return false;
  }
}

/** Make a validated raw model runnable: on the kernel where wasm SIMD is, else on the portable core. */
export function loadRawModel(raw: RawModel, options: LoadOptions = {}): Model {
  const threads = options.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1))
    throw new RangeError(`threads ${threads}: expected an integer >= 1`);
  const shared = threads > 1;
  return modelOf(raw, wasmSimd && kernelAllowed(shared) ? layout(raw, threads, shared) : undefined);
}

/** Parse, validate and lay out a model file's text (or parsed JSON); errors are the core's. */
export function loadModel(text: string | unknown, source?: string, options?: LoadOptions): Model {
  return loadRawModel(parseRawModel(text, source), options);
}

/** What another thread needs to run a model loaded with `threads` (structured-cloneable: postMessage it). */
export interface SharedModel {
  raw: RawModel;
  memory: WasmMemory;
  stride: number;
  slots: Slot[];
  slot: number;
}

/** The model for thread `slot` (1 .. threads - 1) of a model loaded with `threads`; weights are not copied. */
export function shareModel(model: Model, slot: number): SharedModel {
  const k = model.kernel;
  if (!k || k.slots.length < 2) throw new RangeError('shareModel: the model was not loaded with threads > 1');
  if (!(Number.isInteger(slot) && slot > 0 && slot < k.slots.length))
    throw new RangeError(`slot ${slot}: expected 1 .. ${k.slots.length - 1}`);
  return { raw: model.raw, memory: k.memory, stride: k.stride, slots: k.slots, slot };
}

/** In another thread: run a shared model on its memory, in its own slot. */
export function attachModel(shared: SharedModel): Model {
  return modelOf(shared.raw, instantiate(shared.memory, shared.stride, shared.slots, shared.slot, true));
}

/**
 * The portable core's model for the same file (its float64 weights; made once, on first use): what
 * digitkit/explain takes, and what the fallback runs.
 */
export function coreModel(model: Model): CoreModel {
  return (model.core ??= loadCoreModel(model.raw));
}
const coreOf = coreModel;

/** Every value an integer 0..255: what the kernel's u8 input holds exactly. */
function allBytes(pixels: ArrayLike<number>): boolean {
  if (pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray) return true;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v !== (v & 255)) return false;
  }
  return true;
}

/** The core's checks on a batch of raw inputs: the model's kind, and a whole number of inputs. */
function batchOf(model: Model, kind: string, what: string, raw: ArrayLike<number>): number {
  const size = model.input.size,
    n = raw.length / size;
  if (model.input.kind != kind)
    throw new RangeError(`the model's input kind is ${model.input.kind}: it does not take ${what}`);
  if (n % 1) throw new RangeError(`${raw.length} ${what}, expected a multiple of ${size}`);
  return n;
}

/**
 * Run `n` inputs through the kernel, BLOCK at a time: `put(s, count)` writes inputs s .. s+count-1 into
 * the slot's input block; the probabilities go to `res`.
 */
function runKernel(
  k: Kernel,
  n: number,
  classes: number,
  res: Float64Array,
  put: (s: number, count: number, at: number) => void,
) {
  const { exports, f64 } = k,
    { desc, input, output } = k.slots[k.slot];
  for (let s = 0; s < n; s += BLOCK) {
    const count = Math.min(BLOCK, n - s);
    put(s, count, input);
    if (exports.forward(desc, input, count, output) >= 0)
      throw new RangeError("the logits are not finite (an input far outside the model's range?)");
    res.set(f64.subarray(output >> 3, (output >> 3) + count * classes), s * classes);
  }
  return res;
}

/**
 * Probabilities for every image in `pixels` (an image model's raw 0..255 values, channels
 * interleaved; images back to back, `input.size` each), `labels.length` per image, as the core's
 * `forwardPixels`.
 */
export function forwardPixels(model: Model, pixels: ArrayLike<number>, out?: Float64Array): Float64Array {
  const n = batchOf(model, 'image', 'pixels', pixels),
    size = model.input.size,
    classes = model.labels.length;
  const res = out ?? new Float64Array(n * classes);
  const k = model.kernel;
  if (!k || !allBytes(pixels)) return coreForwardPixels(coreOf(model), pixels, res);
  const { u8, stride } = k;
  const bytes = pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray;
  return runKernel(k, n, classes, res, (s, count, at) => {
    if (bytes && stride == size) {
      u8.set((pixels as Uint8Array).subarray(s * size, (s + count) * size), at);
    } else {
      // Each image at its stride (the padding stays zero: nothing else writes there).
      for (let t = 0; t < count; t++)
        for (let i = 0, o = at + t * stride, p = (s + t) * size; i < size; i++) u8[o + i] = pixels[p + i];
    }
  });
}

/**
 * Probabilities for every row in `values` (a vector model's raw feature values, rows back to back,
 * `input.size` each), as the core's `forwardValues`: x = (v - offset) * scale, then the layers.
 */
export function forwardValues(model: Model, values: ArrayLike<number>, out?: Float64Array): Float64Array {
  const n = batchOf(model, 'vector', 'values', values),
    size = model.input.size,
    classes = model.labels.length;
  const res = out ?? new Float64Array(n * classes);
  const k = model.kernel;
  if (!k) return coreForwardValues(coreOf(model), values, res);
  const { f64, stride } = k;
  const { offset, scale } = model.input as VectorInput;
  return runKernel(k, n, classes, res, (s, count, at) => {
    for (let t = 0; t < count; t++)
      for (let i = 0, o = (at + t * stride) >> 3, p = (s + t) * size; i < size; i++)
        f64[o + i] = (values[p + i] - offset[i]) * scale[i];
  });
}

/** The most probable class of one input, as the core's classifyPixels / classifyValues. */
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
