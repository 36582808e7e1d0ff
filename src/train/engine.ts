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
  /** Quantization-aware training: the forward pass runs on fake-quantized weights (straight-through gradient). */
  qat?: QatSpec;
  /** Distillation: a teacher network run on every augmented training image, and how its outputs enter the loss. */
  teacher?: TeacherSpec;
}

/**
 * Quantization-aware training (qat.ts): each quantized layer's forward (and backward) pass uses
 * float32(q * scale) of its weights; the gradient updates the float weights as if it had used them
 * (the straight-through estimator).
 */
export interface QatSpec {
  /** Per layer: 4 or 8 (int4, int8), or 0 for a layer kept float. */
  bits: readonly number[];
  /** Per layer: one scale per output column instead of one for the layer. */
  perChannel: readonly boolean[];
  /** Scales fixed (as set in `qatScales` before paramsChanged) instead of recomputed from the weights every step. */
  frozen: boolean;
}

/** Distillation (layers.ts softmaxDistill): the teacher, its temperature and the weight of its term. */
export interface TeacherSpec {
  sizes: number[];
  /** The teacher's parameters, laid out by paramLayout(sizes). */
  params: Float32Array;
  temperature: number;
  /** Weight of the distillation term; 1 - alpha weighs the (smoothed) labels. */
  alpha: number;
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
  /**
   * Quantization-aware training's scales, one array per quantized layer in order (one scale, or one per
   * output column): recomputed every step, or, when frozen, whatever was set before paramsChanged.
   */
  readonly qatScales: Float32Array[];
  /** The weights the forward pass reads, per layer: fake-quantized under QAT, else views of the parameters. */
  forwardWeights(): Float32Array[];
  /** Call after writing `state` (or frozen `qatScales`) from outside: refreshes derived copies. */
  paramsChanged(): void;
  /** One Adam step (t is 1-based) on the n images order[from..from+n) transformed by aug[0..4n). */
  trainStep(from: number, n: number, lr: number, t: number): BatchResult;
  /** Correct predictions on images [from, from+n) of the training or test set (no augmentation). */
  evaluate(set: 'train' | 'test', from: number, n: number): number;
  close(): Promise<void>;
}
