/**
 * Reading a model file from disk: size limit before parsing, then the core's parser, with every
 * problem reported as exit code 3 naming the file.
 */
import { createRequire } from 'node:module';
import {
  loadRawModel,
  MAX_MODEL_BYTES,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelError,
  parseRawModel,
  type ImageInput,
  type LayerDtype,
  type VectorInput,
  type Model,
  type RawModel,
} from '../core/index.js';
import { invalidInput } from '../errors.js';
import { shown } from '../format.js';
import { checkJsonShape, readInputFile } from './input-file.js';

// node:crypto is loaded (synchronously) only when a caller reads `sha256`: `predict` never does.
const require = createRequire(import.meta.url);

export interface ModelFile {
  path: string;
  /** The file's bytes, as read. */
  bytes: Buffer;
  /** SHA-256 (hex) of the bytes, computed when first read. */
  readonly sha256: string;
  raw: RawModel;
  /** The core's model, made when first read. */
  readonly model: Model;
}

/**
 * Read, validate and load a model file; every problem is exit 3 naming the file. `missing` is what
 * to say when there is no such file.
 */
export async function readModelFile(file: string, missing = 'no such model file'): Promise<ModelFile> {
  const bytes = await readInputFile(file, { kind: 'model', limit: MAX_MODEL_BYTES, missing });
  // Nesting is bounded here, before the core's JSON.parse builds anything (the core stays small).
  checkJsonShape(bytes, file);
  let raw: RawModel;
  try {
    // Weights through Buffer's native base64 (after the core's strict check), copied so each layer owns its bytes.
    raw = parseRawModel(bytes.toString('utf8'), file, (s) => new Uint8Array(Buffer.from(s, 'base64')));
  } catch (err) {
    // One line: a JSON.parse message quotes the text around the error, newlines included.
    if (err instanceof ModelError) throw invalidInput(shown(err.message));
    throw err;
  }
  let sha256: string | undefined;
  // The core's model (float64 biases, packed first layer) is made when first read: `predict` runs an
  // image model on core-wasm's copy and never does, which keeps that work off its cold start.
  let model: Model | undefined;
  return {
    path: file,
    bytes,
    get sha256() {
      return (sha256 ??= (require('node:crypto') as typeof import('node:crypto'))
        .createHash('sha256')
        .update(bytes)
        .digest('hex'));
    },
    raw,
    get model() {
      return (model ??= loadRawModel(raw));
    },
  };
}

/** A model input's shape in words, for messages: "28x28", "32x32x3", "13 features". */
export function describeInput(input: ImageInput | VectorInput): string {
  if (input.kind === 'vector') return `${input.size} features`;
  return `${input.width}x${input.height}${input.channels > 1 ? `x${input.channels}` : ''}`;
}

/** One layer to write: weights row-major (input-major), int8 or int4 values with a scale, or float32. */
export interface LayerToWrite {
  rows: number;
  cols: number;
  /** int8 or int4 values (int4 in [-7, 7], one per Int8Array element), or float32 weights. */
  w: Int8Array | Float32Array;
  /** How the layer is stored (default: "int8" for an Int8Array, "float32" for a Float32Array). */
  dtype?: LayerDtype;
  /** int8/int4 only: per-layer scale, or one per output column. */
  scale?: number | ArrayLike<number>;
  /** Biases; a Float32Array is written with the shortest decimals that read back to the same float32. */
  b: Float32Array | Float64Array | number[];
}

/** A model's input as a writer gives it: the contract's fields (an image's `size` is derived). */
export type InputToWrite =
  | { kind?: 'image'; width: number; height: number; scale: number; channels?: number; preprocess?: 'digit' | 'resize' }
  | { kind: 'vector'; size: number; offset?: ArrayLike<number>; scale: number | ArrayLike<number>; names?: string[] };

export interface ModelToWrite {
  /** The layers' dtype when they do not name their own (older callers); otherwise derived from the layers. */
  dtype?: LayerDtype;
  layers: LayerToWrite[];
  /** Default: MNIST's 28x28 gray digit, scale 1/255. */
  input?: InputToWrite;
  /** Default: the digits "0".."9". */
  labels?: string[];
  meta?: unknown;
}

/** The shortest decimal that parses back to exactly this float32 value (keeps model files small). */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f)) throw new Error(`non-finite value ${x}`);
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

/** A layer's weights as the file stores them (little-endian float32; int4 two to a byte, low nibble first). */
function bytesOf(w: Int8Array | Float32Array, dtype: LayerDtype): Buffer {
  if (dtype === 'int4') {
    const out = Buffer.alloc((w.length + 1) >> 1);
    for (let i = 0; i < w.length; i++) out[i >> 1] |= (w[i] & 15) << (i & 1 ? 4 : 0);
    return out;
  }
  if (w instanceof Float32Array && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const out = Buffer.alloc(w.length * 4);
    w.forEach((v, i) => out.writeFloatLE(v, 4 * i));
    return out;
  }
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const QMAX: Record<LayerDtype, number> = { int8: 127, int4: 7, float32: Infinity };

/**
 * Serialize a model per docs/contracts/model-format.md (compact JSON, fixed key order, so the
 * same weights always give the same bytes). Version 1 whenever the model fits it (every layer int8,
 * or every layer float32, and a one-channel "digit" image input), so version-1 readers keep running
 * it; version 2 otherwise.
 */
export function formatModel(m: ModelToWrite): string {
  const dtypes = m.layers.map((l) => l.dtype ?? m.dtype ?? (l.w instanceof Int8Array ? 'int8' : 'float32'));
  const same = dtypes.every((d) => d === dtypes[0]);
  const input = m.input ?? { width: 28, height: 28, scale: 1 / 255 };
  const v1 =
    same &&
    dtypes[0] !== 'int4' &&
    input.kind !== 'vector' &&
    (input.channels ?? 1) === 1 &&
    (input.preprocess ?? 'digit') === 'digit';
  const doc = {
    format: MODEL_FORMAT,
    version: v1 ? 1 : MODEL_VERSION,
    dtype: same ? dtypes[0] : 'mixed',
    activation: 'relu',
    output: 'softmax',
    input: v1
      ? { width: input.width, height: input.height, scale: input.scale }
      : input.kind === 'vector'
        ? {
            kind: 'vector',
            size: input.size,
            offset: Array.from(input.offset ?? new Float64Array(input.size)),
            scale: typeof input.scale === 'number' ? input.scale : Array.from(input.scale),
            ...(input.names && { names: input.names }),
          }
        : {
            kind: 'image',
            width: input.width,
            height: input.height,
            channels: input.channels ?? 1,
            scale: input.scale,
            preprocess: input.preprocess ?? 'digit',
          },
    labels: m.labels ?? DIGITS,
    layers: m.layers.map((l, k) => {
      const dtype = dtypes[k];
      if ((dtype === 'float32') !== l.w instanceof Float32Array)
        throw new Error(`layer ${k}: ${l.w.constructor.name} weights do not match dtype ${dtype}`);
      if (l.w.length !== l.rows * l.cols)
        throw new Error(`layer ${k} has ${l.w.length} weights, expected ${l.rows}x${l.cols}`);
      if (dtype !== 'float32' && l.w.some((q) => Math.abs(q) > QMAX[dtype]))
        throw new Error(`layer ${k}: ${dtype} values must lie in [-${QMAX[dtype]}, ${QMAX[dtype]}]`);
      const layer: Record<string, unknown> = { rows: l.rows, cols: l.cols };
      if (!same) layer.dtype = dtype;
      layer.w = bytesOf(l.w, dtype).toString('base64');
      if (dtype !== 'float32')
        layer.scale = typeof l.scale === 'number' ? l.scale : Array.from(l.scale as ArrayLike<number>);
      layer.b = l.b instanceof Float32Array ? Array.from(l.b, shortestFloat32) : Array.from(l.b);
      return layer;
    }),
    meta: m.meta ?? {},
  };
  return JSON.stringify(doc) + '\n';
}
