/**
 * digitkit explain: what a model computes on one input, beside the core (opt-in; the core stays as
 * small as it is). One ES module that imports nothing, like the core: it works on the Model that the
 * core's `loadModel` returns (layers with float64 `w`, row-major input-major, and `b`), in float64.
 *
 * `x` is always the model's scaled input (pixel * input.scale for an image model, (v - offset) * scale
 * for a vector model), so every function here is the same maths for both kinds.
 *
 * - `hiddenActivations`, `logits`: the forward pass in the core's order of additions (inputs that are
 *   not zero, eight at a time, in index order), so the values are the ones `forward` computes, bit
 *   for bit (the core's integer first layer for int8 pixels, `forwardPixels`, rounds differently).
 * - `saliency`: d logit[c] / d x, a one-hot at the logits backpropagated through the ReLU masks
 *   (Simonyan, Vedaldi & Zisserman 2013). Exact: the network is piecewise linear.
 * - `integratedGradients`: x * the mean gradient on the straight path from the all-zero input to x
 *   (Sundararajan, Taly & Yan 2017). Without `steps` it is exact: along the path every pre-activation
 *   is piecewise linear, so the path splits into pieces on which no ReLU switches, each integrated
 *   exactly; the attributions then sum to logit(x) - logit(0) up to rounding. With `steps` it is the
 *   usual approximation (the midpoint rule on `steps` points).
 */

/** The part of a loaded model these functions read (the core's `Model` has it). */
export interface Net {
  layers: readonly { rows: number; cols: number; w: Float64Array; b: Float64Array }[];
}
type Layer = Net['layers'][number];

/**
 * `bias` + W^T a, over the inputs that are not zero, eight at a time and each eight summed left to
 * right before it is added, as the core's forward pass adds them (so the results are identical).
 */
function affine({ rows, cols, w, b }: Layer, a: ArrayLike<number>, bias: boolean): Float64Array {
  const z = bias ? Float64Array.from(b) : new Float64Array(cols),
    idx: number[] = [];
  for (let i = 0; i < rows; i++) if (a[i] !== 0) idx.push(i);
  for (let t = 0, n = idx.length; t < n; t += 8) {
    const e = Math.min(t + 8, n);
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let u = t; u < e; u++) s += a[idx[u]] * w[idx[u] * cols + j];
      z[j] += s;
    }
  }
  return z;
}

/** W g: the gradient with respect to a layer's inputs from the one with respect to its outputs (`on` masks it). */
function pull({ rows, cols, w }: Layer, g: Float64Array, on?: ArrayLike<number>): Float64Array {
  const p = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    if (on && !on[i]) continue;
    let s = 0;
    for (let j = 0; j < cols; j++) s += w[i * cols + j] * g[j];
    p[i] = s;
  }
  return p;
}

/** d logit[c] / d z0 (layer 0's outputs) through the hidden layers' ReLU masks (`on[k]` for layer k's outputs). */
function back({ layers }: Net, on: ArrayLike<number>[], c: number): Float64Array {
  let g: Float64Array = new Float64Array(layers[layers.length - 1].cols);
  g[c] = 1;
  for (let k = layers.length - 1; k > 0; k--) g = pull(layers[k], g, on[k - 1]);
  return g;
}

const relu = (z: Float64Array) => z.map((v) => (v > 0 ? v : 0));

/** Every layer's output: the hidden layers' activations (after ReLU), then the logits. */
function run(model: Net, x: ArrayLike<number>, c?: number): Float64Array[] {
  const { layers } = model,
    C = layers[layers.length - 1].cols,
    out: Float64Array[] = [];
  if (x.length != layers[0].rows) throw new RangeError(`${x.length} inputs, expected ${layers[0].rows}`);
  if (!Array.prototype.every.call(x, Number.isFinite)) throw new RangeError('the input holds a non-finite value');
  if (c !== undefined && !(Number.isInteger(c) && c >= 0 && c < C))
    throw new RangeError(`class ${c}, expected an integer in [0, ${C - 1}]`);
  let a = x;
  layers.forEach((l, k) => out.push((a = k < layers.length - 1 ? relu(affine(l, a, true)) : affine(l, a, true))));
  return out;
}

/** Each hidden layer's activations (after ReLU) for the scaled input `x`, as the core's `forward` computes them. */
export function hiddenActivations(model: Net, x: ArrayLike<number>): Float64Array[] {
  return run(model, x).slice(0, -1);
}

/** The logits (before softmax) for the scaled input `x`. */
export function logits(model: Net, x: ArrayLike<number>): Float64Array {
  return run(model, x).pop()!;
}

/** d logit[classIndex] / d x for the scaled input `x`: one number per input. */
export function saliency(model: Net, x: ArrayLike<number>, classIndex: number): Float64Array {
  const on = run(model, x, classIndex).slice(0, -1);
  return pull(model.layers[0], back(model, on, classIndex));
}

/**
 * Integrated gradients of logit[classIndex] from the all-zero input to `x`: x_i times the mean of
 * d logit / d x_i on the path. Exact without `steps` (see the file comment); `steps` > 0 averages the
 * gradient at the midpoints of `steps` equal parts of the path instead.
 */
export function integratedGradients(
  model: Net,
  x: ArrayLike<number>,
  classIndex: number,
  steps?: number,
): Float64Array {
  run(model, x, classIndex);
  const { layers } = model,
    first = layers[0],
    u = affine(first, x, false), // layer 0's outputs at alpha are b + alpha * u
    G = new Float64Array(first.cols);
  /**
   * The ReLU masks on the piece of the path that starts at `alpha`, and how far the piece reaches.
   * Every pre-activation is z + (a - alpha) * dz on the piece; a unit within rounding of 0 counts as
   * on when it is rising. `exact` false: the masks at `alpha` itself (for the midpoint rule).
   */
  // Each layer's pre-activations on the piece and their rates, and the masks: allocated once.
  const Z = layers.map((l) => new Float64Array(l.cols)),
    D = layers.map((l) => new Float64Array(l.cols)),
    on = layers.slice(1).map((l) => new Uint8Array(l.rows));
  const piece = (alpha: number, exact: boolean): number => {
    let reach = Infinity;
    first.b.forEach((b, j) => (Z[0][j] = b + alpha * u[j]));
    D[0].set(u);
    for (let k = 1; k < layers.length; k++) {
      const { rows, cols, w, b } = layers[k],
        [z, dz, nz, nd, m] = [Z[k - 1], D[k - 1], Z[k], D[k], on[k - 1]];
      nz.set(b);
      nd.fill(0);
      for (let i = 0; i < rows; i++) {
        const v = z[i],
          d = dz[i],
          e = exact ? 1e-9 * (1 + Math.abs(d)) : 0,
          up = v > e || (exact && v >= -e && d > 0);
        // Where this unit switches: on and falling, or off and rising (both at least 1e-9 away).
        if (up ? d < 0 : d > 0) reach = Math.min(reach, -v / d);
        m[i] = +up;
        if (up) for (let j = 0, o = i * cols; j < cols; j++) ((nz[j] += v * w[o + j]), (nd[j] += d * w[o + j]));
      }
    }
    return reach;
  };
  const add = (w: number) => back(model, on, classIndex).forEach((g, j) => (G[j] += w * g));
  if (steps) for (let s = 0; s < steps; s++) (piece((s + 0.5) / steps, false), add(1 / steps));
  else {
    for (let a = 0, n = 0; a < 1; n++) {
      if (n > 1e5) throw new RangeError('integratedGradients: more than 100000 linear pieces on the path');
      const b = Math.min(1, a + piece(a, true));
      add(b - a);
      a = b;
    }
  }
  // + 0: an input of 0 gets 0, never -0.
  return pull(first, G).map((v, i) => v * x[i] + 0);
}
