/**
 * The reference forward pass the fixtures' expected probabilities come from
 * (docs/contracts/fixtures-format.md): float64 throughout, each weight dequantized as q * scale.
 *
 * It shares no code with the core's forward pass (only the core's parser, for the decoded layers)
 * and differs from it on purpose: output-major dot products instead of input-major, no skipping of
 * zero inputs, and Neumaier-compensated sums, so it is at least as accurate as any float64 runtime
 * it judges. Slow (about 1 ms an image) and meant to be: it runs for the ~100 fixture cases only.
 */
import type { RawModel } from '../core/index.js';

/** a + b as a compensated running sum: `s` holds the sum, `c` the accumulated rounding error. */
function neumaier(acc: { s: number; c: number }, x: number): void {
  const t = acc.s + x;
  acc.c += Math.abs(acc.s) >= Math.abs(x) ? acc.s - t + x : x - t + acc.s;
  acc.s = t;
}

/**
 * Softmax probabilities for one raw input: an image model's 0..255 pixels (row-major, channels
 * interleaved), or a vector model's feature values (x = (v - offset) * scale).
 */
export function referenceProbs(raw: RawModel, input: ArrayLike<number>): number[] {
  const inp = raw.input;
  let a: number[] = Array.from(input, (v, i) =>
    inp.kind === 'vector' ? (v - inp.offset[i]) * inp.scale[i] : v * inp.scale,
  );
  raw.layers.forEach(({ rows, cols, q, scale, b }, k) => {
    if (a.length !== rows) throw new Error(`reference: layer ${k} expects ${rows} inputs, got ${a.length}`);
    const z: number[] = [];
    for (let j = 0; j < cols; j++) {
      const s = scale === undefined ? 1 : typeof scale === 'number' ? scale : scale[j];
      const acc = { s: b[j], c: 0 };
      for (let i = 0; i < rows; i++) neumaier(acc, a[i] * (q[i * cols + j] * s));
      z.push(acc.s + acc.c);
    }
    a = k < raw.layers.length - 1 ? z.map((v) => (v > 0 ? v : 0)) : z;
  });
  const max = Math.max(...a);
  if (!Number.isFinite(max)) throw new RangeError('reference: the logits are not finite for this input');
  const e = a.map((v) => Math.exp(v - max));
  const sum = { s: 0, c: 0 };
  for (const v of e) neumaier(sum, v);
  return e.map((v) => v / (sum.s + sum.c));
}
