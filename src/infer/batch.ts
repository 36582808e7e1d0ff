/**
 * Inference over many samples at once, through the path that ships: the core's `forwardPixels`
 * (raw 0..255 pixels; for int8 models the exact integer first layer), the same arithmetic `predict`,
 * the browser page and `verify` run. Every command that reports an accuracy, an agreement or a
 * margin (quantize, fixtures, eval) gets it from `classifyBatch`, so what they report is what ships.
 *
 * This folder sits just above the core (and core-wasm, the same API on a WebAssembly kernel) and
 * imports nothing else: quant/, verify/ and eval/ all use it without pointing sideways at each other.
 * It takes a model of either module and its raw inputs, whatever the input kind: image models take
 * pixels (`forwardPixels`); vector models (model contract version 2) take raw feature values
 * (`forwardValues`).
 */
import { forwardPixels, forwardValues, type Model as CoreModel } from '../core/index.js';
import * as wasm from '../core-wasm/index.js';

/** A model of the core or of core-wasm (eval runs the latter). */
export type Model = CoreModel | wasm.Model;

export interface BatchPredictions {
  count: number;
  classes: number;
  /** Softmax outputs, `count * classes`, sample-major. */
  probs: Float64Array;
  /** The most probable class of each sample (the first of equal ones, as the core's classify). */
  predicted: Int32Array;
  /** p(top-1) - p(top-2) of each sample: how sure the model is. */
  margin: Float64Array;
}

/** Samples back to back (typed, so a chunk is a view, not a copy). */
export type BatchInputs = Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;

export interface BatchOptions {
  /** Called after each chunk of samples with how many are done. */
  onProgress?: (done: number, total: number) => void;
}

/** Samples per call into the core: small enough for a progress bar to move, large enough to cost nothing. */
const CHUNK = 500;

/**
 * Classify every sample in `inputs`: the model's raw inputs back to back, `input.size` values per
 * sample (raw 0..255 pixels for an image model, raw feature values for a vector model).
 */
export function classifyBatch(model: Model, inputs: BatchInputs, opts: BatchOptions = {}): BatchPredictions {
  const size = model.input.size;
  const vector = model.input.kind === 'vector';
  const forwardRaw = (m: Model, x: BatchInputs, out: Float64Array) =>
    'engine' in m
      ? (vector ? wasm.forwardValues : wasm.forwardPixels)(m, x, out)
      : (vector ? forwardValues : forwardPixels)(m, x, out);
  const classes = model.labels.length;
  const count = inputs.length / size;
  if (!Number.isInteger(count)) throw new RangeError(`${inputs.length} input values, expected a multiple of ${size}`);
  const probs = new Float64Array(count * classes);
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(start + CHUNK, count);
    forwardRaw(model, inputs.subarray(start * size, end * size), probs.subarray(start * classes, end * classes));
    opts.onProgress?.(end, count);
  }
  const predicted = new Int32Array(count);
  const margin = new Float64Array(count);
  for (let s = 0, o = 0; s < count; s++, o += classes) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (probs[o + j] > probs[o + best]) best = j;
    let second = -Infinity;
    for (let j = 0; j < classes; j++) if (j !== best && probs[o + j] > second) second = probs[o + j];
    predicted[s] = best;
    margin[s] = probs[o + best] - second;
  }
  return { count, classes, probs, predicted, margin };
}

/** The fraction of samples whose predicted class is their label (`labels`: the true classes). */
export function accuracyOf(p: BatchPredictions, labels: ArrayLike<number>): number {
  if (labels.length !== p.count) throw new RangeError(`${labels.length} labels for ${p.count} predictions`);
  let correct = 0;
  for (let s = 0; s < p.count; s++) if (p.predicted[s] === labels[s]) correct++;
  return correct / p.count;
}
