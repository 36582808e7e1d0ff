/**
 * What a training engine is. An engine owns the numbers of a training run (parameters, Adam moments,
 * the shuffled order, the batch's augmentation transforms) and runs optimizer steps and evaluations on
 * them. The loop (loop.ts) decides WHAT to do; an engine decides HOW. Two engines have this shape:
 * fast-engine.ts (the default: wasm SIMD kernels on worker threads over shared memory) and
 * reference-engine.ts (single-threaded, the plain kernels of layers.ts; tests compare the two).
 */
import type { BatchResult } from './mlp.js';
import type { ParamLayout } from './params.js';

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
