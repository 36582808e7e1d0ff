/**
 * Run a loaded model over a whole MNIST split with the inference core: the predicted class of each
 * image and how sure the model is (top-1 minus top-2 probability).
 */
import { forward, pixelsToInput, type Model } from '../core/index.js';
import type { MnistSplit } from '../data/load.js';

export interface SplitPredictions {
  predicted: Uint8Array;
  /** p(top-1) - p(top-2) per image. */
  margin: Float64Array;
  correct: number;
  accuracy: number;
}

export function predictSplit(model: Model, split: MnistSplit): SplitPredictions {
  const size = split.rows * split.cols;
  const classes = model.labels.length;
  const predicted = new Uint8Array(split.count);
  const margin = new Float64Array(split.count);
  const x = new Float64Array(size);
  const p = new Float64Array(classes);
  let correct = 0;
  for (let s = 0; s < split.count; s++) {
    forward(model, pixelsToInput(model, split.images.subarray(s * size, (s + 1) * size), x), p);
    let best = 0;
    for (let j = 1; j < classes; j++) if (p[j] > p[best]) best = j;
    let second = -Infinity;
    for (let j = 0; j < classes; j++) if (j !== best && p[j] > second) second = p[j];
    predicted[s] = best;
    margin[s] = p[best] - second;
    if (best === split.labels[s]) correct++;
  }
  return { predicted, margin, correct, accuracy: correct / split.count };
}
