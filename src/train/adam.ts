/**
 * Adam (Kingma & Ba) with bias correction, as one pass over flat arrays: parameters, gradient and
 * both moments share one layout (params.ts), so the whole network is updated by a single loop.
 */
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS } from './wasm-abi.js';

/** The two bias-correction factors for step t (1-based): 1 - β1^t and 1 - β2^t. */
export function adamCorrections(t: number): [number, number] {
  return [1 - ADAM_BETA1 ** t, 1 - ADAM_BETA2 ** t];
}

/**
 * Step t (1-based) over elements [from, to):
 *   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
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
    const mi = ADAM_BETA1 * m[i] + (1 - ADAM_BETA1) * gi;
    const vi = ADAM_BETA2 * v[i] + (1 - ADAM_BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + ADAM_EPS);
  }
}
