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
import { computeScales, fakeQuantize } from './qat.js';

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
  // Quantization-aware training: the forward (and backward) pass reads fake-quantized copies (fv).
  const qat = o.qat;
  const quantized = layout.layers.map((_, k) => (qat?.bits[k] ?? 0) > 0);
  const fwdFlat = qat ? new Float32Array(P) : params;
  const fv = qat ? layerViews(fwdFlat, layout) : pv;
  const qatScales = pv.flatMap((l, k) => (quantized[k] ? [new Float32Array(qat!.perChannel[k] ? l.cols : 1)] : []));
  const requantize = () => {
    if (!qat) return;
    fwdFlat.set(params);
    let s = 0;
    pv.forEach((l, k) => {
      if (!quantized[k]) return;
      const scales = qatScales[s++];
      if (!qat.frozen) computeScales(l.w, l.rows, l.cols, qat.bits[k], qat.perChannel[k], scales);
      fakeQuantize(fv[k].w as Float32Array, l.w, l.rows, l.cols, qat.bits[k], scales);
    });
  };
  // Distillation: the teacher's logits for the same (augmented) batch.
  const tch = o.teacher;
  const tLayout = tch && paramLayout(tch.sizes);
  const tv = tch && layerViews(tch.params, tLayout!);
  const tScratch = tLayout && createMlpScratch(tLayout, o.maxBatch);
  const input = o.input;

  return {
    layout,
    input,
    state,
    params,
    order,
    aug,
    qatScales,
    forwardWeights: () => fv.map((l) => l.w as Float32Array),
    augStride,
    paramsChanged: requantize,
    trainStep(from, n, lr, t) {
      for (let r = 0; r < n; r++) {
        const i = order[from + r];
        if (input.kind === 'image')
          augmentImage(x, r * S, o.train.inputs as Uint8Array, i * S, aug, r * augStride, input);
        else addNoise(x, r * S, o.train.inputs as Float32Array, i * S, aug, r * augStride, S);
        batchLabels[r] = o.train.labels[i];
      }
      const distill = tch && {
        logits: mlpForward(tv!, x, n, tScratch!),
        invT: 1 / tch.temperature,
        alpha: tch.alpha,
      };
      const res = mlpLossAndGrad(fv, gv, x, batchLabels, 0, n, o.smoothing, scratch, distill);
      adamStep(params, grads, m, v, lr, t);
      requantize();
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
        const logits = mlpForward(fv, x, k, scratch);
        correct += countCorrect(logits, data.labels, from + s, k, classes);
      }
      return correct;
    },
    async close() {},
  };
}
