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
