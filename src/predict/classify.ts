/**
 * One encoded image -> the core's preprocessing -> the forward pass: of digitkit/core-wasm for its
 * models (the WebAssembly kernel where the runtime has wasm SIMD, the portable core otherwise; what
 * predict loads), or of the core for a core model (what the library's loadModelFile returns).
 */
import { classifyPixels as coreClassify, preprocess, type Model as CoreModel } from '../core/index.js';
import { classifyPixels as wasmClassify, type Model as WasmModel } from '../core-wasm/index.js';

/** A model of either module. */
export type Model = CoreModel | WasmModel;
const classifyPixels = (model: Model, pixels: ArrayLike<number>) =>
  'engine' in model ? wasmClassify(model, pixels) : coreClassify(model, pixels);
import { decodeImage, imageRejected } from '../node/image.js';

export type InvertMode = 'auto' | 'yes' | 'no';

export interface TopEntry {
  digit: number;
  p: number;
}

export interface ImageClassification {
  digit: number;
  probability: number;
  top: TopEntry[];
  inverted: boolean;
  /** The 28x28 input the model saw (ink = 255 on 0). */
  pixels: Uint8ClampedArray;
}

const INVERT: Record<InvertMode, boolean | undefined> = { auto: undefined, yes: true, no: false };

/** The `k` most probable classes, most probable first. */
export function topK(model: Model, probs: ArrayLike<number>, k: number): TopEntry[] {
  return Array.from(probs, (p, i) => ({ digit: Number(model.labels[i]), p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

/**
 * Classify one encoded image (PNG, JPEG, ...). `name` names it in errors. A blank image is rejected
 * ("no digit found") rather than given a confident guess.
 */
export async function classifyImage(
  bytes: Uint8Array,
  model: Model,
  opts: { name?: string; invert?: InvertMode; top?: number } = {},
): Promise<ImageClassification> {
  const name = opts.name ?? 'image';
  const img = await decodeImage(bytes, name);
  const pre = preprocess(img.gray, img.width, img.height, INVERT[opts.invert ?? 'auto']);
  if (!pre.found) {
    const forced = opts.invert && opts.invert !== 'auto' ? `, with --invert ${opts.invert}` : '';
    throw imageRejected(name, `no digit found (no ink stands out from the background${forced})`);
  }
  const c = classifyPixels(model, pre.pixels);
  const top = topK(model, c.probs, opts.top ?? 3);
  return { digit: top[0].digit, probability: c.probability, top, inverted: pre.inverted, pixels: pre.pixels };
}
