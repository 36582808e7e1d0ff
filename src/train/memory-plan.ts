/**
 * The memory the kernels work on: ONE shared WebAssembly.Memory of fixed size (never grown, so no
 * view ever goes stale) holding parameters, Adam moments, the batch's activations, the training and
 * test images, and per-thread scratch; and the descriptor that tells the kernels where each is
 * (slots in wasm-abi.ts).
 */
import * as ABI from './wasm-abi.js';
import { BOX_BYTES, CTRL_BYTES, DESC_BYTES, IN_DIGIT28, LAYER_SLOTS } from './wasm-abi.js';
import type { QatSpec } from './engine.js';
import type { ParamLayout } from './params.js';
import type { WasmMemory } from './wasm-loader.js';

/** Bytes 0..64 KiB stay free for the module's own use (it declares no data, but keep its stack area clear). */
const RESERVED = 65536;

export interface MemoryPlan {
  bytes: number;
  pages: number;
  desc: number;
  /** Layer table: LAYER_SLOTS int32 per layer (see wasm-abi.ts). */
  table: number;
  ctrl: number;
  state: number;
  order: number;
  aug: number;
  loss: number;
  correct: number;
  trainImg: number;
  trainLbl: number;
  trainBox: number;
  testImg: number;
  testLbl: number;
  testBox: number;
  /**
   * Per layer: Wᵀ (0 for the first), activations and deltas of the batch; for a layer quantized during
   * training, its fake-quantized weights and its scales (0 otherwise).
   */
  layers: { wT: number; acts: number; deltas: number; wF: number; scales: number }[];
  /** Distillation: the teacher's parameters (float32, in its own layout) and layer table (0 without a teacher). */
  teacher: number;
  teacherTable: number;
  spIdx: number;
  spVal: number;
  rowStart: number;
  scratch: number;
  scratchSize: number;
  maxWidth: number;
  descriptor: Int32Array;
}

/** How the kernels see a sample (wasm-abi.ts's IN_* kinds); fast-engine.ts derives it from the engine's input. */
export interface SampleShape {
  kind: number;
  /** Values per sample. */
  size: number;
  /** Bytes per stored sample: `size` (uint8 pixels) or 4 * `size` (float32 features). */
  bytes: number;
  width: number;
  height: number;
  channels: number;
  /** First-layer rows per phase-B work item. */
  block: number;
  /** float64 per sample in the augmentation array. */
  augStride: number;
}

/** rowStart entries per sample: one per block of first-layer rows, and the total. */
export const rowStartCount = (s: SampleShape) => Math.ceil(s.size / s.block) + 1;

export interface PlanInput {
  layout: ParamLayout;
  sample: SampleShape;
  maxBatch: number;
  trainCount: number;
  testCount: number;
  threads: number;
  smoothing: number;
  scratchBytes: number;
  /** Quantization-aware training (engine.ts QatSpec). */
  qat?: QatSpec;
  /** Distillation: the teacher's layout, temperature and alpha. */
  teacher?: { layout: ParamLayout; temperature: number; alpha: number };
}

/** Lay out the whole run in one block; returns the offsets and the descriptor the kernels read. */
export function planMemory(p: PlanInput): MemoryPlan {
  let at = RESERVED;
  const take = (bytes: number, align = 64) => {
    at = Math.ceil(at / align) * align;
    const off = at;
    at += bytes;
    return off;
  };
  const L = p.layout.layers.length;
  const B = p.maxBatch;
  const desc = take(DESC_BYTES);
  const table = take(L * LAYER_SLOTS * 4);
  const ctrl = take(CTRL_BYTES);
  const state = take(3 * p.layout.count * 4);
  const quantized = (k: number) => (p.qat?.bits[k] ?? 0) > 0;
  const layers = p.layout.layers.map((l, k) => ({
    wT: k === 0 ? 0 : take(l.rows * l.cols * 4),
    acts: take(B * l.cols * 4),
    deltas: take(B * l.cols * 4),
    wF: quantized(k) ? take(l.rows * l.cols * 4) : 0,
    scales: quantized(k) ? take(l.cols * 4) : 0,
  }));
  const tl = p.teacher?.layout;
  const teacher = tl ? take(tl.count * 4) : 0;
  const teacherTable = tl ? take(tl.layers.length * LAYER_SLOTS * 4) : 0;
  const S = p.sample;
  const spIdx = take(B * S.size * 4);
  const spVal = take(B * S.size * 4);
  const nnz = take(B * 4);
  const rowStart = take(B * rowStartCount(S) * 4);
  const loss = take(B * 8);
  const correct = take(B * 4);
  const order = take(p.trainCount * 4);
  const aug = take(B * Math.max(1, S.augStride) * 8);
  // Bounding boxes only for the 28x28 fast path, which skips what lies outside them.
  const boxBytes = S.kind === IN_DIGIT28 ? BOX_BYTES : 0;
  const trainImg = take(p.trainCount * S.bytes);
  const trainLbl = take(p.trainCount);
  const trainBox = take(p.trainCount * boxBytes);
  const testImg = take(Math.max(1, p.testCount) * S.bytes);
  const testLbl = take(Math.max(1, p.testCount));
  const testBox = take(Math.max(1, p.testCount) * boxBytes);
  const scratchSize = Math.ceil(p.scratchBytes / 64) * 64;
  const scratch = take(p.threads * scratchSize);
  const bytes = Math.ceil(at / 65536) * 65536;
  const maxWidth = planWidth(p.layout, tl);

  const d = new Int32Array(DESC_BYTES / 4);
  const set = (slot: number, v: number) => {
    d[slot] = v;
  };
  set(ABI.D_LAYERS, L);
  set(ABI.D_MAXBATCH, B);
  set(ABI.D_MAXWIDTH, maxWidth);
  set(ABI.D_PARAMS, state);
  set(ABI.D_M, state + p.layout.count * 4);
  set(ABI.D_V, state + 2 * p.layout.count * 4);
  set(ABI.D_LAYER_TABLE, table);
  set(ABI.D_SPIDX, spIdx);
  set(ABI.D_SPVAL, spVal);
  set(ABI.D_NNZ, nnz);
  set(ABI.D_ROWSTART, rowStart);
  set(ABI.D_LOSS, loss);
  set(ABI.D_CORRECT, correct);
  set(ABI.D_ORDER, order);
  set(ABI.D_AUG, aug);
  set(ABI.D_TRAIN_IMG, trainImg);
  set(ABI.D_TRAIN_LBL, trainLbl);
  set(ABI.D_TRAIN_BOX, trainBox);
  set(ABI.D_TEST_IMG, testImg);
  set(ABI.D_TEST_LBL, testLbl);
  set(ABI.D_TEST_BOX, testBox);
  set(ABI.D_CTRL, ctrl);
  set(ABI.D_SCRATCH, scratch);
  set(ABI.D_SCRATCH_SIZE, scratchSize);
  set(ABI.D_INPUT_KIND, S.kind);
  set(ABI.D_INPUT_SIZE, S.size);
  set(ABI.D_SAMPLE_BYTES, S.bytes);
  set(ABI.D_WIDTH, S.width);
  set(ABI.D_HEIGHT, S.height);
  set(ABI.D_CHANNELS, S.channels);
  set(ABI.D_BLOCK0, S.block);
  set(ABI.D_ROW_STARTS, rowStartCount(S));
  set(ABI.D_AUG_STRIDE, S.augStride);
  new Float64Array(d.buffer, ABI.D_SMOOTHING_BYTE, 1)[0] = p.smoothing;
  if (p.qat) set(ABI.D_QAT, p.qat.frozen ? ABI.QAT_FROZEN : ABI.QAT_STEP);
  if (p.teacher) {
    set(ABI.D_T_LAYERS, p.teacher.layout.layers.length);
    set(ABI.D_T_TABLE, teacherTable);
    new Float64Array(d.buffer, ABI.D_INV_T_BYTE, 1)[0] = 1 / p.teacher.temperature;
    new Float64Array(d.buffer, ABI.D_ALPHA_BYTE, 1)[0] = p.teacher.alpha;
  }
  return {
    bytes,
    pages: bytes / 65536,
    desc,
    table,
    ctrl,
    state,
    order,
    aug,
    loss,
    correct,
    trainImg,
    trainLbl,
    trainBox,
    testImg,
    testLbl,
    testBox,
    layers,
    teacher,
    teacherTable,
    spIdx,
    spVal,
    rowStart,
    scratch,
    scratchSize,
    maxWidth,
    descriptor: d,
  };
}

/** The widest layer of the network (and of the teacher): what per-thread scratch is sized for. */
export function planWidth(layout: ParamLayout, teacher?: ParamLayout): number {
  return Math.max(...layout.sizes.slice(1), ...(teacher ? teacher.sizes.slice(1) : []));
}

/** Write the descriptor and layer tables into memory (once, before any thread's setup()). */
export function writeDescriptor(
  memory: WasmMemory,
  plan: MemoryPlan,
  layout: ParamLayout,
  qat?: QatSpec,
  teacher?: ParamLayout,
): void {
  new Int32Array(memory.buffer, plan.desc, plan.descriptor.length).set(plan.descriptor);
  const t = new Int32Array(memory.buffer, plan.table, layout.layers.length * LAYER_SLOTS);
  layout.layers.forEach((l, k) => {
    const row = t.subarray(k * LAYER_SLOTS, (k + 1) * LAYER_SLOTS);
    row[ABI.L_ROWS] = l.rows;
    row[ABI.L_COLS] = l.cols;
    row[ABI.L_W] = l.w;
    row[ABI.L_B] = l.b;
    row[ABI.L_WT] = plan.layers[k].wT;
    row[ABI.L_ACTS] = plan.layers[k].acts;
    row[ABI.L_DELTAS] = plan.layers[k].deltas;
    const bits = qat?.bits[k] ?? 0;
    row[ABI.L_WF] = bits ? plan.layers[k].wF : plan.state + 4 * l.w;
    row[ABI.L_BITS] = bits;
    row[ABI.L_SCALES] = plan.layers[k].scales;
    row[ABI.L_PER_CHANNEL] = bits && qat!.perChannel[k] ? 1 : 0;
  });
  if (teacher) {
    const tt = new Int32Array(memory.buffer, plan.teacherTable, teacher.layers.length * LAYER_SLOTS);
    teacher.layers.forEach((l, k) => {
      const row = tt.subarray(k * LAYER_SLOTS, (k + 1) * LAYER_SLOTS);
      row[ABI.L_ROWS] = l.rows;
      row[ABI.L_COLS] = l.cols;
      row[ABI.L_W] = plan.teacher + 4 * l.w;
      row[ABI.L_B] = plan.teacher + 4 * l.b;
    });
  }
}
