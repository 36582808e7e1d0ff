/**
 * Where every parameter lives: all weights and biases of the network in ONE flat Float32Array, with
 * named views per layer. Gradients and the Adam moments use the same layout, so Adam is one loop over
 * flat arrays and a checkpoint writes [params | m | v] as one block.
 *
 * Layer k maps sizes[k] inputs to sizes[k+1] outputs; its weights are row-major, input-major
 * (weight from input i to output j at i*cols + j), exactly as the model file stores them.
 * Every tensor starts on a 16-byte boundary so SIMD kernels can load whole rows.
 */
import type { Rng } from './rng.js';

export interface LayerSlots {
  rows: number;
  cols: number;
  /** Offsets (in floats) of W and b inside the flat array. */
  w: number;
  b: number;
}

export interface ParamLayout {
  sizes: readonly number[];
  layers: readonly LayerSlots[];
  /** Total floats, padding included. */
  count: number;
}

const align4 = (n: number) => (n + 3) & ~3;

export function paramLayout(sizes: readonly number[]): ParamLayout {
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1))
    throw new Error(`bad layer sizes ${sizes.join(',')}`);
  const layers: LayerSlots[] = [];
  let at = 0;
  for (let k = 0; k + 1 < sizes.length; k++) {
    const rows = sizes[k];
    const cols = sizes[k + 1];
    const w = at;
    at = align4(at + rows * cols);
    const b = at;
    at = align4(at + cols);
    layers.push({ rows, cols, w, b });
  }
  return { sizes: sizes.slice(), layers, count: at };
}

export interface LayerViews<F extends Float32Array | Float64Array = Float32Array | Float64Array> {
  rows: number;
  cols: number;
  w: F;
  b: F;
}

/** Named views of one flat array (parameters, gradients or a moment) laid out by `layout`. */
export function layerViews<F extends Float32Array | Float64Array>(flat: F, layout: ParamLayout): LayerViews<F>[] {
  if (flat.length < layout.count) throw new Error(`flat array has ${flat.length} floats, layout needs ${layout.count}`);
  return layout.layers.map((l) => ({
    rows: l.rows,
    cols: l.cols,
    w: flat.subarray(l.w, l.w + l.rows * l.cols) as F,
    b: flat.subarray(l.b, l.b + l.cols) as F,
  }));
}

/** He initialisation: W ~ N(0, 2 / fan_in), b = 0; drawn layer by layer, row-major, from `rng`. */
export function heInit(flat: Float32Array, layout: ParamLayout, rng: Rng): void {
  flat.fill(0, 0, layout.count);
  for (const l of layerViews(flat, layout)) {
    const std = Math.sqrt(2 / l.rows);
    for (let i = 0; i < l.w.length; i++) l.w[i] = rng.normal() * std;
  }
}
