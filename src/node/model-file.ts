/**
 * Reading a model file from disk: size limit before parsing, then the core's parser, with every
 * problem reported as exit code 3 naming the file.
 */
import { createRequire } from 'node:module';
import {
  loadRawModel,
  MAX_MODEL_BYTES,
  MODEL_FORMAT,
  ModelError,
  parseRawModel,
  type Model,
  type RawModel,
} from '../core/index.js';
import { invalidInput } from '../errors.js';
import { readInputFile } from './input-file.js';

// node:crypto is loaded (synchronously) only when a caller reads `sha256`: `predict` never does.
const require = createRequire(import.meta.url);

export interface ModelFile {
  path: string;
  /** The file's bytes, as read. */
  bytes: Buffer;
  /** SHA-256 (hex) of the bytes, computed when first read. */
  readonly sha256: string;
  raw: RawModel;
  model: Model;
}

/**
 * Read, validate and load a model file; every problem is exit 3 naming the file. `missing` is what
 * to say when there is no such file.
 */
export async function readModelFile(file: string, missing = 'no such model file'): Promise<ModelFile> {
  const bytes = await readInputFile(file, { kind: 'model', limit: MAX_MODEL_BYTES, missing });
  let raw: RawModel;
  try {
    // Weights through Buffer's native base64 (after the core's strict check), copied so each layer owns its bytes.
    raw = parseRawModel(bytes.toString('utf8'), file, (s) => new Uint8Array(Buffer.from(s, 'base64')));
  } catch (err) {
    if (err instanceof ModelError) throw invalidInput(err.message);
    throw err;
  }
  let sha256: string | undefined;
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
    model: loadRawModel(raw),
  };
}

/** One layer to write: weights row-major (input-major), int8 with a scale, or float32. */
export interface LayerToWrite {
  rows: number;
  cols: number;
  w: Int8Array | Float32Array;
  /** int8 only: per-layer scale, or one per output column. */
  scale?: number | ArrayLike<number>;
  /** Biases; a Float32Array is written with the shortest decimals that read back to the same float32. */
  b: Float32Array | Float64Array | number[];
}

export interface ModelToWrite {
  dtype: 'int8' | 'float32';
  layers: LayerToWrite[];
  input?: { width: number; height: number; scale: number };
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

function bytesOf(w: Int8Array | Float32Array): Buffer {
  if (w instanceof Float32Array && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const out = Buffer.alloc(w.length * 4);
    w.forEach((v, i) => out.writeFloatLE(v, 4 * i));
    return out;
  }
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/**
 * Serialize a model per shared/contracts/model-format.md (compact JSON, fixed key order, so the
 * same weights always give the same bytes).
 */
export function formatModel(m: ModelToWrite): string {
  const doc = {
    format: MODEL_FORMAT,
    // The version this writer writes (the core's MODEL_VERSION is the newest it reads).
    version: 1,
    dtype: m.dtype,
    activation: 'relu',
    output: 'softmax',
    input: m.input ?? { width: 28, height: 28, scale: 1 / 255 },
    labels: m.labels ?? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    layers: m.layers.map((l) => {
      if ((m.dtype === 'int8') !== l.w instanceof Int8Array)
        throw new Error(`layer weights do not match dtype ${m.dtype}`);
      if (l.w.length !== l.rows * l.cols)
        throw new Error(`layer has ${l.w.length} weights, expected ${l.rows}x${l.cols}`);
      const layer: Record<string, unknown> = { rows: l.rows, cols: l.cols, w: bytesOf(l.w).toString('base64') };
      if (m.dtype === 'int8')
        layer.scale = typeof l.scale === 'number' ? l.scale : Array.from(l.scale as ArrayLike<number>);
      layer.b = l.b instanceof Float32Array ? Array.from(l.b, shortestFloat32) : Array.from(l.b);
      return layer;
    }),
    meta: m.meta ?? {},
  };
  return JSON.stringify(doc) + '\n';
}
