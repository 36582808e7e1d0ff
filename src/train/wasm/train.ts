// AssemblyScript entry module (see kernels.ts). One instance per thread, all on the same shared,
// fixed-size memory; every address comes from the descriptor that memory-plan.ts writes, at the slots
// named in ../wasm-abi.ts (the one file both sides compile). Nothing here allocates.
//
// One optimizer step is two phases, each a queue of work items taken with an atomic counter, with a
// barrier between them (in JS):
//   A. per image of the batch: augment + sparse input, forward, loss, backward to every layer's delta.
//   B. per block of weight rows: that row's gradient summed over the whole batch in image order, then
//      Adam on the row (and the refresh of the transposed copy used by phase A).
// Quantization-aware training adds a third, serial step (syncTransposed, from the main thread): the
// quantized layers' fake-quantized copies, which the forward and backward passes read instead of W.
// Distillation runs the teacher on the same augmented image in phase A, before the student.
// Every number depends only on the batch, never on which thread did what, so the model is the same
// for any thread count; and each gradient row is written once, straight into Adam (no reduction).
import { adamRow, argmax, combineRows, distillXent, extract, EXTRACT_SCRATCH, extractImage, extractVector, fakeQuant, imageBox, nonzeros, relu, reluMask, softmaxXent } from './kernels';
export { adamRow, argmax, combineRows, distillXent, extract, extractImage, extractVector, fakeQuant, imageBox, nonzeros, relu, reluMask, softmaxXent } from './kernels';

import {
  C_CORRECT, C_FROM, C_INVC2, C_LRC1, C_N, C_QA, C_QB, C_SET, D_AUG, D_AUG_STRIDE, D_BLOCK0, D_CHANNELS, D_CORRECT,
  D_CTRL, D_HEIGHT, D_INPUT_KIND, D_INPUT_SIZE, D_LAYER_TABLE, D_LAYERS, D_LOSS, D_M, D_MAXBATCH, D_MAXWIDTH, D_NNZ,
  D_ORDER, D_PARAMS, D_ROW_STARTS, D_ROWSTART, D_SAMPLE_BYTES, D_SCRATCH, D_SCRATCH_SIZE, D_SMOOTHING_BYTE, D_SPIDX,
  D_SPVAL, D_TEST_BOX, D_TEST_IMG, D_TEST_LBL, D_TRAIN_BOX, D_TRAIN_IMG, D_TRAIN_LBL, D_V, D_WIDTH, IN_DIGIT28, IN_VECTOR,
  L_ACTS, L_B, L_COLS, L_DELTAS, L_ROWS, L_W, L_WT, LAYER_SLOTS, PIXELS, BOX_BYTES,
  D_QAT, D_T_LAYERS, D_T_TABLE, D_INV_T_BYTE, D_ALPHA_BYTE, L_WF, L_BITS, L_SCALES, L_PER_CHANNEL, QAT_STEP,
} from '../wasm-abi';

const BLOCKK = 16; // rows per item in the other layers
const A_BLOCK = 2; // images per phase-A item
const E_BLOCK = 16; // images per evaluation item

let L = 0, maxBatch = 0, maxWidth = 0;
let params: usize = 0, mom1: usize = 0, mom2: usize = 0, table: usize = 0;
let spIdx: usize = 0, spVal: usize = 0, nnzArr: usize = 0, rowStartArr: usize = 0, lossArr: usize = 0, correctArr: usize = 0;
let order: usize = 0, augArr: usize = 0, trainImg: usize = 0, trainLbl: usize = 0, trainBox: usize = 0;
let testImg: usize = 0, testLbl: usize = 0, testBox: usize = 0, ctrl: usize = 0;
let smoothing: f64 = 0;
// Quantization-aware training's mode (0: none); distillation's teacher (tL layers, 0: none) and settings.
let qat = 0, tL = 0, tTable: usize = 0, invT: f64 = 1, alpha: f64 = 0;
// The samples: kind (IN_*), values and bytes per sample, an image's geometry; first-layer rows per
// phase-B item (one image row, so rowStart finds its entries) and rowStart entries per sample.
let kind = 0, inputSize = 0, sampleBytes = 0, width = 0, height = 0, channels = 0, block0 = 0, rowStarts = 0, augStride = 0;
// This thread's scratch.
let hIdx: usize = 0, hVal: usize = 0, gRow: usize = 0, bufA: usize = 0, bufB: usize = 0;
let colCount: usize = 0, colR: usize = 0, colV: usize = 0, ident: usize = 0, ones: usize = 0, eIdx: usize = 0, eVal: usize = 0, pad: usize = 0, still: usize = 0;
let tA: usize = 0, tB: usize = 0, dTmp: usize = 0;
let nUnits = 0;

@inline function d32(desc: usize, slot: i32): i32 { return load<i32>(desc + (<usize>slot << 2)); }
@inline function lay(k: i32, f: i32): i32 { return load<i32>(table + (<usize>(k * LAYER_SLOTS + f) << 2)); }
@inline function tlay(k: i32, f: i32): i32 { return load<i32>(tTable + (<usize>(k * LAYER_SLOTS + f) << 2)); }
@inline function ctl(slot: i32): usize { return ctrl + (<usize>slot << 2); }
@inline function f4(n: i32): usize { return <usize>n << 2; }
@inline function align16(n: usize): usize { return (n + 15) & ~(<usize>15); }

/**
 * Carve one thread's scratch starting at `s`: sets the scratch globals and returns the bytes used.
 * (Also how fast-engine.ts learns the size, via scratchBytes, so the two can never disagree.)
 */
function carveScratch(s: usize, batch: i32, width: i32, size: i32, block: i32): usize {
  const start = s;
  const list = align16(f4(max(width, batch))); // index/value lists run over units or over images
  const w = align16(f4(width));
  hIdx = s; s += list; hVal = s; s += list;
  gRow = s; s += w;
  bufA = s; s += 2 * w; // also softmax's k float64s
  bufB = s; s += w;
  colCount = s; s += align16(f4(block + 1));
  colR = s; s += align16(f4(batch * block)); colV = s; s += align16(f4(batch * block));
  ident = s; s += align16(f4(batch)); ones = s; s += align16(f4(batch));
  eIdx = s; s += align16(f4(size)); eVal = s; s += align16(f4(size));
  pad = s; s += align16(EXTRACT_SCRATCH);
  tA = s; s += w; tB = s; s += w; // the teacher's activations (width covers the teacher's layers too)
  dTmp = s; s += align16(<usize>(24 * width)); // distillXent's 3k float64s
  still = s; s += 64; // the identity transform evaluation uses
  return s - start;
}

/**
 * Scratch bytes one thread needs for a batch, the widest layer, the input size and the first layer's
 * block (fast-engine.ts asks before memory-plan.ts lays out the memory).
 */
export function scratchBytes(maxBatchArg: i32, maxWidthArg: i32, sizeArg: i32, blockArg: i32): i32 {
  return <i32>carveScratch(0, maxBatchArg, maxWidthArg, sizeArg, blockArg);
}

export function setup(desc: usize, tid: i32): void {
  L = d32(desc, D_LAYERS); maxBatch = d32(desc, D_MAXBATCH); maxWidth = d32(desc, D_MAXWIDTH);
  params = d32(desc, D_PARAMS); mom1 = d32(desc, D_M); mom2 = d32(desc, D_V); table = d32(desc, D_LAYER_TABLE);
  spIdx = d32(desc, D_SPIDX); spVal = d32(desc, D_SPVAL); nnzArr = d32(desc, D_NNZ); rowStartArr = d32(desc, D_ROWSTART);
  lossArr = d32(desc, D_LOSS); correctArr = d32(desc, D_CORRECT); order = d32(desc, D_ORDER); augArr = d32(desc, D_AUG);
  trainImg = d32(desc, D_TRAIN_IMG); trainLbl = d32(desc, D_TRAIN_LBL); trainBox = d32(desc, D_TRAIN_BOX);
  testImg = d32(desc, D_TEST_IMG); testLbl = d32(desc, D_TEST_LBL); testBox = d32(desc, D_TEST_BOX); ctrl = d32(desc, D_CTRL);
  smoothing = load<f64>(desc + D_SMOOTHING_BYTE);
  qat = d32(desc, D_QAT); tL = d32(desc, D_T_LAYERS); tTable = d32(desc, D_T_TABLE);
  invT = load<f64>(desc + D_INV_T_BYTE); alpha = load<f64>(desc + D_ALPHA_BYTE);
  kind = d32(desc, D_INPUT_KIND); inputSize = d32(desc, D_INPUT_SIZE); sampleBytes = d32(desc, D_SAMPLE_BYTES);
  width = d32(desc, D_WIDTH); height = d32(desc, D_HEIGHT); channels = d32(desc, D_CHANNELS);
  block0 = d32(desc, D_BLOCK0); rowStarts = d32(desc, D_ROW_STARTS); augStride = d32(desc, D_AUG_STRIDE);
  carveScratch(<usize>d32(desc, D_SCRATCH) + <usize>tid * <usize>d32(desc, D_SCRATCH_SIZE), maxBatch, maxWidth, inputSize, block0);
  for (let r = 0; r < maxBatch; r++) { store<i32>(ident + f4(r), r); store<f32>(ones + f4(r), 1); }
  // the identity transform [0, 0, 1, 0, no flip]
  store<f64>(still, 0); store<f64>(still, 0, 8); store<f64>(still, 1, 16); store<f64>(still, 0, 24); store<f64>(still, 0, 32);
  nUnits = (lay(0, L_ROWS) + block0 - 1) / block0;
  for (let k = 1; k < L; k++) nUnits += (lay(k, L_ROWS) + BLOCKK - 1) / BLOCKK;
  nUnits += L;
}

/**
 * Augment sample `i` of `images` (the training or test samples) by the transform at `t` and write
 * its nonzero input values as (idx, val) lists (and rowStart, if given); returns their count. A
 * vector sample takes `t` as its noise (0: none).
 */
function extractSample(idx: usize, val: usize, rowStart: usize, images: usize, boxes: usize, i: i32, t: usize): i32 {
  const src = images + <usize>i * <usize>sampleBytes;
  // (the 28x28 fast path does not mirror: a flipped image takes the general one)
  if (kind == IN_DIGIT28 && !(load<f64>(t, 32) > 0)) return extract(idx, val, rowStart, src, boxes + <usize>i * BOX_BYTES, t, pad);
  if (kind != IN_VECTOR) return extractImage(idx, val, rowStart, src, t, width, height, channels);
  return extractVector(idx, val, rowStart, src, t, inputSize, block0);
}

/** Bounding boxes of `count` images (BOX_BYTES each), once per run. */
export function computeBoxes(images: usize, count: i32, boxes: usize): void {
  for (let i = 0; i < count; i++) imageBox(images + <usize>i * PIXELS, boxes + <usize>i * BOX_BYTES);
}

/**
 * After the parameters changed (initialisation, a checkpoint, and under quantization-aware training
 * every step): the quantized layers' fake-quantized weights (scales recomputed unless frozen), then Wᵀ
 * of every layer but the first (whose input gradient is never needed) from the weights the forward
 * pass reads.
 */
export function syncTransposed(): void {
  for (let k = 0; k < L; k++) {
    const bits = lay(k, L_BITS);
    if (bits)
      fakeQuant(lay(k, L_WF), params + f4(lay(k, L_W)), lay(k, L_ROWS), lay(k, L_COLS), bits == 4 ? 7 : 127, lay(k, L_SCALES), lay(k, L_PER_CHANNEL) != 0, qat == QAT_STEP);
  }
  for (let k = 1; k < L; k++) transposeRows(k, 0, lay(k, L_ROWS));
}

function transposeRows(k: i32, i0: i32, i1: i32): void {
  const rows = lay(k, L_ROWS), cols = lay(k, L_COLS);
  const w: usize = lay(k, L_WF), wt: usize = lay(k, L_WT);
  for (let i = i0; i < i1; i++) {
    for (let j = 0; j < cols; j++) store<f32>(wt + f4(j * rows + i), load<f32>(w + f4(i * cols + j)));
  }
}

/** Distillation: the teacher's logits for a sparse input (idx, val, nnz), left in tA or tB (returned). */
function teacherForward(idx: usize, val: usize, nnz: i32): usize {
  let cols = tlay(0, L_COLS);
  let out = tA;
  combineRows(out, tlay(0, L_B), tlay(0, L_W), idx, val, nnz, cols);
  for (let k = 1; k < tL; k++) {
    relu(out, cols);
    const c = nonzeros(hIdx, hVal, out, cols);
    cols = tlay(k, L_COLS);
    const next = out == tA ? tB : tA;
    combineRows(next, tlay(k, L_B), tlay(k, L_W), hIdx, hVal, c, cols);
    out = next;
  }
  return out;
}

/**
 * Phase A for image r of the batch: augment it into its sparse input (the idx/val lists and rowStart
 * of row r), forward through every layer into row r of each layer's activations, the loss, and
 * backward into row r of each layer's deltas (phase B sums those rows over the batch).
 */
function trainImage(r: i32, gradScale: f64): void {
  const from = load<i32>(ctl(C_FROM));
  const img = load<i32>(order + f4(from + r));
  const idx = spIdx + <usize>r * f4(inputSize), val = spVal + <usize>r * f4(inputSize);
  const nnz = extractSample(idx, val, rowStartArr + <usize>r * f4(rowStarts), trainImg, trainBox, img, augArr + <usize>r * (<usize>augStride << 3));
  store<i32>(nnzArr + f4(r), nnz);
  // the teacher's logits, on the same augmented image (before the student's forward pass: both use hIdx/hVal)
  const tOut: usize = tL ? teacherForward(idx, val, nnz) : 0;
  // forward
  let cols = lay(0, L_COLS);
  let out: usize = <usize>lay(0, L_ACTS) + <usize>r * f4(cols);
  combineRows(out, params + f4(lay(0, L_B)), lay(0, L_WF), idx, val, nnz, cols);
  if (L > 1) relu(out, cols);
  for (let k = 1; k < L; k++) {
    const c = nonzeros(hIdx, hVal, out, cols);
    cols = lay(k, L_COLS);
    out = <usize>lay(k, L_ACTS) + <usize>r * f4(cols);
    combineRows(out, params + f4(lay(k, L_B)), lay(k, L_WF), hIdx, hVal, c, cols);
    if (k + 1 < L) relu(out, cols);
  }
  // loss
  const label = <i32>load<u8>(trainLbl + <usize>img);
  const dz: usize = <usize>lay(L - 1, L_DELTAS) + <usize>r * f4(cols);
  store<f64>(lossArr + (<usize>r << 3), tL
    ? distillXent(dz, out, tOut, label, cols, smoothing, gradScale, invT, alpha, dTmp)
    : softmaxXent(dz, out, label, cols, smoothing, gradScale, bufA));
  store<i32>(correctArr + f4(r), argmax(out, cols) == label ? 1 : 0);
  // backward: delta_{k-1} = (Wₖ delta_k) masked by the ReLU, over delta_k's nonzeros, through rows of Wᵀ
  for (let k = L - 1; k >= 1; k--) {
    const ck = lay(k, L_COLS), rk = lay(k, L_ROWS);
    const d: usize = <usize>lay(k, L_DELTAS) + <usize>r * f4(ck);
    const c = nonzeros(hIdx, hVal, d, ck);
    const prev: usize = <usize>lay(k - 1, L_DELTAS) + <usize>r * f4(rk);
    combineRows(prev, 0, lay(k, L_WT), hIdx, hVal, c, rk);
    reluMask(prev, <usize>lay(k - 1, L_ACTS) + <usize>r * f4(rk), rk);
  }
}

export function phaseA(): void {
  const n = load<i32>(ctl(C_N));
  const gradScale: f64 = 1.0 / <f64>n;
  for (;;) {
    const b = atomic.add<i32>(ctl(C_QA), A_BLOCK);
    if (b >= n) break;
    const e = min(b + A_BLOCK, n);
    for (let r = b; r < e; r++) trainImage(r, gradScale);
  }
}

/** Gradient of first-layer rows [i0, i0+cnt) (one image row of pixels, or a block of features), then Adam on each. */
function unitFirstLayer(y: i32, n: i32, lrC1: f32, invC2: f32): void {
  const cols = lay(0, L_COLS), rows = lay(0, L_ROWS);
  const i0 = y * block0, cnt = min(block0, rows - i0);
  for (let c = 0; c <= cnt; c++) store<i32>(colCount + f4(c), 0);
  // counting sort of the batch's entries in this pixel row by pixel, images kept in order
  for (let r = 0; r < n; r++) {
    const rs = rowStartArr + <usize>r * f4(rowStarts);
    const s = load<i32>(rs + f4(y)), e = load<i32>(rs + f4(y + 1));
    const idx = spIdx + <usize>r * f4(inputSize);
    for (let q = s; q < e; q++) {
      const p = colCount + f4(load<i32>(idx + f4(q)) - i0 + 1);
      store<i32>(p, load<i32>(p) + 1);
    }
  }
  for (let c = 1; c <= cnt; c++) store<i32>(colCount + f4(c), load<i32>(colCount + f4(c)) + load<i32>(colCount + f4(c - 1)));
  // colCount[c] is now the start of column c; fill advances it to the start of c + 1
  for (let r = 0; r < n; r++) {
    const rs = rowStartArr + <usize>r * f4(rowStarts);
    const s = load<i32>(rs + f4(y)), e = load<i32>(rs + f4(y + 1));
    const idx = spIdx + <usize>r * f4(inputSize), val = spVal + <usize>r * f4(inputSize);
    for (let q = s; q < e; q++) {
      const p = colCount + f4(load<i32>(idx + f4(q)) - i0);
      const at = load<i32>(p);
      store<i32>(p, at + 1);
      store<i32>(colR + f4(at), r);
      store<f32>(colV + f4(at), load<f32>(val + f4(q)));
    }
  }
  const deltas: usize = lay(0, L_DELTAS);
  const wOff = f4(lay(0, L_W));
  let start = 0;
  for (let c = 0; c < cnt; c++) {
    const end = load<i32>(colCount + f4(c));
    combineRows(gRow, 0, deltas, colR + f4(start), colV + f4(start), end - start, cols);
    const o = wOff + <usize>(i0 + c) * f4(cols);
    adamRow(params + o, mom1 + o, mom2 + o, gRow, cols, lrC1, invC2);
    start = end;
  }
}

/** Gradient of rows [i0, i1) of layer k ≥ 1 (Σ over images with a positive input), Adam, refresh Wᵀ. */
function unitLayer(k: i32, i0: i32, i1: i32, n: i32, lrC1: f32, invC2: f32): void {
  const rows = lay(k, L_ROWS), cols = lay(k, L_COLS);
  const acts: usize = lay(k - 1, L_ACTS), deltas: usize = lay(k, L_DELTAS);
  const wOff = f4(lay(k, L_W));
  for (let i = i0; i < i1; i++) {
    let c = 0;
    for (let r = 0; r < n; r++) {
      const h = load<f32>(acts + f4(r * rows + i));
      store<i32>(hIdx + f4(c), r);
      store<f32>(hVal + f4(c), h);
      c += i32(h > 0); // branch-free: which images have a positive input is unpredictable
    }
    combineRows(gRow, 0, deltas, hIdx, hVal, c, cols);
    const o = wOff + <usize>i * f4(cols);
    adamRow(params + o, mom1 + o, mom2 + o, gRow, cols, lrC1, invC2);
  }
  if (!lay(k, L_BITS)) transposeRows(k, i0, i1); // (a quantized layer's Wᵀ comes from syncTransposed)
}

function unitBias(k: i32, n: i32, lrC1: f32, invC2: f32): void {
  const cols = lay(k, L_COLS);
  combineRows(gRow, 0, lay(k, L_DELTAS), ident, ones, n, cols);
  const o = f4(lay(k, L_B));
  adamRow(params + o, mom1 + o, mom2 + o, gRow, cols, lrC1, invC2);
}

export function phaseB(): void {
  const n = load<i32>(ctl(C_N));
  const lrC1 = load<f32>(ctl(C_LRC1)), invC2 = load<f32>(ctl(C_INVC2));
  const n0 = (lay(0, L_ROWS) + block0 - 1) / block0;
  for (;;) {
    let u = atomic.add<i32>(ctl(C_QB), 1);
    if (u >= nUnits) break;
    if (u < n0) { unitFirstLayer(u, n, lrC1, invC2); continue; }
    u -= n0;
    let done = false;
    for (let k = 1; k < L && !done; k++) {
      const nk = (lay(k, L_ROWS) + BLOCKK - 1) / BLOCKK;
      if (u < nk) {
        unitLayer(k, u * BLOCKK, min((u + 1) * BLOCKK, lay(k, L_ROWS)), n, lrC1, invC2);
        done = true;
      } else u -= nk;
    }
    if (!done) unitBias(u, n, lrC1, invC2);
  }
}

/** Count correct predictions on images [from, from+n) of the training (set 0) or test (set 1) images. */
export function evalPhase(): void {
  const set = load<i32>(ctl(C_SET)), from = load<i32>(ctl(C_FROM)), n = load<i32>(ctl(C_N));
  const images = set ? testImg : trainImg, labels = set ? testLbl : trainLbl, boxes = set ? testBox : trainBox;
  const t: usize = kind != IN_VECTOR ? still : 0; // no augmentation, no noise
  let correct = 0;
  for (;;) {
    const b = atomic.add<i32>(ctl(C_QA), E_BLOCK);
    if (b >= n) break;
    const e = min(b + E_BLOCK, n);
    for (let q = b; q < e; q++) {
      const img = from + q;
      const nnz = extractSample(eIdx, eVal, 0, images, boxes, img, t);
      let cols = lay(0, L_COLS);
      let out = bufA;
      combineRows(out, params + f4(lay(0, L_B)), lay(0, L_WF), eIdx, eVal, nnz, cols);
      for (let k = 1; k < L; k++) {
        relu(out, cols);
        const c = nonzeros(hIdx, hVal, out, cols);
        cols = lay(k, L_COLS);
        const next = out == bufA ? bufB : bufA;
        combineRows(next, params + f4(lay(k, L_B)), lay(k, L_WF), hIdx, hVal, c, cols);
        out = next;
      }
      if (argmax(out, cols) == <i32>load<u8>(labels + <usize>img)) correct++;
    }
  }
  atomic.add<i32>(ctl(C_CORRECT), correct);
}
