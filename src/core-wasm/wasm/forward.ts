// AssemblyScript (compiled by scripts/build.mjs with asc to dist/core-wasm/forward.wasm and inlined into
// dist/core-wasm/index.js; not seen by tsc). The inference forward pass over raw pointers into one
// WebAssembly.Memory that src/core-wasm/index.ts lays out: the model's weights (decoded once, at load),
// a descriptor of the layers, per-thread scratch, the images in and the probabilities out.
//
// Arithmetic (the contract's reference is float64 with weights q * scale):
// - first layer of an int8/int4 model on integer pixels: exact integers. Pixels are taken in pairs of
//   neighbours (2p, 2p+1); a pair with any ink costs one i32x4.dot_i16x8_s per 4 columns (u8 x i8
//   products summed in i32: |sum| <= rows * 255 * 127 < 2^31 for rows <= 66,000, checked by the
//   loader), then z = b + sum * (scale * input.scale) in float64;
// - every other layer (and the first layer of float32 models or float inputs): float64 over the
//   nonzero inputs only, weights dequantized in float64 as the reference does;
// - softmax in float64, exp computed here (fdlibm's method, as V8's Math.exp).
// Nothing allocates: every buffer is an offset the loader chose.

// The descriptor: i32 words at `desc` (kept in step with src/core-wasm/index.ts).
const D_LAYERS = 0; //     layer count
const D_FIRST = 1; //      first layer: 0 = integer pairs on u8 pixels, 1 = float64 on u8 pixels, 2 = float64 on f64 inputs
const D_ROWS = 2; //       input size
const D_STRIDE = 3; //     bytes from one input to the next (pixels padded with zeros to a multiple of 16)
const D_IN_SCALE = 4; //   f64 input.scale, at desc + 4 * D_IN_SCALE (8-byte aligned)
const D_LIST = 6; //       scratch: the nonzero inputs, as records (see firstInt and gatherF64)
const D_TMP = 7; //        scratch: 32 bytes
const D_BUF_A = 8; //      scratch: f64 activations, ping
const D_BUF_B = 9; //      scratch: f64 activations, pong
const D_CLASSES = 10; //   outputs of the last layer
const D_LAYER0 = 16; //    then 8 words per layer:
const L_ROWS = 0;
const L_COLS = 1; //       columns, padded: a multiple of 4 (int pairs) or 2 (float64); the padding has zero weights
const L_W = 2; //          weights: int pairs as i16 [pair][col][2]; float64 as [row][col]
const L_B = 3; //          f64 bias [col]
const L_F = 4; //          f64 factor [col] (int pairs: scale * input.scale)
const L_SIZE = 8;

@inline function word(desc: usize, k: i32): i32 {
  return load<i32>(desc + (<usize>k << 2));
}

/**
 * The first layer on integer pixels, exactly: out[j] = relu?(b[j] + f[j] * Σ_i px[i] * q[i][j]).
 * Pairs of pixels with any ink are listed first (16 bytes at a time: a nonzero i16 lane is a pair
 * with ink), each with its row offset and its two pixels splatted as i16 lanes; then the columns run
 * in blocks of up to 28 (7 i32x4 accumulators: with the 7 loads and the pixels, 15 registers, as
 * many as V8 gives a function on x64 without spilling).
 */
function firstInt(lay: usize, px: usize, stride: i32, list: usize, tmp: usize, out: usize, relu: bool): void {
  const cols = load<i32>(lay + (L_COLS << 2));
  const w = <usize>load<i32>(lay + (L_W << 2));
  const b = <usize>load<i32>(lay + (L_B << 2));
  const f = <usize>load<i32>(lay + (L_F << 2));
  const pairBytes = cols << 2; // cols x 2 rows x i16
  const zero = i32x4.splat(0);
  // Records of 8 bytes: the pair's weight offset, and its two pixels as the i16 lanes of an i32.
  let r = list;
  for (let o = 0; o < stride; o += 16) {
    const v = v128.load(px + o);
    let bits = <u32>i16x8.bitmask(i16x8.ne(v, zero));
    if (!bits) continue;
    // Widening the bytes to u16 lanes makes each pair's i32 (low pixel, high pixel) as the kernel takes it.
    v128.store(tmp, i16x8.extend_low_i8x16_u(v));
    v128.store(tmp, i16x8.extend_high_i8x16_u(v), 16);
    const first = (o >> 1) * pairBytes;
    do {
      const t = <i32>ctz(bits);
      bits &= bits - 1;
      store<i32>(r, first + t * pairBytes);
      store<i32>(r, load<i32>(tmp + (<usize>t << 2)), 4);
      r += 8;
    } while (bits);
  }
  // Column blocks as even as they can be with at most 7 vectors each (32 vectors: 7, 7, 6, 6, 6):
  // every pass over the records costs the same overhead, so no pass is left nearly empty.
  const vecs = cols >> 2;
  const passes = (vecs + 6) / 7;
  for (let k = 0, j = 0; k < passes; k++) {
    const n = (vecs - j) / (passes - k);
    switch (n) {
      case 7: intPass(w, j, list, r, out, b, f, relu, 7); break;
      case 6: intPass(w, j, list, r, out, b, f, relu, 6); break;
      case 5: intPass(w, j, list, r, out, b, f, relu, 5); break;
      case 4: intPass(w, j, list, r, out, b, f, relu, 4); break;
      case 3: intPass(w, j, list, r, out, b, f, relu, 3); break;
      case 2: intPass(w, j, list, r, out, b, f, relu, 2); break;
      default: intPass(w, j, list, r, out, b, f, relu, 1); break;
    }
    j += n;
  }
}

/** Columns [4j, 4j + 4n) of the integer first layer: one pass over the pair records in [list, end). */
@inline function intPass(w: usize, j: i32, list: usize, end: usize, out: usize, b: usize, f: usize, relu: bool, n: i32): void {
  const zero = i32x4.splat(0);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero;
  const base = w + (<usize>j << 4);
  for (let r = list; r < end; r += 8) {
    const p = base + <usize>load<i32>(r);
    const v = v128.load32_splat(r, 4);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(p), v));
    if (n > 1) a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(p, 16), v));
    if (n > 2) a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(p, 32), v));
    if (n > 3) a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(p, 48), v));
    if (n > 4) a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load(p, 64), v));
    if (n > 5) a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load(p, 80), v));
    if (n > 6) a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load(p, 96), v));
  }
  const o = <usize>j << 5; // 4 columns x f64 per vector
  scaleOut(out + o, b + o, f + o, a0, relu);
  if (n > 1) scaleOut(out + o + 32, b + o + 32, f + o + 32, a1, relu);
  if (n > 2) scaleOut(out + o + 64, b + o + 64, f + o + 64, a2, relu);
  if (n > 3) scaleOut(out + o + 96, b + o + 96, f + o + 96, a3, relu);
  if (n > 4) scaleOut(out + o + 128, b + o + 128, f + o + 128, a4, relu);
  if (n > 5) scaleOut(out + o + 160, b + o + 160, f + o + 160, a5, relu);
  if (n > 6) scaleOut(out + o + 192, b + o + 192, f + o + 192, a6, relu);
}

/** Four columns' integer sums to float64: out = relu?(b + f * sum). */
@inline function scaleOut(out: usize, b: usize, f: usize, a: v128, relu: bool): void {
  let lo = f64x2.add(v128.load(b), f64x2.mul(v128.load(f), f64x2.convert_low_i32x4_s(a)));
  let hi = f64x2.add(v128.load(b, 16), f64x2.mul(v128.load(f, 16), f64x2.convert_low_i32x4_s(i64x2.shuffle(a, a, 1, 0))));
  if (relu) {
    // pmax(z, 0) = z < 0 ? 0 : z, one maxpd: a NaN stays NaN (as in the portable core, it reaches
    // the logits, and the loader refuses them, rather than ReLU hiding it).
    const zero = f64x2.splat(0);
    lo = f64x2.pmax(lo, zero);
    hi = f64x2.pmax(hi, zero);
  }
  v128.store(out, lo);
  v128.store(out, hi, 16);
}

/**
 * A float64 layer over the nonzero inputs listed as records in [list, end) (16 bytes: the value as
 * f64, the row's byte offset as i32): out[j] = relu?(b[j] + Σ value * w[row][j]), summed in list
 * order; columns in blocks of up to 14 (7 f64x2 accumulators) per pass over the list.
 */
function accumulate(lay: usize, list: usize, end: usize, out: usize, relu: bool): void {
  const cols = load<i32>(lay + (L_COLS << 2));
  const w = <usize>load<i32>(lay + (L_W << 2));
  const b = <usize>load<i32>(lay + (L_B << 2));
  const vecs = cols >> 1;
  const passes = (vecs + 6) / 7;
  for (let k = 0, j = 0; k < passes; k++) {
    const n = (vecs - j) / (passes - k);
    switch (n) {
      case 7: f64Pass(w, j, list, end, out, b, relu, 7); break;
      case 6: f64Pass(w, j, list, end, out, b, relu, 6); break;
      case 5: f64Pass(w, j, list, end, out, b, relu, 5); break;
      case 4: f64Pass(w, j, list, end, out, b, relu, 4); break;
      case 3: f64Pass(w, j, list, end, out, b, relu, 3); break;
      case 2: f64Pass(w, j, list, end, out, b, relu, 2); break;
      default: f64Pass(w, j, list, end, out, b, relu, 1); break;
    }
    j += n;
  }
}

/** Columns [2j, 2j + 2n) of a float64 layer: one pass over the records in [list, end). */
@inline function f64Pass(w: usize, j: i32, list: usize, end: usize, out: usize, b: usize, relu: bool, n: i32): void {
  const o = <usize>j << 4;
  const bj = b + o;
  let a0 = v128.load(bj), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  if (n > 1) a1 = v128.load(bj, 16);
  if (n > 2) a2 = v128.load(bj, 32);
  if (n > 3) a3 = v128.load(bj, 48);
  if (n > 4) a4 = v128.load(bj, 64);
  if (n > 5) a5 = v128.load(bj, 80);
  if (n > 6) a6 = v128.load(bj, 96);
  const base = w + o;
  for (let r = list; r < end; r += 16) {
    const p = base + <usize>load<i32>(r, 8);
    const v = v128.load64_splat(r);
    a0 = f64x2.add(a0, f64x2.mul(v, v128.load(p)));
    if (n > 1) a1 = f64x2.add(a1, f64x2.mul(v, v128.load(p, 16)));
    if (n > 2) a2 = f64x2.add(a2, f64x2.mul(v, v128.load(p, 32)));
    if (n > 3) a3 = f64x2.add(a3, f64x2.mul(v, v128.load(p, 48)));
    if (n > 4) a4 = f64x2.add(a4, f64x2.mul(v, v128.load(p, 64)));
    if (n > 5) a5 = f64x2.add(a5, f64x2.mul(v, v128.load(p, 80)));
    if (n > 6) a6 = f64x2.add(a6, f64x2.mul(v, v128.load(p, 96)));
  }
  if (relu) {
    const zero = f64x2.splat(0);
    a0 = f64x2.pmax(a0, zero); a1 = f64x2.pmax(a1, zero); a2 = f64x2.pmax(a2, zero); a3 = f64x2.pmax(a3, zero);
    a4 = f64x2.pmax(a4, zero); a5 = f64x2.pmax(a5, zero); a6 = f64x2.pmax(a6, zero);
  }
  const q = out + o;
  v128.store(q, a0);
  if (n > 1) v128.store(q, a1, 16);
  if (n > 2) v128.store(q, a2, 32);
  if (n > 3) v128.store(q, a3, 48);
  if (n > 4) v128.store(q, a4, 64);
  if (n > 5) v128.store(q, a5, 80);
  if (n > 6) v128.store(q, a6, 96);
}

/**
 * The nonzero entries of n f64 values at x (n even: a layer's padded columns, whose padding is 0)
 * as records at `list` (value, then row byte offset); returns the end of the records. Two values
 * per step, branch-free: both records are written, the end only moves past nonzero ones (ReLU
 * outputs are zero at random, which defeats branch prediction). A NaN counts as nonzero.
 */
function gatherF64(x: usize, n: i32, rowBytes: i32, list: usize): usize {
  const zero = f64x2.splat(0);
  let r = list;
  let off = 0;
  for (let p = x, end = x + (<usize>n << 3); p < end; p += 16) {
    const v = v128.load(p);
    const bits = <usize>i64x2.bitmask(f64x2.ne(v, zero));
    v128.store64_lane(r, v, 0);
    store<i32>(r, off, 8);
    r += (bits & 1) << 4;
    v128.store64_lane(r, v, 1);
    store<i32>(r, off + rowBytes, 8);
    r += (bits & 2) << 3;
    off += rowBytes << 1;
  }
  return r;
}

/** The inked pixels of one image as records (pixel * scale, row byte offset); returns the end of the records. */
function gatherPixels(px: usize, rows: i32, scale: f64, rowBytes: i32, list: usize): usize {
  const zero = i32x4.splat(0);
  let r = list;
  for (let o = 0; o < rows; o += 16) {
    let bits = <u32>i8x16.bitmask(i8x16.ne(v128.load(px + o), zero));
    while (bits) {
      const i = o + <i32>ctz(bits);
      bits &= bits - 1;
      store<f64>(r, <f64>load<u8>(px + i) * scale);
      store<i32>(r, i * rowBytes, 8);
      r += 16;
    }
  }
  return r;
}

/**
 * e^x for x <= 0 (softmax subtracts the max first), as fdlibm computes it: x = k ln2 + r with
 * |r| <= ln2 / 2, a rational approximation of e^r, then 2^k put into the exponent.
 */
@inline function expNonPositive(x: f64): f64 {
  if (x < -745.2) return 0;
  const ln2hi = reinterpret<f64>(0x3fe62e42fee00000);
  const ln2lo = reinterpret<f64>(0x3dea39ef35793c76);
  let k: i32 = 0;
  let hi = x, lo: f64 = 0;
  if (x < -0.34657359027997264) {
    // |x| > ln2 / 2: take out k ln2 (ln2 in two parts, so hi - lo keeps full precision).
    k = <i32>(x * 1.4426950408889634 - 0.5);
    hi = x - <f64>k * ln2hi;
    lo = <f64>k * ln2lo;
  } else if (x > -3.725290298461914e-9) {
    return 1 + x;
  }
  const r = hi - lo;
  const t = r * r;
  const c = r - t * (1.66666666666666019037e-1 + t * (-2.77777777770155933842e-3 + t * (6.61375632143793436117e-5 + t * (-1.65339022054652515390e-6 + t * 4.13813679705723846039e-8))));
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  if (k == 0) return y;
  // 2^k in two steps when k is below the normal range (results down to the smallest subnormal).
  if (k >= -1021) return y * reinterpret<f64>(<u64>(0x3ff + k) << 52);
  return y * reinterpret<f64>(<u64>(0x3ff + k + 1000) << 52) * reinterpret<f64>(<u64>(0x3ff - 1000) << 52);
}

/** Probabilities from the n logits at z into out: softmax, the max subtracted first. False when a logit is not finite. */
function softmax(z: usize, n: i32, out: usize): bool {
  let max = load<f64>(z);
  for (let j = 1; j < n; j++) max = Math.max(max, load<f64>(z + (<usize>j << 3)));
  if (max - max != 0) return false; // NaN or an infinity
  let sum: f64 = 0;
  for (let j = 0; j < n; j++) {
    const e = expNonPositive(load<f64>(z + (<usize>j << 3)) - max);
    store<f64>(out + (<usize>j << 3), e);
    sum += e;
  }
  for (let j = 0; j < n; j++) store<f64>(out + (<usize>j << 3), load<f64>(out + (<usize>j << 3)) / sum);
  return true;
}

/**
 * Forward `count` inputs, the first at `input` and each `desc[D_STRIDE]` bytes after the previous one,
 * writing `desc[D_CLASSES]` probabilities (f64) per input at `out`. Returns -1, or the index of the
 * first input whose logits are not finite (it stops there).
 */
export function forward(desc: usize, input: usize, count: i32, out: usize): i32 {
  const layers = word(desc, D_LAYERS);
  const first = word(desc, D_FIRST);
  const rows = word(desc, D_ROWS);
  const stride = <usize>word(desc, D_STRIDE);
  const classes = word(desc, D_CLASSES);
  const list = <usize>word(desc, D_LIST);
  const tmp = <usize>word(desc, D_TMP);
  const bufA = <usize>word(desc, D_BUF_A);
  const bufB = <usize>word(desc, D_BUF_B);
  const inScale = load<f64>(desc + (D_IN_SCALE << 2));
  const lay0 = desc + (D_LAYER0 << 2);
  for (let s = 0; s < count; s++) {
    const x = input + <usize>s * stride;
    if (first == 0) {
      firstInt(lay0, x, <i32>stride, list, tmp, bufA, layers > 1);
    } else {
      const rowBytes = load<i32>(lay0 + (L_COLS << 2)) << 3;
      // (Vector inputs: the loader pads each row with zeros to an even count.)
      const end = first == 1 ? gatherPixels(x, rows, inScale, rowBytes, list) : gatherF64(x, (rows + 1) & ~1, rowBytes, list);
      accumulate(lay0, list, end, bufA, layers > 1);
    }
    let a = bufA, z = bufB;
    for (let k = 1; k < layers; k++) {
      const lay = lay0 + (<usize>(k * L_SIZE) << 2);
      // The previous layer's padded columns (an even count; the padding holds zeros, never listed).
      const n = load<i32>(lay - (L_SIZE << 2) + (L_COLS << 2));
      const end = gatherF64(a, n, load<i32>(lay + (L_COLS << 2)) << 3, list);
      accumulate(lay, list, end, z, k < layers - 1);
      const t = a; a = z; z = t;
    }
    if (!softmax(a, classes, out + <usize>s * (<usize>classes << 3))) return s;
  }
  return -1;
}
