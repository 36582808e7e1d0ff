/**
 * The reference engine: single-threaded, built from the plain kernels in layers.ts and the plain
 * Adam of adam.ts, readable line by line. The fast engine (fast-engine.ts) is tested against it.
 */
import { adamStep } from './adam.js';
import { AUG_STRIDE, augmentImage, PIXELS } from './augment.js';
import type { Engine, EngineOptions } from './engine.js';
import { countCorrect } from './layers.js';
import { createMlpScratch, mlpForward, mlpLossAndGrad } from './mlp.js';
import { layerViews, paramLayout } from './params.js';

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
