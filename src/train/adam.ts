/**
 * Adam (Kingma & Ba) with bias correction, as one pass over flat arrays: parameters, gradient and
 * both moments share one layout (params.ts), so the whole network is updated by a single loop.
 */
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_TINY } from './wasm-abi.js';

/** ADAM_TINY as the float32 the moments are stored in (the kernels compare in float32 too). */
const TINY = Math.fround(ADAM_TINY);

/** The two bias-correction factors for step t (1-based): 1 - β1^t and 1 - β2^t. */
export function adamCorrections(t: number): [number, number] {
  return [1 - ADAM_BETA1 ** t, 1 - ADAM_BETA2 ** t];
}

/**
 * Step t (1-based) over elements [from, to):
 *   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
 * A moment whose float32 value is below ADAM_TINY (1e-30) in magnitude becomes 0, as in the kernels'
 * adamRow (wasm-abi.ts says why). The arithmetic itself is float64 here, float32 there: the two agree
 * to float32 rounding, which the tests allow for.
 */
export function adamStep(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lr: number,
  t: number,
  from = 0,
  to = p.length,
): void {
  const [c1, c2] = adamCorrections(t);
  for (let i = from; i < to; i++) {
    const gi = g[i];
    let mi = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * gi;
    let vi = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (!(Math.abs(m[i]) >= TINY)) m[i] = mi = 0;
    if (!(v[i] >= TINY)) v[i] = vi = 0;
    p[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + ADAM_EPS);
  }
}
