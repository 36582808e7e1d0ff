/**
 * An engine owns the numbers of a training run (parameters, Adam moments, the shuffled order, the
 * batch's augmentation transforms) and runs optimizer steps and evaluations on them. The loop
 * (loop.ts) decides WHAT to do; an engine decides HOW.
 *
 * This file holds the reference engine: single-threaded, built from the plain kernels in layers.ts.
 * The fast engine (pool.ts: wasm SIMD kernels on worker threads over shared memory) has the same shape.
 */
import { adamStep } from './adam.js';
import { AUG_STRIDE, augmentImage, PIXELS } from './augment.js';
import { createMlpScratch, mlpForward, mlpLossAndGrad, type BatchResult } from './mlp.js';
import { countCorrect } from './layers.js';
import { layerViews, paramLayout, type ParamLayout } from './params.js';

export interface ImageSet {
  /** count x 784 bytes, row-major 28x28, ink = 255. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface EngineOptions {
  sizes: number[];
  maxBatch: number;
  smoothing: number;
  /** The training images (validation ones included, at the end). */
  train: ImageSet;
  test?: ImageSet;
}

export interface Engine {
  readonly layout: ParamLayout;
  /** [params | Adam m | Adam v], 3 x layout.count floats: the block a checkpoint stores. */
  readonly state: Float32Array;
  /** The parameters (a view of `state`). */
  readonly params: Float32Array;
  /** The training order: the loop shuffles it in place (indices into the training images). */
  readonly order: Int32Array;
  /** The current batch's transforms, AUG_STRIDE float64 per image, written by the loop. */
  readonly aug: Float64Array;
  /** Call after writing `state` from outside (initialisation, a checkpoint): refreshes derived copies. */
  paramsChanged(): void;
  /** One Adam step (t is 1-based) on the n images order[from..from+n) transformed by aug[0..4n). */
  trainStep(from: number, n: number, lr: number, t: number): BatchResult;
  /** Correct predictions on images [from, from+n) of the training or test set (no augmentation). */
  evaluate(set: 'train' | 'test', from: number, n: number): number;
  close(): Promise<void>;
}

export function createReferenceEngine(o: EngineOptions): Engine {
  const layout = paramLayout(o.sizes);
  const P = layout.count;
  const state = new Float32Array(3 * P);
  const params = state.subarray(0, P);
  const m = state.subarray(P, 2 * P);
  const v = state.subarray(2 * P, 3 * P);
  const grads = new Float32Array(P);
  const pv = layerViews(params, layout);
  const gv = layerViews(grads, layout);
  const scratch = createMlpScratch(layout, o.maxBatch);
  const x = new Float32Array(o.maxBatch * PIXELS);
  const batchLabels = new Uint8Array(o.maxBatch);
  const order = new Int32Array(o.train.count);
  const aug = new Float64Array(o.maxBatch * AUG_STRIDE);
  const classes = o.sizes[o.sizes.length - 1];

  return {
    layout,
    state,
    params,
    order,
    aug,
    paramsChanged() {},
    trainStep(from, n, lr, t) {
      for (let r = 0; r < n; r++) {
        const img = order[from + r];
        augmentImage(x, r * PIXELS, o.train.images, img * PIXELS, aug, r * AUG_STRIDE);
        batchLabels[r] = o.train.labels[img];
      }
      const res = mlpLossAndGrad(pv, gv, x, batchLabels, 0, n, o.smoothing, scratch);
      adamStep(params, grads, m, v, lr, t);
      return res;
    },
    evaluate(set, from, n) {
      const data = set === 'test' ? o.test : o.train;
      if (!data) throw new Error('no test set loaded');
      let correct = 0;
      for (let s = 0; s < n; s += o.maxBatch) {
        const k = Math.min(o.maxBatch, n - s);
        for (let i = 0; i < k * PIXELS; i++) x[i] = data.images[(from + s) * PIXELS + i] * (1 / 255);
        const logits = mlpForward(pv, x, k, scratch);
        correct += countCorrect(logits, data.labels, from + s, k, classes);
      }
      return correct;
    },
    async close() {},
  };
}
