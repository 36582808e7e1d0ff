/**
 * Data augmentation, drawn fresh for every image every epoch: an integer shift in [-shift, shift] on
 * each axis, a rotation of ±rotate degrees and a zoom of ±zoom about the image centre, applied as ONE
 * inverse affine map with bilinear sampling and zero fill outside the source.
 *
 * An image's transform is four float64 numbers [dx, dy, a, b] with a = cos θ / s, b = sin θ / s:
 * source point = centre + [[a, b], [-b, a]] (output point - (dx, dy) - centre). Source points are
 * computed in 16.16 fixed point (integers: bit-identical here and in the wasm kernel, and cheap there:
 * one add per pixel), and the bilinear blend in exact integer arithmetic, scaled once at the end. With
 * no rotation/zoom drawn the map is an exact integer shift.
 */
import type { Rng } from './rng.js';

import { AUG_STRIDE, FIXED_ONE, SIDE } from './wasm-abi.js';

// The image geometry and the transform layout are shared with the wasm kernels (wasm-abi.ts).
export { AUG_STRIDE, FIXED_ONE, PIXELS, SIDE } from './wasm-abi.js';
const CENTRE = (SIDE - 1) / 2;
/** Pixel to input: value · (1/255), the model file's input.scale. */
const INV255 = 1 / 255;

export interface AugmentConfig {
  shift: number;
  rotate: number;
  zoom: number;
}

/** Draw one image's transform into out[off..off+4). Always four PRNG draws, whatever the ranges. */
export function drawAugment(rng: Rng, cfg: AugmentConfig, out: Float64Array, off: number): void {
  const dx = rng.int(2 * cfg.shift + 1) - cfg.shift;
  const dy = rng.int(2 * cfg.shift + 1) - cfg.shift;
  const theta = ((2 * rng.uniform() - 1) * cfg.rotate * Math.PI) / 180;
  const scale = 1 + (2 * rng.uniform() - 1) * cfg.zoom;
  out[off] = dx;
  out[off + 1] = dy;
  out[off + 2] = cfg.rotate === 0 ? 1 / scale : Math.cos(theta) / scale;
  out[off + 3] = cfg.rotate === 0 ? 0 : Math.sin(theta) / scale;
}

/** Blend (an integer ≤ 255·2^32) to input value: · (1/255) / 2^32, exactly INV255 on an unblended pixel. */
const BLEND_SCALE = INV255 / (FIXED_ONE * FIXED_ONE);
const fixed = (x: number) => Math.floor(x * FIXED_ONE + 0.5);

/**
 * The transform in fixed point: source point of output (x, y) =
 * (sx0 + x·A + y·B, sy0 - x·B + y·A) / 2^16. Integers, so any engine reproduces it exactly.
 */
export function fixedTransform(t: Float64Array, tOff: number): [sx0: number, sy0: number, A: number, B: number] {
  const dx = t[tOff],
    dy = t[tOff + 1],
    a = t[tOff + 2],
    b = t[tOff + 3];
  const u0 = -dx - CENTRE;
  const v0 = -dy - CENTRE;
  return [fixed(CENTRE + a * u0 + b * v0), fixed(CENTRE - b * u0 + a * v0), fixed(a), fixed(b)];
}

/**
 * Write the transformed image, scaled to [0, 1] (× 1/255), into dst[dstOff..dstOff+784) from the 28x28 uint8
 * image src[srcOff..]. `t` holds the transform at t[tOff..tOff+4).
 */
export function augmentImage(
  dst: Float32Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  t: Float64Array,
  tOff: number,
): void {
  const [sx0, sy0, A, B] = fixedTransform(t, tOff);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      dst[dstOff + y * SIDE + x] = bilinear(src, srcOff, sx0 + x * A + y * B, sy0 - x * B + y * A) * BLEND_SCALE;
    }
  }
}

/** Bilinear blend of the uint8 image at the fixed-point point (SX, SY), zero outside it, as an exact integer. */
function bilinear(src: Uint8Array, off: number, SX: number, SY: number): number {
  const x0 = SX >> 16;
  const y0 = SY >> 16;
  if (x0 < -1 || y0 < -1 || x0 >= SIDE || y0 >= SIDE) return 0;
  const fx = SX & 0xffff;
  const fy = SY & 0xffff;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 < SIDE;
  const inY0 = y0 >= 0;
  const inY1 = y0 + 1 < SIDE;
  const r0 = off + y0 * SIDE + x0;
  const r1 = r0 + SIDE;
  const p00 = inY0 && inX0 ? src[r0] : 0;
  const p10 = inY0 && inX1 ? src[r0 + 1] : 0;
  const p01 = inY1 && inX0 ? src[r1] : 0;
  const p11 = inY1 && inX1 ? src[r1 + 1] : 0;
  return (FIXED_ONE - fy) * ((FIXED_ONE - fx) * p00 + fx * p10) + fy * ((FIXED_ONE - fx) * p01 + fx * p11);
}
