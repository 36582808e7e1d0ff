/**
 * Mixed precision: how much each layer's quantization costs on its own (sensitivity), and the
 * per-layer assignment that fits a byte budget with the least loss. Everything is measured on the
 * validation split through the inference core, never on the test set.
 */
import { loadModel, type RawModel } from '../core/index.js';
import type { MnistSplit } from '../data/load.js';
import { usageError } from '../errors.js';
import { formatModel } from '../node/model-file.js';
import {
  accuracyOn,
  describePrecision,
  layerBytes,
  quantizeLayer,
  quantizeModel,
  type LayerPrecision,
} from './quantize.js';

export interface SensitivityOption extends LayerPrecision {
  /** The layer's share of the file at this precision (weights, scales, biases as written). */
  bytes: number;
  maxAbs: number;
  meanAbs: number;
  /** Validation accuracy with only this layer at this precision (the others float32). */
  accuracy: number;
  /** accuracy - the float model's, in percentage points. */
  deltaPp: number;
}

export interface LayerSensitivity {
  layer: number;
  rows: number;
  cols: number;
  options: SensitivityOption[];
}

/** The four ways to store a layer that `--auto` weighs (or the two per-channel ones). */
export function autoChoices(perChannelOnly: boolean): LayerPrecision[] {
  const all: LayerPrecision[] = [
    { bits: 8, perChannel: false },
    { bits: 8, perChannel: true },
    { bits: 4, perChannel: false },
    { bits: 4, perChannel: true },
  ];
  return perChannelOnly ? all.filter((p) => p.perChannel) : all;
}

/** Each layer alone at each of its `choices[k]`, the rest float32, on the validation split (none: bytes and errors only). */
export function layerSensitivity(
  raw: RawModel,
  val: MnistSplit | null,
  floatVal: number,
  choices: readonly (readonly LayerPrecision[])[],
): LayerSensitivity[] {
  const float = raw.layers.map((l) => quantizeLayer(l, { bits: 32, perChannel: false }).layer);
  return raw.layers.map((l, k) => ({
    layer: k,
    rows: l.rows,
    cols: l.cols,
    options: choices[k].map((p) => {
      const { layer, error } = quantizeLayer(l, p);
      let accuracy = floatVal;
      if (p.bits !== 32 && val) {
        const layers = float.map((f, i) => (i === k ? layer : f));
        accuracy = accuracyOn(loadModel(formatModel({ layers, input: raw.input, labels: raw.labels }), 'layer'), val);
      }
      return { ...p, bytes: layerBytes(layer), ...error, accuracy, deltaPp: (accuracy - floatVal) * 100 };
    }),
  }));
}

export interface Assignment {
  precision: LayerPrecision[];
  /** "int4 per-channel, int8, int8". */
  label: string;
  /** The model file's size with this assignment (its quantization meta included). */
  bytes: number;
  /** Sum of the layers' losses alone (pp): the estimate candidates are ranked by. */
  estimatePp: number;
  /** Measured validation accuracy of the whole assignment. */
  accuracy: number;
}

export interface ChooseOptions {
  maxBytes: number;
  sensitivity: LayerSensitivity[];
  /** The exact file size of an assignment. */
  bytesOf(p: LayerPrecision[]): number;
  /** The input model's path, for messages. */
  source: string;
}

/** Whole assignments measured on the validation split (the best by estimate); more are only estimated. */
const MEASURED = 24;
/** Above this many combinations, the search keeps the best by estimate at each layer instead of all. */
const EXHAUSTIVE = 4096;

/**
 * The assignment of one option per layer (from `sensitivity`) whose file fits `maxBytes` with the best
 * validation accuracy (ties: the smaller file). Candidates are ranked by the sum of the layers' losses
 * alone; the best MEASURED that fit are measured whole. Throws a usage error (exit 2) naming the
 * smallest size possible when nothing fits.
 */
export function chooseAssignment(
  raw: RawModel,
  val: MnistSplit,
  o: ChooseOptions,
): { best: Assignment; tried: Assignment[] } {
  const opts = o.sensitivity.map((s) => s.options.filter((p) => p.bits !== 32));
  // The smallest assignment: each layer's smallest option.
  const smallest = opts.map((os) => os.reduce((a, b) => (b.bytes < a.bytes ? b : a)));
  const minBytes = o.bytesOf(smallest);
  if (minBytes > o.maxBytes) {
    throw usageError(
      `--max-bytes ${o.maxBytes}: the smallest model this can write from ${o.source} is ${minBytes} bytes (${smallest.map(describePrecision).join(', ')})`,
    );
  }
  // Enumerate combinations (pruned to the best few per layer by loss when there are too many).
  let pools = opts;
  if (opts.reduce((n, os) => n * os.length, 1) > EXHAUSTIVE) {
    pools = opts.map((os) => [...os].sort((a, b) => b.deltaPp - a.deltaPp || a.bytes - b.bytes).slice(0, 2));
    pools = pools.map((p, k) => (p.includes(smallest[k]) ? p : [...p, smallest[k]]));
  }
  let combos: SensitivityOption[][] = [[]];
  for (const pool of pools) combos = combos.flatMap((c) => pool.map((p) => [...c, p]));
  const ranked = combos
    .map((c) => ({ c, estimate: c.reduce((s, p) => s + p.deltaPp, 0), roughBytes: c.reduce((s, p) => s + p.bytes, 0) }))
    .sort((a, b) => b.estimate - a.estimate || a.roughBytes - b.roughBytes);
  const tried: Assignment[] = [];
  for (const { c, estimate } of ranked) {
    if (tried.length >= MEASURED) break;
    const precision = c.map((p) => ({ bits: p.bits, perChannel: p.perChannel }));
    const bytes = o.bytesOf(precision);
    if (bytes > o.maxBytes) continue;
    const { layers } = quantizeModel(raw, precision);
    const accuracy = accuracyOn(loadModel(formatModel({ layers, input: raw.input, labels: raw.labels }), 'mixed'), val);
    tried.push({
      precision,
      label: precision.map(describePrecision).join(', '),
      bytes,
      estimatePp: estimate,
      accuracy,
    });
  }
  tried.sort((a, b) => b.accuracy - a.accuracy || a.bytes - b.bytes);
  return { best: tried[0], tried };
}
