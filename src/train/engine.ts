/**
 * What a training engine is. An engine owns the numbers of a training run (parameters, Adam moments,
 * the shuffled order, the batch's augmentation draws) and runs optimizer steps and evaluations on
 * them. The loop (loop.ts) decides WHAT to do; an engine decides HOW. Two engines have this shape:
 * fast-engine.ts (the default: wasm SIMD kernels on worker threads over shared memory) and
 * reference-engine.ts (single-threaded, the plain kernels of layers.ts; tests compare the two).
 */
import type { BatchResult } from './mlp.js';
import type { ParamLayout } from './params.js';

/**
 * What one sample is: a uint8 image of width x height x channels (channels interleaved; the network
 * sees pixel / 255), or a vector of `size` float32 features (the network sees them as they are:
 * whoever builds the set standardises them).
 */
export type TrainInput =
  { kind: 'image'; width: number; height: number; channels: number } | { kind: 'vector'; size: number };

/** MNIST's input: a 28x28 one-channel image. */
export const MNIST_INPUT: TrainInput = { kind: 'image', width: 28, height: 28, channels: 1 };

/** Values per sample: the network's input size. */
export const inputSizeOf = (i: TrainInput): number => (i.kind === 'image' ? i.width * i.height * i.channels : i.size);

export interface SampleSet {
  /** `count` samples back to back: uint8 pixels for images, float32 features for vectors. */
  inputs: Uint8Array | Float32Array;
  labels: Uint8Array;
  count: number;
}

export interface EngineOptions {
  /** Layer widths, input first: sizes[0] must be the input's size. */
  sizes: number[];
  maxBatch: number;
  smoothing: number;
  input: TrainInput;
  /** The training samples (validation ones included, at the end). */
  train: SampleSet;
  test?: SampleSet;
  /** Quantization-aware training: the forward pass runs on fake-quantized weights (straight-through gradient). */
  qat?: QatSpec;
  /** Distillation: a teacher network run on every augmented training sample, and how its outputs enter the loss. */
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
  readonly input: TrainInput;
  /** [params | Adam m | Adam v], 3 x layout.count floats: the block a checkpoint stores. */
  readonly state: Float32Array;
  /** The parameters (a view of `state`). */
  readonly params: Float32Array;
  /** The training order: the loop shuffles it in place (indices into the training samples). */
  readonly order: Int32Array;
  /**
   * The current batch's augmentation, `augStride` float64 per sample, written by the loop
   * (augment.ts's drawAugment): an image's transform, or a vector's noise.
   */
  readonly aug: Float64Array;
  readonly augStride: number;
  /**
   * Quantization-aware training's scales, one array per quantized layer in order (one scale, or one per
   * output column): recomputed every step, or, when frozen, whatever was set before paramsChanged.
   */
  readonly qatScales: Float32Array[];
  /** The weights the forward pass reads, per layer: fake-quantized under QAT, else views of the parameters. */
  forwardWeights(): Float32Array[];
  /** Call after writing `state` (or frozen `qatScales`) from outside (initialisation, a checkpoint): refreshes derived copies. */
  paramsChanged(): void;
  /** One Adam step (t is 1-based) on the n samples order[from..from+n) augmented by aug. */
  trainStep(from: number, n: number, lr: number, t: number): BatchResult;
  /** Correct predictions on samples [from, from+n) of the training or test set (no augmentation). */
  evaluate(set: 'train' | 'test', from: number, n: number): number;
  close(): Promise<void>;
}

/**
 * Check that the samples fit the network (the trainer's shape check): sizes[0] is the input's size,
 * the arrays hold `count` samples of the input's kind. Throws an Error naming what differs.
 */
export function checkEngineOptions(o: EngineOptions): void {
  const size = inputSizeOf(o.input);
  if (o.sizes[0] !== size)
    throw new Error(`the network takes ${o.sizes[0]} inputs, the samples have ${size} values each`);
  if (o.teacher && o.teacher.sizes[0] !== size)
    throw new Error(`the teacher takes ${o.teacher.sizes[0]} inputs, the samples have ${size} values each`);
  for (const [name, set] of [
    ['training', o.train],
    ['test', o.test],
  ] as const) {
    if (!set) continue;
    const want = o.input.kind === 'image' ? Uint8Array : Float32Array;
    if (!(set.inputs instanceof want))
      throw new Error(`the ${name} samples are a ${set.inputs.constructor.name}, ${o.input.kind}s need a ${want.name}`);
    if (set.inputs.length < set.count * size || set.labels.length < set.count)
      throw new Error(
        `the ${name} set holds ${Math.floor(set.inputs.length / size)} samples of ${size} values and ${set.labels.length} labels, expected ${set.count}`,
      );
  }
}
