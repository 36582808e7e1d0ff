/** One encoded image -> the core's preprocessing (as the model says) -> the core's forward pass. */
import { classifyPixels, prepareImage, preprocess, type Model, type Preprocessed } from '../core/index.js';
import { decodeImage, decodeImageRgba, imageRejected } from '../node/image.js';

export type InvertMode = 'auto' | 'yes' | 'no';

/**
 * One class and its probability. A model whose classes are the digits 0-9 (MNIST's) names it by
 * `digit`, as predict always has; any other model by `label` (its class name) and `index`.
 */
export interface TopEntry {
  digit?: number;
  label?: string;
  index?: number;
  p: number;
}

export interface ImageClassification {
  /** The most probable class (see TopEntry for which of digit / label it carries). */
  digit?: number;
  label?: string;
  index?: number;
  probability: number;
  top: TopEntry[];
  inverted: boolean;
  /** The input the model saw (its width x height x channels pixels; for a digit model ink = 255 on 0). */
  pixels: Uint8ClampedArray;
}

const INVERT: Record<InvertMode, boolean | undefined> = { auto: undefined, yes: true, no: false };

/** Whether a model's classes are the ten digits, in order (then results name them by `digit`). */
export const digitLabels = (model: Pick<Model, 'labels'>) =>
  model.labels.length === 10 && model.labels.every((l, i) => l === String(i));

/** A class as results name it: { digit } for a digit model, { label, index } otherwise. */
export const classEntry = (model: Pick<Model, 'labels'>, i: number): Omit<TopEntry, 'p'> =>
  digitLabels(model) ? { digit: i } : { label: model.labels[i], index: i };

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
