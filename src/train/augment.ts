/**
 * Data augmentation, drawn fresh for every image every epoch: an integer shift in [-shift, shift] on
 * each axis, a rotation of ±rotate degrees and a zoom of ±zoom about the image centre, applied as ONE
 * inverse affine map with bilinear sampling and zero fill outside the source. With no rotation/zoom
 * drawn the map is an exact integer shift (the bilinear weights are then exactly 1 and 0).
 *
 * An image's transform is four float64 numbers [dx, dy, a, b] with a = cos θ / s, b = sin θ / s:
 * source point = centre + [[a, b], [-b, a]] (output point - (dx, dy) - centre).
 */
import type { Rng } from './rng.js';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
const CENTRE = (SIDE - 1) / 2;
/** Pixel to input: value · (1/255), the model file's input.scale. */
const INV255 = 1 / 255;

export interface AugmentConfig {
  shift: number;
  rotate: number;
  zoom: number;
}

/** Number of float64 values describing one image's transform. */
export const AUG_STRIDE = 4;

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

/**
 * Write the transformed image, scaled to [0, 1] (× 1/255), into dst[dstOff..dstOff+784) from the 28x28 uint8
 * image src[srcOff..]. `t` holds the transform at t[tOff..tOff+4).
 */
export function augmentImage(dst: Float32Array, dstOff: number, src: Uint8Array, srcOff: number, t: Float64Array, tOff: number): void {
  const dx = t[tOff];
  const dy = t[tOff + 1];
  const a = t[tOff + 2];
  const b = t[tOff + 3];
  if (a === 1 && b === 0) {
    for (let y = 0; y < SIDE; y++) {
      const sy = y - dy;
      for (let x = 0; x < SIDE; x++) {
        const sx = x - dx;
        dst[dstOff + y * SIDE + x] = sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE ? src[srcOff + sy * SIDE + sx] * INV255 : 0;
      }
    }
    return;
  }
  for (let y = 0; y < SIDE; y++) {
    const v = y - dy - CENTRE;
    for (let x = 0; x < SIDE; x++) {
      const u = x - dx - CENTRE;
      const sx = CENTRE + a * u + b * v;
      const sy = CENTRE - b * u + a * v;
      dst[dstOff + y * SIDE + x] = bilinear(src, srcOff, sx, sy) * INV255;
    }
  }
}

/** Bilinear sample of the uint8 image at (sx, sy), zero outside it. */
function bilinear(src: Uint8Array, off: number, sx: number, sy: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  if (x0 < -1 || y0 < -1 || x0 >= SIDE || y0 >= SIDE) return 0;
  const fx = sx - x0;
  const fy = sy - y0;
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
  return (1 - fy) * ((1 - fx) * p00 + fx * p10) + fy * ((1 - fx) * p01 + fx * p11);
}
