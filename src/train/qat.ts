/**
 * Quantization-aware training's fake quantization, the reference the wasm kernel (fakeQuant in
 * wasm/kernels.ts) is tested against, and the rule the exported model's integers come from: per layer
 * (or per output column) scale = float32(max|w| / Q), Q = 7 (int4) or 127 (int8), q = clamp(round half
 * away from zero(float32(w / scale)), -Q, Q); the forward pass uses float32(q * scale). Every operation
 * is one float32 rounding, so this file and the kernel agree bit for bit.
 */
export const QMAX: Record<number, number> = { 4: 7, 8: 127 };

const f = Math.fround;
const roundAway = (x: number) => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));

/** Scales of a rows x cols row-major weight matrix: one, or one per output column. */
export function computeScales(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  bits: number,
  perChannel: boolean,
  out?: Float32Array,
): Float32Array {
  const s = out ?? new Float32Array(perChannel ? cols : 1);
  s.fill(0);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(w[i * cols + j]);
      const g = perChannel ? j : 0;
      if (a > s[g]) s[g] = a;
    }
  for (let g = 0; g < s.length; g++) s[g] = s[g] > 0 ? f(s[g] / QMAX[bits]) : 1;
  return s;
}

/** The integers of w under `scales` (the values a model file stores). */
export function quantizeInts(
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  bits: number,
  scales: Float32Array,
): Int8Array {
  const Q = QMAX[bits];
  const q = new Int8Array(rows * cols);
  const per = scales.length > 1;
  for (let p = 0; p < q.length; p++) q[p] = Math.max(-Q, Math.min(Q, roundAway(f(w[p] / scales[per ? p % cols : 0]))));
  return q;
}

/** out = float32(q * scale) for w's integers under `scales`. */
export function fakeQuantize(
  out: Float32Array,
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  bits: number,
  scales: Float32Array,
): void {
  const q = quantizeInts(w, rows, cols, bits, scales);
  const per = scales.length > 1;
  for (let p = 0; p < q.length; p++) out[p] = f(q[p] * scales[per ? p % cols : 0]);
}

/** A trained layer as the model file stores it under QAT: integers and scales, or float32 (bits 0). */
export interface QatLayer {
  rows: number;
  cols: number;
  dtype: 'int4' | 'int8' | 'float32';
  w: Int8Array | Float32Array;
  /** Each scale's shortest decimal that reads back to the float32 scale (the file stays small). */
  scale?: number | number[];
  b: Float32Array;
}

/**
 * The exported layers of a QAT run: each quantized layer's integers under the scales the forward pass
 * used last (`scales`, one entry per quantized layer), the others float32. Scales are written as their
 * shortest float32 decimals: the core's float64 q * scale then differs from training's float32 by
 * under 1e-7 relative, far inside what verify allows between the file and its fixtures (none: both
 * come from the file).
 */
export function exportQuantized(
  views: readonly { rows: number; cols: number; w: Float32Array; b: Float32Array }[],
  bits: readonly number[],
  scales: readonly Float32Array[],
  shortest: (x: number) => number,
): QatLayer[] {
  let s = 0;
  return views.map((l, k) => {
    const b = Float32Array.from(l.b);
    if (!bits[k]) return { rows: l.rows, cols: l.cols, dtype: 'float32', w: Float32Array.from(l.w), b };
    const sc = scales[s++];
    return {
      rows: l.rows,
      cols: l.cols,
      dtype: bits[k] === 4 ? 'int4' : 'int8',
      w: quantizeInts(l.w, l.rows, l.cols, bits[k], sc),
      scale: sc.length > 1 ? Array.from(sc, shortest) : shortest(sc[0]),
      b,
    };
  });
}
