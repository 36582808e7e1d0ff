/**
 * Float model → int8 model (docs/contracts/model-format.md): symmetric, scale = max|w| / 127 per
 * layer or per output column, round half away from zero, clamp to ±127; biases stay float.
 * `runQuantize` also measures what quantization cost on the t10k test set, through the shipped
 * inference path (infer/batch.ts).
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadModel, type RawLayer, type RawModel } from '../core/index.js';
import { loadMnist } from '../data/load.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL, defaultFloatModel } from '../node/paths.js';
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
  out?: string;
  perChannel?: boolean;
  data?: string;
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
  layers: QuantizeLayerReport[];
  accuracy: { images: number; float: number; int8: number; deltaPp: number; agreement: number };
  targets: { maxDropPp: number; accuracyOk: boolean; maxBytes: number; sizeOk: boolean };
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
): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...essentials };
  const from =
    floatMeta && typeof floatMeta === 'object' && !Array.isArray(floatMeta)
      ? (floatMeta as Record<string, unknown>)
      : {};
  const tryAdd = (key: string, value: unknown) => {
    if (sizeWith({ ...meta, [key]: value }) > MAX_INT8_BYTES) return false;
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
  const outPath = opts.out ?? DEFAULT_MODEL;
  const perChannel = Boolean(opts.perChannel);
  if (path.resolve(inPath) === path.resolve(outPath))
    throw new OptionError('out', `${outPath} is the input model; choose another path`);

  const src = await readModelFile(inPath);
  if (src.raw.dtype !== 'float32')
    throw invalidInput(`${inPath}: dtype is "${src.raw.dtype}", expected a float32 model to quantize`);
  const { test } = await loadMnist(opts.data ?? DEFAULT_DATA_DIR, ['t10k']);
  if (!test || src.raw.input.kind !== 'image' || test.rows * test.cols !== src.raw.input.size) {
    throw invalidInput(
      `${inPath}: input is ${describeInput(src.raw.input)}, the test images are ${test?.rows}x${test?.cols}`,
    );
  }

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
  );
  const text = formatModel({ ...base, meta });
  await writeFileAtomic(outPath, text);

  const deltaPp = (int8Accuracy - floatAccuracy) * 100;
  const bytes = Buffer.byteLength(text);
  return {
    in: { path: inPath, bytes: src.bytes.length, sha256: src.sha256 },
    out: { path: outPath, bytes, sha256: sha256(text) },
    granularity,
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
      maxBytes: MAX_INT8_BYTES,
      sizeOk: bytes <= MAX_INT8_BYTES,
    },
  };
}
