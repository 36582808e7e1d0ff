/**
 * Run a model over a block of MNIST images through digitkit/core-wasm (the WebAssembly kernel where
 * the runtime has wasm SIMD, else the portable core; both verified against the same fixtures), on
 * the raw pixels, in chunks so progress can be reported.
 */
import { forwardPixels, type Model } from '../core-wasm/index.js';
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
  const pixelsPer = model.input.size;
  const classes = model.labels.length;
  const probs = new Float64Array(count * classes);
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    forwardPixels(
      model,
      images.subarray(start * pixelsPer, (start + n) * pixelsPer),
      probs.subarray(start * classes, (start + n) * classes),
    );
    onProgress?.(start + n);
  }
  const predicted = new Uint8Array(count);
  for (let i = 0; i < count; i++) predicted[i] = argmaxAt(probs, i * classes, classes);
  return { count, classes, predicted, probs };
}
