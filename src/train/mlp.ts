/**
 * The whole network from the reference layer kernels: ReLU after every layer but the last, softmax
 * cross-entropy on the last. Activations live in caller-owned scratch sized for the largest batch,
 * so a training step allocates nothing.
 */
import {
  countCorrect,
  type Floats,
  linearBackward,
  linearForward,
  reluBackward,
  reluForward,
  softmaxCrossEntropy,
  softmaxDistill,
} from './layers.js';
import type { LayerViews, ParamLayout } from './params.js';

export interface MlpScratch {
  maxBatch: number;
  /** Output of each layer (after ReLU for hidden layers; logits for the last), maxBatch x cols. */
  acts: Floats[];
  /** dLoss/d(layer output before its ReLU), maxBatch x cols. */
  deltas: Floats[];
}

export function createMlpScratch(layout: ParamLayout, maxBatch: number, precision: 32 | 64 = 32): MlpScratch {
  const make = (n: number) => (precision === 64 ? new Float64Array(n) : new Float32Array(n));
  return {
    maxBatch,
    acts: layout.layers.map((l) => make(maxBatch * l.cols)),
    deltas: layout.layers.map((l) => make(maxBatch * l.cols)),
  };
}

/** Forward `n` inputs (n x sizes[0]); returns the logits (n x classes, a view into scratch). */
export function mlpForward(p: readonly LayerViews[], x: Floats, n: number, s: MlpScratch): Floats {
  let inp = x;
  for (let k = 0; k < p.length; k++) {
    const l = p[k];
    const out = s.acts[k];
    linearForward(out, inp, l.w, l.b, n, l.rows, l.cols);
    if (k + 1 < p.length) reluForward(out, out, n * l.cols);
    inp = out;
  }
  return s.acts[p.length - 1];
}

export interface BatchResult {
  /** Summed loss over the batch (label-smoothed cross-entropy). */
  loss: number;
  correct: number;
}

/**
 * Forward + backward for one batch: writes the gradient of the MEAN loss over the `n` examples into
 * `g` (same layout as `p`, overwritten). With `distill`, the loss is softmaxDistill against the teacher's
 * logits for the same inputs (row-major, n x classes).
 */
export function mlpLossAndGrad(
  p: readonly LayerViews[],
  g: readonly LayerViews[],
  x: Floats,
  labels: ArrayLike<number>,
  labelOff: number,
  n: number,
  smoothing: number,
  s: MlpScratch,
  distill?: { logits: Floats; invT: number; alpha: number },
): BatchResult {
  const last = p.length - 1;
  const k = p[last].cols;
  const logits = mlpForward(p, x, n, s);
  const correct = countCorrect(logits, labels, labelOff, n, k);
  const loss = distill
    ? softmaxDistill(
        s.deltas[last],
        logits,
        distill.logits,
        labels,
        labelOff,
        n,
        k,
        smoothing,
        1 / n,
        distill.invT,
        distill.alpha,
      )
    : softmaxCrossEntropy(s.deltas[last], logits, labels, labelOff, n, k, smoothing, 1 / n);
  for (let l = last; l >= 0; l--) {
    const inp = l === 0 ? x : s.acts[l - 1];
    const dInp = l === 0 ? null : s.deltas[l - 1];
    linearBackward(dInp, g[l].w, g[l].b, s.deltas[l], inp, p[l].w, n, p[l].rows, p[l].cols);
    if (dInp) reluBackward(dInp, dInp, s.acts[l - 1], n * p[l].rows);
  }
  return { loss, correct };
}
