/**
 * The reference layer kernels: forward/backward pairs of free functions over caller-owned,
 * row-major typed arrays (`n` rows of a batch, one row per example). Plain loops, no allocation.
 * The fast kernels (src/train/wasm) are tested against these. They take float32 or float64 arrays
 * (training uses float32; the gradient check runs them in float64).
 */
export type Floats = Float32Array | Float64Array;

/** out[r, j] = b[j] + sum_i inp[r, i] * W[i, j]   (W is inDim x outDim, row-major). */
export function linearForward(
  out: Floats,
  inp: Floats,
  w: Floats,
  b: Floats,
  n: number,
  inDim: number,
  outDim: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * outDim;
    for (let j = 0; j < outDim; j++) out[o + j] = b[j];
    const x = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const a = inp[x + i];
      if (a === 0) continue; // inputs are mostly zeros (MNIST background, ReLU): the sum is unchanged
      const wi = i * outDim;
      for (let j = 0; j < outDim; j++) out[o + j] += a * w[wi + j];
    }
  }
}

/**
 * Given dOut = dL/dout for the batch: dW = inp^T dOut and db = column sums (both overwritten, summed
 * over rows in order), and dInp = dOut W^T unless dInp is null (the first layer needs no input gradient).
 */
export function linearBackward(
  dInp: Floats | null,
  dW: Floats,
  db: Floats,
  dOut: Floats,
  inp: Floats,
  w: Floats,
  n: number,
  inDim: number,
  outDim: number,
): void {
  dW.fill(0, 0, inDim * outDim);
  db.fill(0, 0, outDim);
  for (let r = 0; r < n; r++) {
    const o = r * outDim;
    for (let j = 0; j < outDim; j++) db[j] += dOut[o + j];
    const x = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const a = inp[x + i];
      if (a === 0) continue;
      const wi = i * outDim;
      for (let j = 0; j < outDim; j++) dW[wi + j] += a * dOut[o + j];
    }
  }
  if (!dInp) return;
  for (let r = 0; r < n; r++) {
    const o = r * outDim;
    const x = r * inDim;
    for (let i = 0; i < inDim; i++) {
      const wi = i * outDim;
      let s = 0;
      for (let j = 0; j < outDim; j++) s += dOut[o + j] * w[wi + j];
      dInp[x + i] = s;
    }
  }
}

/** out = max(0, inp), elementwise over `len` values (in place allowed). */
export function reluForward(out: Floats, inp: Floats, len: number): void {
  for (let i = 0; i < len; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

/** dInp = dOut where the ReLU's output was positive, else 0 (in place allowed). */
export function reluBackward(dInp: Floats, dOut: Floats, out: Floats, len: number): void {
  for (let i = 0; i < len; i++) dInp[i] = out[i] > 0 ? dOut[i] : 0;
}

/**
 * Softmax cross-entropy against labels smoothed to (1 - s) on the true class + s / k everywhere,
 * computed stably (max subtracted, log-sum-exp in float64). Writes dLogits = (softmax - target) * gradScale
 * (e.g. 1 / batch size for a mean loss) and returns the summed loss of the `n` rows.
 */
export function softmaxCrossEntropy(
  dLogits: Floats,
  logits: Floats,
  labels: ArrayLike<number>,
  labelOff: number,
  n: number,
  k: number,
  smoothing: number,
  gradScale: number,
): number {
  const off = smoothing / k;
  const on = 1 - smoothing + off;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[o + j] - max);
    const logSum = Math.log(sum);
    const y = labels[labelOff + r];
    for (let j = 0; j < k; j++) {
      const t = j === y ? on : off;
      if (t !== 0) total -= t * (logits[o + j] - max - logSum);
      dLogits[o + j] = (Math.exp(logits[o + j] - max) / sum - t) * gradScale;
    }
  }
  return total;
}

/**
 * Distillation (Hinton et al.): (1 - alpha) · the label-smoothed cross-entropy of softmaxCrossEntropy
 * + alpha · T² · KL(softmax(teacher / T) ‖ softmax(logits / T)), T = 1 / invT, per row. Writes
 * dLogits = gradScale · [(1 - alpha)(softmax(logits) - target) + alpha · T · (softmax(logits / T) - softmax(teacher / T))]
 * and returns the summed loss of the `n` rows.
 */
export function softmaxDistill(
  dLogits: Floats,
  logits: Floats,
  teacher: Floats,
  labels: ArrayLike<number>,
  labelOff: number,
  n: number,
  k: number,
  smoothing: number,
  gradScale: number,
  invT: number,
  alpha: number,
): number {
  const off = smoothing / k;
  const on = 1 - smoothing + off;
  const T = 1 / invT;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let max = -Infinity;
    let maxT = -Infinity;
    for (let j = 0; j < k; j++) {
      if (logits[o + j] > max) max = logits[o + j];
      if (teacher[o + j] > maxT) maxT = teacher[o + j];
    }
    const maxS = max * invT;
    maxT *= invT;
    let sum = 0;
    let sumS = 0;
    let sumT = 0;
    for (let j = 0; j < k; j++) {
      sum += Math.exp(logits[o + j] - max);
      sumS += Math.exp(logits[o + j] * invT - maxS);
      sumT += Math.exp(teacher[o + j] * invT - maxT);
    }
    const logSum = Math.log(sum);
    const logSumS = Math.log(sumS);
    const logSumT = Math.log(sumT);
    const y = labels[labelOff + r];
    let ce = 0;
    let kl = 0;
    for (let j = 0; j < k; j++) {
      const t = j === y ? on : off;
      if (t !== 0) ce -= t * (logits[o + j] - max - logSum);
      const qt = Math.exp(teacher[o + j] * invT - maxT) / sumT;
      if (qt > 0) kl += qt * (teacher[o + j] * invT - maxT - logSumT - (logits[o + j] * invT - maxS - logSumS));
      const g =
        (1 - alpha) * (Math.exp(logits[o + j] - max) / sum - t) +
        alpha * T * (Math.exp(logits[o + j] * invT - maxS) / sumS - qt);
      dLogits[o + j] = g * gradScale;
    }
    total += (1 - alpha) * ce + alpha * T * T * kl;
  }
  return total;
}

/** How many rows' argmax (first maximum on ties) equals the label. */
export function countCorrect(
  logits: Floats,
  labels: ArrayLike<number>,
  labelOff: number,
  n: number,
  k: number,
): number {
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[o + j] > logits[o + best]) best = j;
    if (best === labels[labelOff + r]) correct++;
  }
  return correct;
}
