// AssemblyScript (compiled by scripts/build.mjs with asc to dist/train/kernels.wasm; not seen by tsc).
// The fast kernels: plain functions over raw pointers into the one shared WebAssembly.Memory. Each has
// a plain TypeScript reference (src/train/layers.ts, adam.ts, augment.ts, qat.ts) that tests compare it with.
//
// Arithmetic rules that keep results identical on every thread count and every x86/ARM CPU:
// f32 add and mul each rounded (no FMA, no relaxed SIMD), and a fixed summation order.

import { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_TINY, FIXED_ONE, SIDE } from '../wasm-abi';

// Adam's constants in f32, as adamRow computes with them (why moments below ADAM_TINY are flushed to 0:
// see wasm-abi.ts).
const B1: f32 = <f32>ADAM_BETA1;
const B1C: f32 = <f32>(1 - ADAM_BETA1);
const B2: f32 = <f32>ADAM_BETA2;
const B2C: f32 = <f32>(1 - ADAM_BETA2);
const EPS: f32 = <f32>ADAM_EPS;
const TINY: f32 = <f32>ADAM_TINY;

/**
 * THE kernel: out[0..width) = init[0..width) (or 0 when init is 0) + Σ_k coef[k] · base[rows[k]·width ..],
 * the sum taken in k order for every column. Every hot loop of training is this shape: a layer's
 * forward pass over the nonzero inputs, an input gradient over the nonzero deltas (rows of Wᵀ), a
 * weight-gradient row over the images of the batch. 8 SIMD accumulators (32 columns) per pass.
 */
export function combineRows(out: usize, init: usize, base: usize, rows: usize, coef: usize, count: i32, width: i32): void {
  const stride = <usize>width << 2;
  let j = 0;
  for (; j + 32 <= width; j += 32) {
    const o = <usize>j << 2;
    const zero = f32x4.splat(0);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
    if (init) {
      const p = init + o;
      a0 = v128.load(p); a1 = v128.load(p, 16); a2 = v128.load(p, 32); a3 = v128.load(p, 48);
      a4 = v128.load(p, 64); a5 = v128.load(p, 80); a6 = v128.load(p, 96); a7 = v128.load(p, 112);
    }
    for (let k = 0; k < count; k++) {
      const q = <usize>k << 2;
      const c = f32x4.splat(load<f32>(coef + q));
      const r = base + <usize>load<i32>(rows + q) * stride + o;
      a0 = f32x4.add(a0, f32x4.mul(c, v128.load(r)));
      a1 = f32x4.add(a1, f32x4.mul(c, v128.load(r, 16)));
      a2 = f32x4.add(a2, f32x4.mul(c, v128.load(r, 32)));
      a3 = f32x4.add(a3, f32x4.mul(c, v128.load(r, 48)));
      a4 = f32x4.add(a4, f32x4.mul(c, v128.load(r, 64)));
      a5 = f32x4.add(a5, f32x4.mul(c, v128.load(r, 80)));
      a6 = f32x4.add(a6, f32x4.mul(c, v128.load(r, 96)));
      a7 = f32x4.add(a7, f32x4.mul(c, v128.load(r, 112)));
    }
    const p = out + o;
    v128.store(p, a0); v128.store(p, a1, 16); v128.store(p, a2, 32); v128.store(p, a3, 48);
    v128.store(p, a4, 64); v128.store(p, a5, 80); v128.store(p, a6, 96); v128.store(p, a7, 112);
  }
  for (; j + 4 <= width; j += 4) {
    const o = <usize>j << 2;
    let a = init ? v128.load(init + o) : f32x4.splat(0);
    for (let k = 0; k < count; k++) {
      const q = <usize>k << 2;
      const r = base + <usize>load<i32>(rows + q) * stride + o;
      a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(coef + q)), v128.load(r)));
    }
    v128.store(out + o, a);
  }
  for (; j < width; j++) {
    const o = <usize>j << 2;
    let a: f32 = init ? load<f32>(init + o) : 0;
    for (let k = 0; k < count; k++) {
      const q = <usize>k << 2;
      a += load<f32>(coef + q) * load<f32>(base + <usize>load<i32>(rows + q) * stride + o);
    }
    store<f32>(out + o, a);
  }
}

/**
 * Nonzero entries of x[0..n) as (index, value) lists; returns their count. Branch-free (each entry is
 * written, the count only advances past nonzeros): ReLU outputs are zero at random, which defeats prediction.
 */
export function nonzeros(idx: usize, val: usize, x: usize, n: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<i32>(idx + (<usize>c << 2), i);
    store<f32>(val + (<usize>c << 2), v);
    c += i32(v != 0);
  }
  return c;
}

/** x = max(x, 0) in place. */
export function relu(x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, f32x4.max(v128.load(p), zero));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    if (!(load<f32>(p) > 0)) store<f32>(p, 0);
  }
}

/** d = 0 wherever the ReLU output h is not positive. */
export function reluMask(d: usize, h: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(d + o, v128.and(v128.load(d + o), f32x4.gt(v128.load(h + o), zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    if (!(load<f32>(h + o) > 0)) store<f32>(d + o, 0);
  }
}

/**
 * Adam over one row: m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; p -= lrC1 · m / (sqrt(v · invC2) + ε),
 * with lrC1 = lr / (1 - β1^t) and invC2 = 1 / (1 - β2^t) computed once per step; |m|, v below
 * ADAM_TINY (1e-30) → 0, as adam.ts's reference does.
 */
export function adamRow(p: usize, m: usize, v: usize, g: usize, n: i32, lrC1: f32, invC2: f32): void {
  const b1 = f32x4.splat(B1), b1c = f32x4.splat(B1C), b2 = f32x4.splat(B2), b2c = f32x4.splat(B2C);
  const eps = f32x4.splat(EPS), lr = f32x4.splat(lrC1), ic2 = f32x4.splat(invC2), tiny = f32x4.splat(TINY);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gv = v128.load(g + o);
    let mv = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(b1c, gv));
    let vv = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(b2c, f32x4.mul(gv, gv)));
    mv = v128.and(mv, f32x4.ge(f32x4.abs(mv), tiny));
    vv = v128.and(vv, f32x4.ge(vv, tiny));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const step = f32x4.div(f32x4.mul(lr, mv), f32x4.add(f32x4.sqrt(f32x4.mul(vv, ic2)), eps));
    v128.store(p + o, f32x4.sub(v128.load(p + o), step));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gv = load<f32>(g + o);
    let mv: f32 = B1 * load<f32>(m + o) + B1C * gv;
    let vv: f32 = B2 * load<f32>(v + o) + B2C * (gv * gv);
    if (!(Mathf.abs(mv) >= TINY)) mv = 0;
    if (!(vv >= TINY)) vv = 0;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(p + o, load<f32>(p + o) - (lrC1 * mv) / (Mathf.sqrt(vv * invC2) + EPS));
  }
}

/**
 * Softmax cross-entropy of one example against labels smoothed to (1 - s) + s/k on `label`, s/k
 * elsewhere: writes dz = (softmax - target) · gradScale and returns the loss (float64 inside; the k
 * values exp(z - max) are kept in `tmp`, k float64s of scratch, so each is computed once).
 */
export function softmaxXent(dz: usize, z: usize, label: i32, k: i32, smoothing: f64, gradScale: f64, tmp: usize): f64 {
  let max: f64 = -Infinity;
  for (let j = 0; j < k; j++) {
    const v = <f64>load<f32>(z + (<usize>j << 2));
    if (v > max) max = v;
  }
  let sum: f64 = 0;
  for (let j = 0; j < k; j++) {
    const e = Math.exp(<f64>load<f32>(z + (<usize>j << 2)) - max);
    store<f64>(tmp + (<usize>j << 3), e);
    sum += e;
  }
  const logSum = Math.log(sum);
  const off = smoothing / k;
  const on = 1 - smoothing + off;
  let loss: f64 = 0;
  for (let j = 0; j < k; j++) {
    const t = j == label ? on : off;
    if (t != 0) loss -= t * (<f64>load<f32>(z + (<usize>j << 2)) - max - logSum);
    store<f32>(dz + (<usize>j << 2), <f32>((load<f64>(tmp + (<usize>j << 3)) / sum - t) * gradScale));
  }
  return loss;
}

/** Index of the first maximum of z[0..k). */
export function argmax(z: usize, k: i32): i32 {
  let best = 0;
  let top = load<f32>(z);
  for (let j = 1; j < k; j++) {
    const v = load<f32>(z + (<usize>j << 2));
    if (v > top) { top = v; best = j; }
  }
  return best;
}

const CENTRE: f64 = <f64>(SIDE - 1) / 2;
const INV255: f64 = 1.0 / 255;
const BLEND_SCALE: f64 = INV255 / (<f64>FIXED_ONE * <f64>FIXED_ONE);

/** Bounding box of a 28x28 image's nonzero pixels → box[0..4) = minX, maxX, minY, maxY (an empty image gives 1, 0, 1, 0). */
export function imageBox(src: usize, box: usize): void {
  let minX = SIDE, maxX = -1, minY = SIDE, maxY = -1;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      if (load<u8>(src + <usize>(y * SIDE + x))) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) { minX = 1; maxX = 0; minY = 1; maxY = 0; }
  store<u8>(box, minX); store<u8>(box, maxX, 1); store<u8>(box, minY, 2); store<u8>(box, maxY, 3);
}

/**
 * One end of the interval of u where lo <= p + q·u <= hi, intersected with [umin, umax]: the upper end
 * when `upper`, else the lower one (the interval is empty when the lower end is above the upper).
 */
@inline function clip(lo: f64, hi: f64, p: f64, q: f64, umin: f64, umax: f64, upper: bool): f64 {
  if (q > 0) return upper ? min<f64>(umax, (hi - p) / q) : max<f64>(umin, (lo - p) / q);
  if (q < 0) return upper ? min<f64>(umax, (lo - p) / q) : max<f64>(umin, (hi - p) / q);
  return p >= lo && p <= hi ? (upper ? umax : umin) : (upper ? -Infinity : Infinity);
}

/** An integral f64 (|x| < 2^31) to i32 via the 1.5·2^52 trick: ~3x faster in V8 than i32.trunc_sat_f64_s. */
@inline function toInt(x: f64): i32 {
  return <i32>reinterpret<i64>(x + 6755399441055744.0);
}

const PAD = 32; // the padded source: 2 zero pixels around the 28x28 image, so taps need no bounds checks
/** Scratch `extract` needs: the padded image and its tap mask. */
export const EXTRACT_SCRATCH = PAD * PAD + PAD * 4;

/**
 * Augment one image (transform t = [dx, dy, a, b] as in augment.ts) and emit its nonzero pixels, in
 * index order, as (idx, val = pixel · (1/255)) lists; rowStart[y] (if given) = entries before output row y,
 * rowStart[SIDE] = total. The values are exactly those of augmentImage() in augment.ts, but only output
 * pixels whose source point lies within a pixel of the source's nonzero box are computed (the rest are
 * 0 there too), from a zero-padded copy of the image in `pad` (EXTRACT_SCRATCH bytes of scratch).
 */
export function extract(idx: usize, val: usize, rowStart: usize, src: usize, box: usize, t: usize, pad: usize): i32 {
  const dx = load<f64>(t), dy = load<f64>(t, 8), a = load<f64>(t, 16), b = load<f64>(t, 24);
  const minX = <i32>load<u8>(box), maxX = <i32>load<u8>(box, 1), minY = <i32>load<u8>(box, 2), maxY = <i32>load<u8>(box, 3);
  let n = 0;
  if (a == 1 && b == 0) {
    const ix = <i32>dx, iy = <i32>dy;
    const zero = i32x4.splat(0);
    // source columns whose shifted position stays inside the image
    const lo = max(-ix, 0), hi = min(SIDE - 1 - ix, SIDE - 1);
    const keep: u32 = lo > hi ? 0 : ((<u32>0xffffffff >> <u32>(31 - hi + lo)) << <u32>lo);
    for (let y = 0; y < SIDE; y++) {
      if (rowStart) store<i32>(rowStart + (<usize>y << 2), n);
      const sy = y - iy;
      if (sy < minY || sy > maxY) continue;
      // the row's nonzero bytes as a 28-bit mask (two overlapping 16-byte compares), visited bit by bit
      const row = src + <usize>(sy * SIDE);
      let bits = (<u32>i8x16.bitmask(i8x16.ne(v128.load(row), zero)) | (<u32>i8x16.bitmask(i8x16.ne(v128.load(row, 12), zero)) << 12)) & keep;
      while (bits) {
        const sx = <i32>ctz(bits);
        bits &= bits - 1;
        store<i32>(idx + (<usize>n << 2), y * SIDE + sx + ix);
        store<f32>(val + (<usize>n << 2), <f32>(<f64>load<u8>(row + <usize>sx) * INV255));
        n++;
      }
    }
  } else if (maxX < minX) {
    if (rowStart) for (let y = 0; y < SIDE; y++) store<i32>(rowStart + (<usize>y << 2), 0);
  } else {
    // Zero-padded copy of the image (2 pixels each side) in whole rows: two overlapping 16-byte moves per row.
    const zero = i32x4.splat(0);
    for (let q = 0; q < PAD * PAD; q += 16) v128.store(pad + <usize>q, zero);
    for (let y = minY; y <= maxY; y++) {
      const from = src + <usize>(y * SIDE), to = pad + <usize>((y + 2) * PAD + 2);
      v128.store(to, v128.load(from));
      v128.store(to, v128.load(from, 12), 12);
    }
    // mask[row] bit c: the 2x2 taps with top-left (c, row) of the padded image hold a nonzero pixel
    const mask = pad + PAD * PAD;
    let below: u32 = 0;
    for (let yy = PAD - 1; yy >= 0; yy--) {
      const row = pad + <usize>(yy * PAD);
      const bits = <u32>i8x16.bitmask(i8x16.ne(v128.load(row), zero)) | (<u32>i8x16.bitmask(i8x16.ne(v128.load(row, 16), zero)) << 16);
      const h = bits | (bits >> 1);
      store<u32>(mask + (<usize>yy << 2), h | below);
      below = h;
    }
    // the source point of output (x, y), in 16.16 fixed point exactly as augment.ts defines it:
    // (sx0 + x·A + y·B, sy0 - x·B + y·A)
    const u0 = -dx - CENTRE, v0 = -dy - CENTRE;
    const sx0 = toInt(floor<f64>((CENTRE + a * u0 + b * v0) * FIXED_ONE + 0.5)), sy0 = toInt(floor<f64>((CENTRE - b * u0 + a * v0) * FIXED_ONE + 0.5));
    const A = toInt(floor<f64>(a * FIXED_ONE + 0.5)), B = toInt(floor<f64>(b * FIXED_ONE + 0.5));
    // a source point can touch a nonzero pixel only inside the box grown by one pixel
    const lx = <f64>(minX - 1), hx = <f64>(maxX + 1), ly = <f64>(minY - 1), hy = <f64>(maxY + 1);
    for (let y = 0; y < SIDE; y++) {
      if (rowStart) store<i32>(rowStart + (<usize>y << 2), n);
      const v = <f64>y - dy - CENTRE;
      // sx = CENTRE + a·u + b·v and sy = CENTRE - b·u + a·v, with u = x - dx - CENTRE
      let u1 = clip(lx, hx, CENTRE + b * v, a, -Infinity, Infinity, true);
      let u0r = clip(lx, hx, CENTRE + b * v, a, -Infinity, Infinity, false);
      const ua = clip(ly, hy, CENTRE + a * v, -b, u0r, u1, false);
      u1 = clip(ly, hy, CENTRE + a * v, -b, u0r, u1, true);
      u0r = ua;
      if (!(u0r <= u1)) continue;
      // two extra pixels each side absorb rounding in the interval and the fixed-point coordinates
      const x0 = toInt(max<f64>(floor<f64>(u0r + dx + CENTRE) - 2, 0)), x1 = toInt(min<f64>(ceil<f64>(u1 + dx + CENTRE) + 2, SIDE - 1));
      let SX = sx0 + x0 * A + y * B, SY = sy0 - x0 * B + y * A;
      for (let x = x0; x <= x1; x++, SX += A, SY -= B) {
        const px = (SX >> 16) + 2, py = (SY >> 16) + 2;
        // taps outside the padded image are all outside the image; zero taps give exactly 0
        if (<u32>px > 30 || <u32>py > 30 || !((load<u32>(mask + (<usize>py << 2)) >> <u32>px) & 1)) continue;
        const fx = SX & 0xffff, fy = SY & 0xffff;
        const r0 = pad + <usize>(py * PAD + px);
        const t0 = (FIXED_ONE - fx) * <i32>load<u8>(r0) + fx * <i32>load<u8>(r0, 1);
        const t1 = (FIXED_ONE - fx) * <i32>load<u8>(r0, PAD) + fx * <i32>load<u8>(r0, PAD + 1);
        const f = <f32>((<f64>(FIXED_ONE - fy) * <f64>t0 + <f64>fy * <f64>t1) * BLEND_SCALE);
        store<i32>(idx + (<usize>n << 2), y * SIDE + x);
        store<f32>(val + (<usize>n << 2), f);
        n += i32(f != 0);
      }
    }
  }
  if (rowStart) store<i32>(rowStart + (SIDE << 2), n);
  return n;
}

/**
 * Knowledge distillation on one example: loss = (1 - alpha) · CE(smoothed label, softmax(z))
 * + alpha · T² · KL(softmax(zt / T) ‖ softmax(z / T)), with T = 1 / invT. Writes
 * dz = gradScale · [(1 - alpha)(softmax(z) - target) + alpha · T · (softmax(z / T) - softmax(zt / T))]
 * and returns the loss. `tmp`: 3k float64s of scratch.
 */
export function distillXent(
  dz: usize, z: usize, zt: usize, label: i32, k: i32, smoothing: f64, gradScale: f64, invT: f64, alpha: f64, tmp: usize,
): f64 {
  let max: f64 = -Infinity, maxS: f64 = -Infinity, maxT: f64 = -Infinity;
  for (let j = 0; j < k; j++) {
    const v = <f64>load<f32>(z + (<usize>j << 2)), t = <f64>load<f32>(zt + (<usize>j << 2));
    if (v > max) max = v;
    if (t > maxT) maxT = t;
  }
  maxS = max * invT;
  maxT *= invT;
  let sum: f64 = 0, sumS: f64 = 0, sumT: f64 = 0;
  const pS = tmp, qS = tmp + (<usize>k << 3), qT = tmp + (<usize>k << 4);
  for (let j = 0; j < k; j++) {
    const o = <usize>j << 3;
    const v = <f64>load<f32>(z + (<usize>j << 2));
    const e = Math.exp(v - max), es = Math.exp(v * invT - maxS), et = Math.exp(<f64>load<f32>(zt + (<usize>j << 2)) * invT - maxT);
    store<f64>(pS + o, e); store<f64>(qS + o, es); store<f64>(qT + o, et);
    sum += e; sumS += es; sumT += et;
  }
  const logSum = Math.log(sum), logSumS = Math.log(sumS), logSumT = Math.log(sumT);
  const off = smoothing / k;
  const on = 1 - smoothing + off;
  const T = 1 / invT;
  const soft = alpha * T * T, gSoft = alpha * T, hard = 1 - alpha;
  let ce: f64 = 0, kl: f64 = 0;
  for (let j = 0; j < k; j++) {
    const o = <usize>j << 3;
    const v = <f64>load<f32>(z + (<usize>j << 2));
    const t = j == label ? on : off;
    if (t != 0) ce -= t * (v - max - logSum);
    const qt = load<f64>(qT + o) / sumT;
    if (qt > 0) kl += qt * ((<f64>load<f32>(zt + (<usize>j << 2)) * invT - maxT - logSumT) - (v * invT - maxS - logSumS));
    const g = hard * (load<f64>(pS + o) / sum - t) + gSoft * (load<f64>(qS + o) / sumS - qt);
    store<f32>(dz + (<usize>j << 2), <f32>(g * gradScale));
  }
  return hard * ce + soft * kl;
}

/** Round half away from zero (in float64: exact for every float32). */
@inline function roundAway(x: f64): f64 {
  return x < 0 ? -floor<f64>(-x + 0.5) : floor<f64>(x + 0.5);
}

/**
 * Fake quantization of a rows x cols weight matrix (row-major) for quantization-aware training:
 * out = q · scale with q = clamp(round half away from zero(w / scale), -qmax, qmax), all in float32
 * exactly as train/qat.ts computes them (the exported model's integers come from there). With `recompute`, scales[0..groups) are set
 * first to max|w| / qmax (1 for an all-zero group), per layer or per output column (perChannel).
 */
export function fakeQuant(out: usize, w: usize, rows: i32, cols: i32, qmax: f32, scales: usize, perChannel: bool, recompute: bool): void {
  const groups = perChannel ? cols : 1;
  if (recompute) {
    for (let g = 0; g < groups; g++) store<f32>(scales + (<usize>g << 2), 0);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const a = Mathf.abs(load<f32>(w + (<usize>(i * cols + j) << 2)));
        const p = scales + (perChannel ? <usize>j << 2 : 0);
        if (a > load<f32>(p)) store<f32>(p, a);
      }
    }
    for (let g = 0; g < groups; g++) {
      const p = scales + (<usize>g << 2);
      const m = load<f32>(p);
      store<f32>(p, m > 0 ? m / qmax : 1);
    }
  }
  const qm = <f64>qmax;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const o = <usize>(i * cols + j) << 2;
      const s = load<f32>(scales + (perChannel ? <usize>j << 2 : 0));
      let q = roundAway(<f64>(load<f32>(w + o) / s));
      if (q > qm) q = qm;
      if (q < -qm) q = -qm;
      store<f32>(out + o, <f32>(q + 0) * s); // (+ 0: a -0 from rounding becomes 0, as in qat.ts)
    }
  }
}

/**
 * The general image path: augment a uint8 image of w x h x c (channels interleaved) by the transform
 * t = [dx, dy, a, b, flip] exactly as augmentImage() in augment.ts defines it (flip mirrors the output
 * horizontally; the affine map is about the image centre, in 16.16 fixed point, bilinear, zero outside),
 * and emit its nonzero values, in index order, as (idx, val) lists; rowStart[y] (if given) = entries
 * before output row y, rowStart[h] = total. Every output pixel is computed: no bounding box, no SIMD
 * (the first layer's multiply-adds cost far more than this).
 */
export function extractImage(idx: usize, val: usize, rowStart: usize, src: usize, t: usize, w: i32, h: i32, c: i32): i32 {
  const dx = load<f64>(t), dy = load<f64>(t, 8), a = load<f64>(t, 16), b = load<f64>(t, 24);
  const flip = load<f64>(t, 32) > 0;
  const cx: f64 = <f64>(w - 1) / 2, cy: f64 = <f64>(h - 1) / 2;
  const u0 = -dx - cx, v0 = -dy - cy;
  const sx0 = toInt(floor<f64>((cx + a * u0 + b * v0) * FIXED_ONE + 0.5)), sy0 = toInt(floor<f64>((cy - b * u0 + a * v0) * FIXED_ONE + 0.5));
  const A = toInt(floor<f64>(a * FIXED_ONE + 0.5)), B = toInt(floor<f64>(b * FIXED_ONE + 0.5));
  const stride = w * c;
  let n = 0;
  for (let y = 0; y < h; y++) {
    if (rowStart) store<i32>(rowStart + (<usize>y << 2), n);
    for (let x = 0; x < w; x++) {
      const xs = flip ? w - 1 - x : x;
      const SX = sx0 + xs * A + y * B, SY = sy0 - xs * B + y * A;
      const x0 = SX >> 16, y0 = SY >> 16;
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) continue;
      const fx = SX & 0xffff, fy = SY & 0xffff;
      const inX0 = x0 >= 0, inX1 = x0 + 1 < w, inY0 = y0 >= 0, inY1 = y0 + 1 < h;
      const o = (y * w + x) * c;
      for (let ch = 0; ch < c; ch++) {
        const p00 = inY0 && inX0 ? <i32>load<u8>(src + <usize>(y0 * stride + x0 * c + ch)) : 0;
        const p10 = inY0 && inX1 ? <i32>load<u8>(src + <usize>(y0 * stride + (x0 + 1) * c + ch)) : 0;
        const p01 = inY1 && inX0 ? <i32>load<u8>(src + <usize>((y0 + 1) * stride + x0 * c + ch)) : 0;
        const p11 = inY1 && inX1 ? <i32>load<u8>(src + <usize>((y0 + 1) * stride + (x0 + 1) * c + ch)) : 0;
        const t0 = (FIXED_ONE - fx) * p00 + fx * p10;
        const t1 = (FIXED_ONE - fx) * p01 + fx * p11;
        const f = <f32>((<f64>(FIXED_ONE - fy) * <f64>t0 + <f64>fy * <f64>t1) * BLEND_SCALE);
        store<i32>(idx + (<usize>n << 2), o + ch);
        store<f32>(val + (<usize>n << 2), f);
        n += i32(f != 0);
      }
    }
  }
  if (rowStart) store<i32>(rowStart + (<usize>h << 2), n);
  return n;
}

/**
 * A vector sample: `size` float32 features (standardised already), plus the float64 noise at `noise`
 * (if given) added in float32, as (idx, val) lists of the nonzero values; rowStart[k] (if given) =
 * entries before feature k·block, rowStart[ceil(size / block)] = total.
 */
export function extractVector(idx: usize, val: usize, rowStart: usize, src: usize, noise: usize, size: i32, block: i32): i32 {
  let n = 0;
  for (let i = 0; i < size; i++) {
    if (rowStart && i % block == 0) store<i32>(rowStart + (<usize>(i / block) << 2), n);
    let v = load<f32>(src + (<usize>i << 2));
    if (noise) v += <f32>load<f64>(noise + (<usize>i << 3));
    store<i32>(idx + (<usize>n << 2), i);
    store<f32>(val + (<usize>n << 2), v);
    n += i32(v != 0);
  }
  if (rowStart) store<i32>(rowStart + (<usize>((size + block - 1) / block) << 2), n);
  return n;
}
