/**
 * One encoded image -> the core's preprocessing (as the model says) -> the forward pass: of
 * digitkit/core-wasm for its models (the WebAssembly kernel where the runtime has wasm SIMD, the
 * portable core otherwise; what predict loads), or of the core for a core model (what the library's
 * loadModelFile returns).
 */
import {
  classifyPixels as coreClassify,
  prepareImage,
  preprocess,
  type Model as CoreModel,
  type Preprocessed,
} from '../core/index.js';
import { classifyPixels as wasmClassify, type Model as WasmModel } from '../core-wasm/index.js';
import { decodeImage, decodeImageRgba, imageRejected } from '../node/image.js';

/** A model of either module. */
export type Model = CoreModel | WasmModel;
const classifyPixels = (model: Model, pixels: ArrayLike<number>) =>
  'engine' in model ? wasmClassify(model, pixels) : coreClassify(model, pixels);

export type InvertMode = 'auto' | 'yes' | 'no';

/** One class and its probability: the class by its name (`label`, as the model's labels give it) and position. */
export interface TopEntry {
  label: string;
  index: number;
  p: number;
}

/**
 * One image's classification. The class is named as the core's `classifyPixels` names it, for every
 * model: `label` (a string, "7" for MNIST's digit 7) and `index` (its position in the model's labels).
 */
export interface ImageClassification {
  /** The most probable class. */
  label: string;
  index: number;
  probability: number;
  top: TopEntry[];
  inverted: boolean;
  /** The input the model saw (its width x height x channels pixels; for a digit model ink = 255 on 0). */
  pixels: Uint8ClampedArray;
}

const INVERT: Record<InvertMode, boolean | undefined> = { auto: undefined, yes: true, no: false };

/** Whether a model's classes are the ten digits, in order (predict's --json then names them by `digit`). */
export const digitLabels = (model: Pick<Model, 'labels'>) =>
  model.labels.length === 10 && model.labels.every((l, i) => l === String(i));

/** Class `i` of a model, as results name it. */
export const classEntry = (model: Pick<Model, 'labels'>, i: number): Omit<TopEntry, 'p'> => ({
  label: model.labels[i],
  index: i,
});

/** The `k` most probable classes, most probable first. */
export function topK(model: Model, probs: ArrayLike<number>, k: number): TopEntry[] {
  return Array.from(probs, (p, i) => ({ ...classEntry(model, i), p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

/**
 * Classify one encoded image (PNG, JPEG, ...) the way the model says pictures become its pixels
 * (`input.preprocess`): a "digit" model crops and centres the ink (a blank image is rejected, "no
 * digit found", rather than given a confident guess); a "resize" model takes the whole picture,
 * resized, in gray or RGB. `name` names the image in errors.
 */
export async function classifyImage(
  bytes: Uint8Array,
  model: Model,
  opts: { name?: string; invert?: InvertMode; top?: number } = {},
): Promise<ImageClassification> {
  const name = opts.name ?? 'image';
  const input = model.input;
  if (input.kind !== 'image') throw imageRejected(name, 'the model takes feature values (CSV rows), not images');
  let pre: Preprocessed;
  if (input.preprocess === 'digit') {
    // Gray straight from the decoder (the PNG fast path skips RGBA); the core's recipe at the model's size.
    const img = await decodeImage(bytes, name);
    pre = preprocess(img.gray, img.width, img.height, INVERT[opts.invert ?? 'auto'], input.width, input.height);
    if (input.channels > 1)
      pre.pixels = Uint8ClampedArray.from({ length: input.size }, (_, i) => pre.pixels[(i / input.channels) | 0]);
  } else {
    const img = await decodeImageRgba(bytes, name);
    pre = prepareImage(model, img.rgba, img.width, img.height);
  }
  if (!pre.found) {
    const forced = opts.invert && opts.invert !== 'auto' ? `, with --invert ${opts.invert}` : '';
    throw imageRejected(name, `no digit found (no ink stands out from the background${forced})`);
  }
  const c = classifyPixels(model, pre.pixels);
  const top = topK(model, c.probs, opts.top ?? 3);
  const { p: _p, ...best } = top[0];
  return { ...best, probability: c.probability, top, inverted: pre.inverted, pixels: pre.pixels };
}
