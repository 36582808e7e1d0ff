/**
 * Run a model over a block of MNIST images through the shipped inference core (the same code
 * the browser and `verify` run), in chunks so the float64 input copy stays small.
 */
import { forwardBatch, pixelsToInput, type Model } from '../core/index.js';
import { argmaxAt } from './metrics.js';

export interface Predictions {
  count: number;
  classes: number;
  /** Most probable class per image. */
  predicted: Uint8Array;
  /** Softmax outputs, `count * classes`, image-major. */
  probs: Float64Array;
}

const CHUNK = 500;

/** `images` holds `count` images of `pixelsPer` bytes each (0..255, ink = 255). */
export function predictImages(
  model: Model,
  images: Uint8Array,
  count: number,
  onProgress?: (done: number) => void,
): Predictions {
  const pixelsPer = model.layers[0].rows;
  const classes = model.labels.length;
  const probs = new Float64Array(count * classes);
  const x = new Float64Array(CHUNK * pixelsPer);
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    const input = x.subarray(0, n * pixelsPer);
    pixelsToInput(model, images.subarray(start * pixelsPer, (start + n) * pixelsPer), input);
    forwardBatch(model, input, n, probs.subarray(start * classes, (start + n) * classes));
    onProgress?.(start + n);
  }
  const predicted = new Uint8Array(count);
  for (let i = 0; i < count; i++) predicted[i] = argmaxAt(probs, i * classes, classes);
  return { count, classes, predicted, probs };
}
