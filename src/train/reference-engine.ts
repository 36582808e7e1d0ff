/**
 * The reference engine: single-threaded, built from the plain kernels in layers.ts and the plain
 * Adam of adam.ts, readable line by line. The fast engine (fast-engine.ts) is tested against it.
 */
import { adamStep } from './adam.js';
import { addNoise, augmentImage, augStrideOf } from './augment.js';
import { checkEngineOptions, inputSizeOf, type Engine, type EngineOptions } from './engine.js';
import { countCorrect } from './layers.js';
import { createMlpScratch, mlpForward, mlpLossAndGrad } from './mlp.js';
import { layerViews, paramLayout } from './params.js';

export function createReferenceEngine(o: EngineOptions): Engine {
  checkEngineOptions(o);
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
  const S = inputSizeOf(o.input);
  const x = new Float32Array(o.maxBatch * S);
  const batchLabels = new Uint8Array(o.maxBatch);
  const order = new Int32Array(o.train.count);
  const augStride = augStrideOf(o.input);
  const aug = new Float64Array(o.maxBatch * augStride);
  const classes = o.sizes[o.sizes.length - 1];
  const input = o.input;

  return {
    layout,
    input,
    state,
    params,
    order,
    aug,
    augStride,
    paramsChanged() {},
    trainStep(from, n, lr, t) {
      for (let r = 0; r < n; r++) {
        const i = order[from + r];
        if (input.kind === 'image')
          augmentImage(x, r * S, o.train.inputs as Uint8Array, i * S, aug, r * augStride, input);
        else addNoise(x, r * S, o.train.inputs as Float32Array, i * S, aug, r * augStride, S);
        batchLabels[r] = o.train.labels[i];
      }
      const res = mlpLossAndGrad(pv, gv, x, batchLabels, 0, n, o.smoothing, scratch);
      adamStep(params, grads, m, v, lr, t);
      return res;
    },
    evaluate(set, from, n) {
      const data = set === 'test' ? o.test : o.train;
      if (!data) throw new Error('no test set loaded');
      // Pixels become pixel · (1/255) (the model file's input.scale), features are taken as they are.
      const f = input.kind === 'image' ? 1 / 255 : 1;
      let correct = 0;
      for (let s = 0; s < n; s += o.maxBatch) {
        const k = Math.min(o.maxBatch, n - s);
        for (let i = 0; i < k * S; i++) x[i] = data.inputs[(from + s) * S + i] * f;
        const logits = mlpForward(pv, x, k, scratch);
        correct += countCorrect(logits, data.labels, from + s, k, classes);
      }
      return correct;
    },
    async close() {},
  };
}
