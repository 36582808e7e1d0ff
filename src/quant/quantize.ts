/**
 * Float model → quantized model (docs/contracts/model-format.md): symmetric, scale = max|w| / Q per
 * layer or per output column, Q = 127 (int8) or 7 (int4), round half away from zero, clamp to ±Q;
 * biases stay float. Each layer may have its own width (mixed precision, a version-2 file).
 * `runQuantize` measures what quantization costs: per layer alone on the validation split (the images
 * `train` held out), and the whole model on the t10k test set, through the shipped inference path.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadModel, type LayerDtype, type RawLayer, type RawModel } from '../core/index.js';
import { loadMnist, type MnistSplit } from '../data/load.js';
import { loadTestSet } from '../data/open.js';
import type { DataFormat } from '../data/dataset.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL, defaultFloatModel, isShipped } from '../node/paths.js';
import { invalidInput, OptionError, usageError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { describeInput, formatModel, readModelFile, shortestFloat32, type LayerToWrite } from '../node/model-file.js';
import { round6 } from '../format.js';
import { accuracyOf, classifyBatch } from '../infer/batch.js';
import { autoChoices, chooseAssignment, layerSensitivity, type Assignment, type LayerSensitivity } from './mixed.js';
import { validationSplit } from './validation.js';

/** The size the shipped int8 model must stay within; meta is trimmed to fit. */
export const MAX_INT8_BYTES = 150_000;
/** Target: int8 test accuracy within this many percentage points of float. */
export const MAX_ACCURACY_DROP_PP = 0.1;

/** The integer widths a layer can be quantized to (the model contract's int8 and int4). */
export const SUPPORTED_BITS = [4, 8] as const;
export type Bits = (typeof SUPPORTED_BITS)[number];
/** The largest integer of each width: the contract's quantization rule uses it as Q. */
export const QMAX: Record<Bits, number> = { 4: 7, 8: 127 };
export const DTYPE_OF: Record<Bits, LayerDtype> = { 4: 'int4', 8: 'int8' };

/** How one layer is stored: an integer width with one scale (or one per output column), or float32 (32). */
export interface LayerPrecision {
  bits: Bits | 32;
  perChannel: boolean;
}

export const roundHalfAwayFromZero = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

export interface QuantizedWeights {
  q: Int8Array;
  /** One scale for the layer, or one per output column. */
  scale: number | number[];
}

/** Quantize row-major (input-major) weights `w[i*cols + j]` to `bits`-bit integers (default int8). */
export function quantizeWeights(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  perChannel = false,
  bits: Bits = 8,
): QuantizedWeights {
  const Q = QMAX[bits];
  const groups = perChannel ? cols : 1;
  const max = new Float64Array(groups);
  for (let p = 0; p < rows * cols; p++) {
    const g = perChannel ? p % cols : 0;
    max[g] = Math.max(max[g], Math.abs(w[p]));
  }
  // An all-zero layer (or column) gets scale 1, so every q is 0 and q * scale is still exact.
  const scales = Array.from(max, (m) => (m > 0 ? m / Q : 1));
  const q = new Int8Array(rows * cols);
  for (let p = 0; p < q.length; p++) {
    q[p] = Math.max(-Q, Math.min(Q, roundHalfAwayFromZero(w[p] / scales[perChannel ? p % cols : 0])));
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

/** Biases as written: float32 values keep the shortest decimals that read back to them. */
const biasOf = (l: RawLayer) => (l.b.every((v) => Math.fround(v) === v) ? Float32Array.from(l.b) : l.b);

/** One float layer stored at `p`: quantized (with its weight error), or kept as float32. */
export function quantizeLayer(l: RawLayer, p: LayerPrecision): { layer: LayerToWrite; error: WeightError } {
  if (p.bits === 32) {
    return {
      layer: { rows: l.rows, cols: l.cols, dtype: 'float32', w: Float32Array.from(l.q), b: biasOf(l) },
      error: { maxAbs: 0, meanAbs: 0 },
    };
  }
  const qw = quantizeWeights(l.q, l.rows, l.cols, p.perChannel, p.bits);
  return {
    layer: { rows: l.rows, cols: l.cols, dtype: DTYPE_OF[p.bits], w: qw.q, scale: qw.scale, b: biasOf(l) },
    error: weightError(l.q, qw, l.cols),
  };
}

export interface QuantizedModel {
  layers: LayerToWrite[];
  errors: WeightError[];
}

/**
 * Quantize every layer of a float32 model: int8 with one scale per layer (or per column with
 * `perChannel`), or each layer as `precision[k]` says. Biases are carried over unchanged; when they are
 * float32 values (as a float32 model's are) they are written with the shortest decimals that read back
 * to the same value, which keeps the file small without changing a bit.
 */
export function quantizeModel(raw: RawModel, precision: boolean | readonly LayerPrecision[] = false): QuantizedModel {
  const each = raw.layers.map((l, k) =>
    quantizeLayer(l, typeof precision === 'boolean' ? { bits: 8, perChannel: precision } : precision[k]),
  );
  return { layers: each.map((e) => e.layer), errors: each.map((e) => e.error) };
}

/** "int4 per-channel", "int8", "float32": one layer's storage in words. */
export const describePrecision = (p: LayerPrecision): string =>
  p.bits === 32 ? 'float32' : `${DTYPE_OF[p.bits]}${p.perChannel ? ' per-channel' : ''}`;

export interface QuantizeOptions {
  in?: string;
  /** Default: beside `in`, -f32.json becoming -int8.json, -int4.json or -mixed.json (models/mnist-int8.json for MNIST's). */
  out?: string;
  perChannel?: boolean;
  /** The data accuracy is measured on: IDX (its t10k files), a folder or a CSV (data/open.ts loadTestSet). */
  data?: string;
  /** Every layer's width (default 8). */
  bits?: number;
  /** One width per layer (4, 8, or 32 to keep a layer float32): mixed precision. */
  layers?: number[];
  /** Choose each layer's width (and scale granularity) on the validation split to fit `maxBytes`. */
  auto?: boolean;
  /** With `auto`: the largest model file to write, in bytes. */
  maxBytes?: number;
  format?: DataFormat;
  labelColumn?: string;
}

/** A quantized model's default path for a float model's: models/x-f32.json -> models/x-int8.json (or -int4, -mixed). */
export function quantizedPathFor(floatPath: string, tag = 'int8'): string {
  const m = /^(.*?)(-f32)?\.json$/i.exec(floatPath);
  return m ? `${m[1]}-${tag}.json` : `${floatPath}-${tag}.json`;
}

/** The int8 model's default path for a float model's: models/x-f32.json -> models/x-int8.json. */
export const int8PathFor = (floatPath: string): string => quantizedPathFor(floatPath, 'int8');

export interface QuantizeLayerReport extends WeightError {
  rows: number;
  cols: number;
  bits: number;
  dtype: LayerDtype;
  perChannel: boolean;
  /** The layer's share of the file: its base64 weights, scales and biases as written. */
  bytes: number;
  /** The layer's scale, or the smallest and largest of its per-channel scales (absent for float32). */
  scale?: number | { min: number; max: number };
  /** Validation accuracy with only this layer quantized, minus the float model's, in percentage points. */
  valDeltaPp: number | null;
}

export interface QuantizeReport {
  in: { path: string; bytes: number; sha256: string };
  out: { path: string; bytes: number; sha256: string };
  /** "per-layer" or "per-channel" when every quantized layer has that granularity, else "mixed". */
  granularity: 'per-layer' | 'per-channel' | 'mixed';
  /** The file's dtype: int8, int4, or mixed. */
  dtype: string;
  /** What the test samples are: "images" or "rows". */
  samples: 'images' | 'rows';
  layers: QuantizeLayerReport[];
  /**
   * Accuracy on the validation split (the training samples `train` held out): where choices are made.
   * Null when the data is not an IDX directory (its training images are what the split is drawn from).
   */
  validation: { images: number; from: number; float: number; quantized: number; deltaPp: number; note?: string } | null;
  /** Accuracy on the test samples. `int8` repeats `quantized` for an all-int8 model (older readers). */
  accuracy: { images: number; float: number; quantized: number; int8?: number; deltaPp: number; agreement: number };
  /** `--auto`: the budget, and every assignment measured on the validation split (best first). */
  auto?: { maxBytes: number; tried: Assignment[]; sensitivity: LayerSensitivity[] };
  /** The size budget: --max-bytes, else the shipped MNIST model's (null for other data). */
  targets: { maxDropPp: number; accuracyOk: boolean; maxBytes: number | null; sizeOk: boolean };
}

/** Which training-history series the quantized meta keeps first when not all fit (others after these). */
const HISTORY_ORDER = ['valAccuracy', 'loss', 'trainAccuracy', 'lr'];
const round4 = (x: unknown) => (typeof x === 'number' ? Number(x.toPrecision(4)) : x);

/**
 * A quantized model's meta: the quantization facts and measured accuracies always; then, while the file
 * stays within `limit` bytes, what it can carry over from the float model's meta (in that meta's key
 * order; `history` last, with 4-digit numbers, dropping series until it fits: lr first, valAccuracy
 * last). The float model's sha256 links to everything left out.
 */
export function quantizedMeta(
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

/** Fraction of a split's images the model classifies correctly, through the shipped inference path. */
export function accuracyOn(model: ReturnType<typeof loadModel>, split: MnistSplit): number {
  return accuracyOf(classifyBatch(model, split.images), split.labels);
}

/** The per-layer precision the flags ask for (before --auto, which chooses its own); throws usage errors. */
export function requestedPrecision(o: QuantizeOptions, layerCount: number, file: string): LayerPrecision[] | null {
  const widths = (list: string) => `supported widths are ${list}`;
  if (o.bits !== undefined && !(SUPPORTED_BITS as readonly number[]).includes(o.bits))
    throw new OptionError('bits', `${o.bits}: ${widths('4 and 8 (int4, int8)')}`);
  if (o.layers) {
    if (o.bits !== undefined) throw usageError('--bits and --layers both give the widths: use one');
    const bad = o.layers.find((b) => b !== 4 && b !== 8 && b !== 32);
    if (bad !== undefined)
      throw new OptionError(
        'layers',
        `${o.layers.join(',')}: ${bad} bits: ${widths('4, 8 and 32 (int4, int8, float32)')}`,
      );
    if (o.layers.length !== layerCount)
      throw usageError(
        `--layers lists ${o.layers.length} width${o.layers.length === 1 ? '' : 's'}, ${file} has ${layerCount} layers`,
      );
    if (o.layers.every((b) => b === 32)) throw usageError('--layers 32,...: every layer float32 is the input model');
  }
  if (o.auto) {
    if (o.bits !== undefined || o.layers) throw usageError('--auto chooses the widths: drop --bits/--layers');
    if (o.maxBytes === undefined) throw usageError('--auto needs --max-bytes N (the largest file to write)');
    return null;
  }
  if (o.maxBytes !== undefined) throw usageError('--max-bytes needs --auto (which chooses the widths that fit)');
  const perChannel = Boolean(o.perChannel);
  if (o.layers) return o.layers.map((b) => ({ bits: b as Bits | 32, perChannel }));
  const bits = (o.bits ?? 8) as Bits;
  return Array.from({ length: layerCount }, () => ({ bits, perChannel }));
}

/** The default output beside the float model: -int8.json, -int4.json, or -mixed.json (--auto: mixed). */
export function defaultQuantizedPath(inPath: string, precision: readonly LayerPrecision[] | null): string {
  if (precision && precision.every((p) => p.bits === 8)) return quantizedPathFor(inPath, 'int8');
  if (precision && precision.every((p) => p.bits === 4)) return quantizedPathFor(inPath, 'int4');
  return quantizedPathFor(inPath, 'mixed');
}

/** The scheme line a quantized model's meta records. */
const SCHEME_INT8 = 'symmetric int8, scale = max|w|/127, q = clamp(round(w/scale), -127, 127)';
const SCHEME = 'symmetric, scale = max|w|/Q, q = clamp(round(w/scale), -Q, Q), Q = 127 (int8) or 7 (int4)';

export async function runQuantize(opts: QuantizeOptions = {}): Promise<QuantizeReport> {
  const inPath = defaultFloatModel(opts.in);
  const src = await readModelFile(inPath);
  let precision = requestedPrecision(opts, src.raw.layers.length, inPath);
  // The float model digitkit ships gives the working directory's models/, never the package's.
  const outPath =
    opts.out ??
    (isShipped(inPath)
      ? path.join('models', path.basename(defaultQuantizedPath(inPath, precision)))
      : defaultQuantizedPath(inPath, precision));
  if (path.resolve(inPath) === path.resolve(outPath))
    throw new OptionError('out', `${outPath} is the input model; choose another path`);
  await checkOutput(outPath);
  if (src.raw.dtype !== 'float32')
    throw invalidInput(`${inPath}: dtype is "${src.raw.dtype}", expected a float32 model to quantize`);
  const data = opts.data ?? DEFAULT_DATA_DIR;
  const set = await loadTestSet(data, src.raw, inPath, { format: opts.format, labelColumn: opts.labelColumn });
  const t = set.dataset.test!;
  const test = { images: t.inputs, labels: t.labels, count: t.count };
  // The validation split is the training images `train` held out, from an IDX directory's train files.
  const val =
    set.dataset.format === 'idx' ? validationSplit(src.raw.meta, (await loadMnist(data, ['train'])).train!) : null;
  if (!val && (opts.auto || opts.maxBytes !== undefined))
    throw new OptionError(
      'auto',
      `needs an IDX directory as --data (it chooses on the training images held out); ${data} is ${set.dataset.format} data`,
    );
  // The default byte budget is the shipped MNIST model's (28x28 digits); other models keep their whole meta.
  const i = src.raw.input;
  const mnistShaped =
    i.kind === 'image' && i.width === 28 && i.height === 28 && i.channels === 1 && i.preprocess === 'digit';
  const floatVal = val ? accuracyOn(src.model, val.split) : 0;
  const sensitivity = layerSensitivity(
    src.raw,
    val?.split ?? null,
    floatVal,
    src.raw.layers.map((_, k) => (precision ? [precision[k]] : autoChoices(Boolean(opts.perChannel)))),
  );

  const intAll8 = (p: readonly LayerPrecision[]) => p.every((l) => l.bits === 8);
  const samePer = (p: readonly LayerPrecision[]) => {
    const q = p.filter((l) => l.bits !== 32);
    return q.every((l) => l.perChannel === q[0].perChannel);
  };
  const source = { file: path.basename(inPath), sha256: src.sha256 };
  /** The meta's fixed part; accuracies are filled in once measured (same length whatever their values). */
  const essentials = (
    p: readonly LayerPrecision[],
    acc: { float: number; quant: number; agree: number; val: number },
  ) =>
    intAll8(p) && samePer(p)
      ? {
          quantization: {
            scheme: SCHEME_INT8,
            granularity: p[0].perChannel ? 'per-channel' : 'per-layer',
            rounding: 'half away from zero',
            source,
            floatTestAccuracy: round6(acc.float),
            agreement: round6(acc.agree),
          },
          testAccuracy: round6(acc.quant),
        }
      : {
          quantization: {
            scheme: SCHEME,
            layers: p.map(describePrecision),
            rounding: 'half away from zero',
            source,
            ...(val && { floatValAccuracy: round6(floatVal) }),
            floatTestAccuracy: round6(acc.float),
            agreement: round6(acc.agree),
          },
          ...(val && { valAccuracy: round6(acc.val) }),
          testAccuracy: round6(acc.quant),
        };
  // For sizing, accuracies are stand-ins with the most digits round6 can give.
  const sizeProbe = { float: 0.123456, quant: 0.123456, agree: 0.123456, val: 0.123456 };
  const bytesOf = (layers: LayerToWrite[], meta: unknown) =>
    Buffer.byteLength(formatModel({ layers, input: src.raw.input, labels: src.raw.labels, meta }));

  let auto: QuantizeReport['auto'];
  if (!precision) {
    const choice = chooseAssignment(src.raw, val!.split, {
      maxBytes: opts.maxBytes!,
      sensitivity,
      bytesOf: (p) => bytesOf(quantizeModel(src.raw, p).layers, essentials(p, sizeProbe)),
      source: inPath,
    });
    precision = choice.best.precision;
    auto = { maxBytes: opts.maxBytes!, tried: choice.tried, sensitivity };
  }

  const { layers, errors } = quantizeModel(src.raw, precision);
  const quantModel = loadModel(formatModel({ layers, input: src.raw.input, labels: src.raw.labels }), outPath);
  const quantVal = val ? accuracyOn(quantModel, val.split) : 0;
  const floatPred = classifyBatch(src.model, test.images);
  const quantPred = classifyBatch(quantModel, test.images);
  const floatTest = accuracyOf(floatPred, test.labels);
  const quantTest = accuracyOf(quantPred, test.labels);
  let agree = 0;
  for (let s = 0; s < test.count; s++) if (floatPred.predicted[s] === quantPred.predicted[s]) agree++;

  const budget = opts.maxBytes ?? (mnistShaped ? MAX_INT8_BYTES : null);
  const limit = budget ?? Infinity;
  const acc = { float: floatTest, quant: quantTest, agree: agree / test.count, val: quantVal };
  const meta = quantizedMeta(src.raw.meta, essentials(precision, acc), (m) => bytesOf(layers, m), limit);
  const text = formatModel({ layers, input: src.raw.input, labels: src.raw.labels, meta });
  const bytes = Buffer.byteLength(text);
  if (bytes > limit && opts.maxBytes !== undefined)
    throw new Error(`internal: the chosen model is ${bytes} bytes, over --max-bytes ${opts.maxBytes}`);
  await writeFileAtomic(outPath, text);

  const deltaPp = (quantTest - floatTest) * 100;
  const all8 = intAll8(precision);
  const quantized = precision.filter((p) => p.bits !== 32);
  const dtypes = new Set(layers.map((l) => l.dtype));
  return {
    in: { path: inPath, bytes: src.bytes.length, sha256: src.sha256 },
    out: { path: outPath, bytes, sha256: sha256(text) },
    granularity: !samePer(precision) ? 'mixed' : quantized[0]?.perChannel ? 'per-channel' : 'per-layer',
    dtype: dtypes.size === 1 ? layers[0].dtype! : 'mixed',
    samples: src.raw.input.kind === 'vector' ? 'rows' : 'images',
    layers: layers.map((l, k) => {
      const p = precision![k];
      const s = sensitivity[k].options.find((o) => o.bits === p.bits && o.perChannel === p.perChannel)!;
      return {
        rows: l.rows,
        cols: l.cols,
        bits: p.bits,
        dtype: l.dtype!,
        perChannel: p.bits !== 32 && p.perChannel,
        bytes: s.bytes,
        ...(l.scale === undefined
          ? {}
          : {
              scale:
                typeof l.scale === 'number'
                  ? l.scale
                  : { min: Math.min(...(l.scale as number[])), max: Math.max(...(l.scale as number[])) },
            }),
        ...errors[k],
        valDeltaPp: val ? s.deltaPp : null,
      };
    }),
    validation: val && {
      images: val.split.count,
      from: val.from,
      float: floatVal,
      quantized: quantVal,
      deltaPp: (quantVal - floatVal) * 100,
      ...(val.note && { note: val.note }),
    },
    accuracy: {
      images: test.count,
      float: floatTest,
      quantized: quantTest,
      ...(all8 && { int8: quantTest }),
      deltaPp,
      agreement: agree / test.count,
    },
    ...(auto && { auto }),
    targets: {
      maxDropPp: MAX_ACCURACY_DROP_PP,
      accuracyOk: !all8 || deltaPp >= -MAX_ACCURACY_DROP_PP - 1e-9,
      maxBytes: budget,
      sizeOk: budget === null || bytes <= budget,
    },
  };
}

/** A layer's share of a model file: its base64 weights, scale(s) and biases as JSON text. */
export function layerBytes(l: LayerToWrite): number {
  const n = l.rows * l.cols;
  const raw = l.dtype === 'int4' ? Math.ceil(n / 2) : l.w instanceof Float32Array ? 4 * n : n;
  const scale =
    l.scale === undefined ? '' : JSON.stringify(typeof l.scale === 'number' ? l.scale : Array.from(l.scale));
  const b = JSON.stringify(l.b instanceof Float32Array ? Array.from(l.b, shortestFloat32) : Array.from(l.b));
  return 4 * Math.ceil(raw / 3) + scale.length + b.length;
}
