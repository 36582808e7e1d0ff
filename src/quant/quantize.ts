/**
 * Float model → int8 model (docs/contracts/model-format.md): symmetric, scale = max|w| / 127 per
 * layer or per output column, round half away from zero, clamp to ±127; biases stay float.
 * `runQuantize` also measures what quantization cost on the t10k test set, through the shipped
 * inference path (infer/batch.ts).
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadModel, type RawLayer, type RawModel } from '../core/index.js';
import { loadTestSet } from '../data/open.js';
import type { DataFormat } from '../data/dataset.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL, defaultFloatModel, isShipped } from '../node/paths.js';
import { invalidInput, OptionError } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';
import { describeInput, formatModel, readModelFile, type LayerToWrite } from '../node/model-file.js';
import { round6 } from '../format.js';
import { accuracyOf, classifyBatch } from '../infer/batch.js';

/** The size the shipped int8 model must stay within; meta is trimmed to fit. */
export const MAX_INT8_BYTES = 150_000;
/** Target: int8 test accuracy within this many percentage points of float. */
export const MAX_ACCURACY_DROP_PP = 0.1;

export const roundHalfAwayFromZero = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

export interface QuantizedWeights {
  q: Int8Array;
  /** One scale for the layer, or one per output column. */
  scale: number | number[];
}

/** Quantize row-major (input-major) weights `w[i*cols + j]`. */
export function quantizeWeights(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  perChannel = false,
): QuantizedWeights {
  const groups = perChannel ? cols : 1;
  const max = new Float64Array(groups);
  for (let p = 0; p < rows * cols; p++) {
    const g = perChannel ? p % cols : 0;
    max[g] = Math.max(max[g], Math.abs(w[p]));
  }
  // An all-zero layer (or column) gets scale 1, so every q is 0 and q * scale is still exact.
  const scales = Array.from(max, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(rows * cols);
  for (let p = 0; p < q.length; p++) {
    q[p] = Math.max(-127, Math.min(127, roundHalfAwayFromZero(w[p] / scales[perChannel ? p % cols : 0])));
  }
  return { q, scale: perChannel ? scales : scales[0] };
}

export interface WeightError {
  maxAbs: number;
  meanAbs: number;
}

/** |q * scale - w| over a layer, in float64. */
export function weightError(w: ArrayLike<number>, { q, scale }: QuantizedWeights, cols: number): WeightError {
  let max = 0;
  let sum = 0;
  for (let p = 0; p < q.length; p++) {
    const e = Math.abs(q[p] * (typeof scale === 'number' ? scale : scale[p % cols]) - w[p]);
    max = Math.max(max, e);
    sum += e;
  }
  return { maxAbs: max, meanAbs: sum / q.length };
}

export interface QuantizedModel {
  layers: LayerToWrite[];
  errors: WeightError[];
}

/**
 * Quantize every layer of a float32 model. Biases are carried over unchanged; when they are float32
 * values (as a float32 model's are) they are written with the shortest decimals that read back to
 * the same value, which keeps the file small without changing a bit.
 */
export function quantizeModel(raw: RawModel, perChannel = false): QuantizedModel {
  const errors: WeightError[] = [];
  const layers = raw.layers.map((l: RawLayer): LayerToWrite => {
    const qw = quantizeWeights(l.q, l.rows, l.cols, perChannel);
    errors.push(weightError(l.q, qw, l.cols));
    const b = l.b.every((v) => Math.fround(v) === v) ? Float32Array.from(l.b) : l.b;
    return { rows: l.rows, cols: l.cols, w: qw.q, scale: qw.scale, b };
  });
  return { layers, errors };
}

export interface QuantizeOptions {
  in?: string;
  /** Default: beside `in`, -f32.json becoming -int8.json (models/mnist-int8.json for MNIST's). */
  out?: string;
  perChannel?: boolean;
  /** The data accuracy is measured on: IDX (its t10k files), a folder or a CSV (data/open.ts loadTestSet). */
  data?: string;
  format?: DataFormat;
  labelColumn?: string;
}

/** The int8 model's default path for a float model's: models/x-f32.json -> models/x-int8.json. */
export function int8PathFor(floatPath: string): string {
  const m = /^(.*?)(-f32)?\.json$/i.exec(floatPath);
  return m ? `${m[1]}-int8.json` : `${floatPath}-int8.json`;
}

export interface QuantizeLayerReport extends WeightError {
  rows: number;
  cols: number;
  /** The layer's scale, or the smallest and largest of its per-channel scales. */
  scale: number | { min: number; max: number };
}

export interface QuantizeReport {
  in: { path: string; bytes: number; sha256: string };
  out: { path: string; bytes: number; sha256: string };
  granularity: 'per-layer' | 'per-channel';
  /** What the test samples are: "images" or "rows". */
  samples: 'images' | 'rows';
  layers: QuantizeLayerReport[];
  /** Measured on `images` test samples (images or rows), from `data`. */
  accuracy: { images: number; float: number; int8: number; deltaPp: number; agreement: number };
  /** The size budget is the shipped MNIST model's (null for other data). */
  targets: { maxDropPp: number; accuracyOk: boolean; maxBytes: number | null; sizeOk: boolean };
}

/** Which training-history series the int8 meta keeps first when not all fit (others after these). */
const HISTORY_ORDER = ['valAccuracy', 'loss', 'trainAccuracy', 'lr'];
const round4 = (x: unknown) => (typeof x === 'number' ? Number(x.toPrecision(4)) : x);

/**
 * The int8 model's meta: the quantization facts and measured accuracies always; then, while the file
 * stays within MAX_INT8_BYTES, what it can carry over from the float model's meta (in that meta's
 * key order; `history` last, with 4-digit numbers, dropping series until it fits: lr first,
 * valAccuracy last). The float model's sha256 links to everything left out.
 */
function int8Meta(
  floatMeta: unknown,
  essentials: Record<string, unknown>,
  sizeWith: (meta: Record<string, unknown>) => number,
  maxBytes = MAX_INT8_BYTES,
): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...essentials };
  const from =
    floatMeta && typeof floatMeta === 'object' && !Array.isArray(floatMeta)
      ? (floatMeta as Record<string, unknown>)
      : {};
  const tryAdd = (key: string, value: unknown) => {
    if (sizeWith({ ...meta, [key]: value }) > maxBytes) return false;
    meta[key] = value;
    return true;
  };
  for (const [key, value] of Object.entries(from)) {
    if (key === 'history' || key in meta || value === undefined) continue;
    tryAdd(key, value);
  }
  const history = from.history;
  if (history && typeof history === 'object' && !Array.isArray(history)) {
    const rank = (k: string) => (HISTORY_ORDER.indexOf(k) + HISTORY_ORDER.length + 1) % (HISTORY_ORDER.length + 1);
    const series = Object.entries(history as Record<string, unknown>)
      .map(([k, v]) => [k, Array.isArray(v) ? v.map(round4) : v] as const)
      .sort((a, b) => rank(a[0]) - rank(b[0]));
    for (let n = series.length; n > 0; n--) if (tryAdd('history', Object.fromEntries(series.slice(0, n)))) break;
  }
  return meta;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export async function runQuantize(opts: QuantizeOptions = {}): Promise<QuantizeReport> {
  const inPath = defaultFloatModel(opts.in);
  // The float model digitkit ships gives the working directory's models/mnist-int8.json, never the package's.
  const outPath = opts.out ?? (isShipped(inPath) ? DEFAULT_MODEL : int8PathFor(inPath));
  const perChannel = Boolean(opts.perChannel);
  if (path.resolve(inPath) === path.resolve(outPath))
    throw new OptionError('out', `${outPath} is the input model; choose another path`);

  const src = await readModelFile(inPath);
  if (src.raw.dtype !== 'float32')
    throw invalidInput(`${inPath}: dtype is "${src.raw.dtype}", expected a float32 model to quantize`);
  const set = await loadTestSet(opts.data ?? DEFAULT_DATA_DIR, src.raw, inPath, {
    format: opts.format,
    labelColumn: opts.labelColumn,
  });
  const test = { images: set.dataset.test!.inputs, labels: set.dataset.test!.labels, count: set.dataset.test!.count };
  // The byte budget is the shipped MNIST model's (28x28 digits); other models keep their whole meta.
  const i = src.raw.input;
  const mnistShaped =
    i.kind === 'image' && i.width === 28 && i.height === 28 && i.channels === 1 && i.preprocess === 'digit';
  const budget = mnistShaped ? MAX_INT8_BYTES : null;

  const { layers, errors } = quantizeModel(src.raw, perChannel);
  const base = { dtype: 'int8' as const, layers, input: src.raw.input, labels: src.raw.labels };
  const floatPred = classifyBatch(src.model, test.images);
  const int8Pred = classifyBatch(loadModel(formatModel(base), outPath), test.images);
  const floatAccuracy = accuracyOf(floatPred, test.labels);
  const int8Accuracy = accuracyOf(int8Pred, test.labels);
  let agree = 0;
  for (let s = 0; s < test.count; s++) if (floatPred.predicted[s] === int8Pred.predicted[s]) agree++;

  const granularity = perChannel ? 'per-channel' : 'per-layer';
  const meta = int8Meta(
    src.raw.meta,
    {
      quantization: {
        scheme: 'symmetric int8, scale = max|w|/127, q = clamp(round(w/scale), -127, 127)',
        granularity,
        rounding: 'half away from zero',
        source: { file: path.basename(inPath), sha256: src.sha256 },
        floatTestAccuracy: round6(floatAccuracy),
        agreement: round6(agree / test.count),
      },
      testAccuracy: round6(int8Accuracy),
    },
    (m) => Buffer.byteLength(formatModel({ ...base, meta: m })),
    budget ?? Infinity,
  );
  const text = formatModel({ ...base, meta });
  await writeFileAtomic(outPath, text);

  const deltaPp = (int8Accuracy - floatAccuracy) * 100;
  const bytes = Buffer.byteLength(text);
  return {
    in: { path: inPath, bytes: src.bytes.length, sha256: src.sha256 },
    out: { path: outPath, bytes, sha256: sha256(text) },
    granularity,
    samples: src.raw.input.kind === 'vector' ? 'rows' : 'images',
    layers: layers.map((l, k) => ({
      rows: l.rows,
      cols: l.cols,
      scale:
        typeof l.scale === 'number'
          ? l.scale
          : { min: Math.min(...(l.scale as number[])), max: Math.max(...(l.scale as number[])) },
      ...errors[k],
    })),
    accuracy: {
      images: test.count,
      float: floatAccuracy,
      int8: int8Accuracy,
      deltaPp,
      agreement: agree / test.count,
    },
    targets: {
      maxDropPp: MAX_ACCURACY_DROP_PP,
      accuracyOk: deltaPp >= -MAX_ACCURACY_DROP_PP - 1e-9,
      maxBytes: budget,
      sizeOk: budget === null || bytes <= budget,
    },
  };
}
