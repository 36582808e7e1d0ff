/**
 * Data augmentation, drawn fresh for every sample every epoch.
 *
 * Images: an integer shift in [-shift, shift] on each axis, a rotation of ±rotate degrees and a zoom
 * of ±zoom about the image centre, applied as ONE inverse affine map with bilinear sampling and zero
 * fill outside the source, then (with `flip`) a horizontal mirror half of the time. An image's
 * transform is AUG_STRIDE float64 numbers [dx, dy, a, b, flip] with a = cos θ / s, b = sin θ / s:
 * source point = centre + [[a, b], [-b, a]] (output point - (dx, dy) - centre), the output's x read
 * mirrored when flip is 1. Source points are computed in 16.16 fixed point (integers: bit-identical
 * here and in the wasm kernels, and cheap there: one add per pixel), and the bilinear blend in exact
 * integer arithmetic, scaled once at the end. With no rotation/zoom drawn the map is an exact
 * integer shift. Channels share the transform.
 *
 * Vectors: Gaussian noise of standard deviation `noise` added to each (standardised) feature.
 */
import type { TrainInput } from './engine.js';
import type { Rng } from './rng.js';

import { AUG_STRIDE, FIXED_ONE, SIDE } from './wasm-abi.js';

// The image geometry and the transform layout are shared with the wasm kernels (wasm-abi.ts).
export { AUG_STRIDE, FIXED_ONE, PIXELS, SIDE } from './wasm-abi.js';
/** Pixel to input: value · (1/255), the model file's input.scale. */
const INV255 = 1 / 255;

export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}
const MNIST_SHAPE: ImageShape = { width: SIDE, height: SIDE, channels: 1 };

export interface AugmentConfig {
  shift: number;
  rotate: number;
  zoom: number;
  /** Images: mirror half of the samples horizontally. */
  flip?: boolean;
  /** Vectors: the standard deviation of the noise added to each feature (0 or absent: none). */
  noise?: number;
}

/** float64 per sample in an engine's augmentation array for this input. */
export const augStrideOf = (input: TrainInput): number => (input.kind === 'image' ? AUG_STRIDE : input.size);

/**
 * Draw one sample's augmentation into out[off..off + augStrideOf(input)). An image takes four PRNG
 * draws whatever the ranges (shift x, shift y, angle, zoom), and a fifth with `flip`; a vector takes
 * one normal draw per feature when `noise` is on, none otherwise.
 */
export function drawAugment(
  rng: Rng,
  cfg: AugmentConfig,
  out: Float64Array,
  off: number,
  input: TrainInput = { kind: 'image', ...MNIST_SHAPE },
): void {
  if (input.kind === 'vector') {
    const sigma = cfg.noise ?? 0;
    for (let i = 0; i < input.size; i++) out[off + i] = sigma > 0 ? sigma * rng.normal() : 0;
    return;
  }
  const dx = rng.int(2 * cfg.shift + 1) - cfg.shift;
  const dy = rng.int(2 * cfg.shift + 1) - cfg.shift;
  const theta = ((2 * rng.uniform() - 1) * cfg.rotate * Math.PI) / 180;
  const scale = 1 + (2 * rng.uniform() - 1) * cfg.zoom;
  out[off] = dx;
  out[off + 1] = dy;
  out[off + 2] = cfg.rotate === 0 ? 1 / scale : Math.cos(theta) / scale;
  out[off + 3] = cfg.rotate === 0 ? 0 : Math.sin(theta) / scale;
  out[off + 4] = cfg.flip && rng.uniform() < 0.5 ? 1 : 0;
}

/** Blend (an integer ≤ 255·2^32) to input value: · (1/255) / 2^32, exactly INV255 on an unblended pixel. */
const BLEND_SCALE = INV255 / (FIXED_ONE * FIXED_ONE);
const fixed = (x: number) => Math.floor(x * FIXED_ONE + 0.5);

/**
 * The transform in fixed point: source point of output (x, y) (x mirrored first when flipping) =
 * (sx0 + x·A + y·B, sy0 - x·B + y·A) / 2^16. Integers, so any engine reproduces it exactly.
 */
export function fixedTransform(
  t: Float64Array,
  tOff: number,
  shape: ImageShape = MNIST_SHAPE,
): [sx0: number, sy0: number, A: number, B: number] {
  const dx = t[tOff],
    dy = t[tOff + 1],
    a = t[tOff + 2],
    b = t[tOff + 3];
  const cx = (shape.width - 1) / 2;
  const cy = (shape.height - 1) / 2;
  const u0 = -dx - cx;
  const v0 = -dy - cy;
  return [fixed(cx + a * u0 + b * v0), fixed(cy - b * u0 + a * v0), fixed(a), fixed(b)];
}

/**
 * Write the transformed image, scaled to [0, 1] (× 1/255), into dst[dstOff..dstOff + size) from the
 * uint8 image src[srcOff..] of `shape` (default MNIST's 28x28x1). `t` holds the transform at
 * t[tOff..tOff + AUG_STRIDE).
 */
export function augmentImage(
  dst: Float32Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  t: Float64Array,
  tOff: number,
  shape: ImageShape = MNIST_SHAPE,
): void {
  const { width: w, height: h, channels: c } = shape;
  const [sx0, sy0, A, B] = fixedTransform(t, tOff, shape);
  const flip = t[tOff + 4] > 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xs = flip ? w - 1 - x : x;
      const o = dstOff + (y * w + x) * c;
      for (let ch = 0; ch < c; ch++)
        dst[o + ch] = bilinear(src, srcOff + ch, shape, sx0 + xs * A + y * B, sy0 - xs * B + y * A) * BLEND_SCALE;
    }
  }
}

/**
 * Bilinear blend of one channel of the uint8 image (its first value at `off`) at the fixed-point
 * point (SX, SY), zero outside it, as an exact integer.
 */
function bilinear(
  src: Uint8Array,
  off: number,
  { width: w, height: h, channels: c }: ImageShape,
  SX: number,
  SY: number,
) {
  const x0 = SX >> 16;
  const y0 = SY >> 16;
  if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) return 0;
  const fx = SX & 0xffff;
  const fy = SY & 0xffff;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 < w;
  const inY0 = y0 >= 0;
  const inY1 = y0 + 1 < h;
  const r0 = off + (y0 * w + x0) * c;
  const r1 = r0 + w * c;
  const p00 = inY0 && inX0 ? src[r0] : 0;
  const p10 = inY0 && inX1 ? src[r0 + c] : 0;
  const p01 = inY1 && inX0 ? src[r1] : 0;
  const p11 = inY1 && inX1 ? src[r1 + c] : 0;
  return (FIXED_ONE - fy) * ((FIXED_ONE - fx) * p00 + fx * p10) + fy * ((FIXED_ONE - fx) * p01 + fx * p11);
}

/** dst[dstOff + i] = src[srcOff + i] + noise[nOff + i] for `size` features, in float32 (as the kernels add). */
export function addNoise(
  dst: Float32Array,
  dstOff: number,
  src: Float32Array,
  srcOff: number,
  noise: Float64Array,
  nOff: number,
  size: number,
): void {
  for (let i = 0; i < size; i++) dst[dstOff + i] = src[srcOff + i] + Math.fround(noise[nOff + i]);
}
