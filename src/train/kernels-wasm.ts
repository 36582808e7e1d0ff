/**
 * Loading the AssemblyScript kernels (src/train/wasm → dist/train/kernels.wasm, built by
 * scripts/build.mjs) and the memory layout they work on: ONE shared WebAssembly.Memory of fixed size
 * (never grown, so no view ever goes stale) holding parameters, Adam moments, the batch's
 * activations, the training and test images, and per-thread scratch.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ABI from './wasm-abi.js';
import { AUG_STRIDE, BOX_BYTES, CTRL_BYTES, DESC_BYTES, LAYER_SLOTS, PIXELS, ROW_STARTS } from './wasm-abi.js';
import type { ParamLayout } from './params.js';

/*
 * The few WebAssembly JS-API types used here. The project's tsconfig has no DOM lib and @types/node 20
 * does not declare them, so they are spelled out locally instead of declaring globals.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
export type WasmModule = object;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: unknown };
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface KernelExports {
  memory: WasmMemory;
  scratchBytes(maxBatch: number, maxWidth: number): number;
  setup(desc: number, tid: number): void;
  computeBoxes(images: number, count: number, boxes: number): void;
  syncTransposed(): void;
  phaseA(): void;
  phaseB(): void;
  evalPhase(): void;
  combineRows(out: number, init: number, base: number, rows: number, coef: number, count: number, width: number): void;
  adamRow(p: number, m: number, v: number, g: number, n: number, lrC1: number, invC2: number): void;
  softmaxXent(
    dz: number,
    z: number,
    label: number,
    k: number,
    smoothing: number,
    gradScale: number,
    tmp: number,
  ): number;
  argmax(z: number, k: number): number;
  extract(idx: number, val: number, rowStart: number, src: number, box: number, t: number, pad: number): number;
  imageBox(src: number, box: number): void;
  nonzeros(idx: number, val: number, x: number, n: number): number;
  relu(x: number, n: number): void;
  reluMask(d: number, h: number, n: number): void;
}

/** A file built next to this module in dist/train (or there, when running from the TypeScript sources). */
export function distFile(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, name), path.join(here, '../../dist/train', name)]) if (fs.existsSync(p)) return p;
  throw new Error(`${name} not found next to ${here}: run \`npm run build\``);
}

let compiled: WasmModule | undefined;
/**
 * The kernels, compiled once per process (workers receive the compiled module) and compiled whole,
 * straight to optimized code: with V8's default lazy, tiered compilation the hot functions run baseline
 * code well into the run (measured on one thread: 1.0 s for the first epoch instead of 0.67 s).
 * The two V8 flags are restored right after, so nothing else in the process is affected.
 */
export function kernelModule(): WasmModule {
  if (!compiled) {
    v8.setFlagsFromString('--no-liftoff');
    v8.setFlagsFromString('--no-wasm-lazy-compilation');
    try {
      compiled = new WA.Module(fs.readFileSync(distFile('kernels.wasm')));
    } finally {
      v8.setFlagsFromString('--liftoff');
      v8.setFlagsFromString('--wasm-lazy-compilation');
    }
  }
  return compiled;
}

export function instantiate(module: WasmModule, memory: WasmMemory): KernelExports {
  const instance = new WA.Instance(module, { env: { memory, 'Math.exp': Math.exp, 'Math.log': Math.log } });
  return instance.exports as unknown as KernelExports;
}

/** Bytes 0..64 KiB stay free for the module's own use (it declares no data, but keep its stack area clear). */
const RESERVED = 65536;

export interface MemoryPlan {
  bytes: number;
  pages: number;
  desc: number;
  /** Layer table: 8 int32 per layer (rows, cols, W and b float offsets, Wᵀ, activations, deltas). */
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
  /** Per layer: Wᵀ (0 for the first), activations and deltas of the batch. */
  layers: { wT: number; acts: number; deltas: number }[];
  spIdx: number;
  spVal: number;
  rowStart: number;
  scratch: number;
  scratchSize: number;
  maxWidth: number;
  descriptor: Int32Array;
}

export interface PlanInput {
  layout: ParamLayout;
  maxBatch: number;
  trainCount: number;
  testCount: number;
  threads: number;
  smoothing: number;
  scratchBytes: number;
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
  const layers = p.layout.layers.map((l, k) => ({
    wT: k === 0 ? 0 : take(l.rows * l.cols * 4),
    acts: take(B * l.cols * 4),
    deltas: take(B * l.cols * 4),
  }));
  const spIdx = take(B * PIXELS * 4);
  const spVal = take(B * PIXELS * 4);
  const nnz = take(B * 4);
  const rowStart = take(B * ROW_STARTS * 4);
  const loss = take(B * 8);
  const correct = take(B * 4);
  const order = take(p.trainCount * 4);
  const aug = take(B * AUG_STRIDE * 8);
  const trainImg = take(p.trainCount * PIXELS);
  const trainLbl = take(p.trainCount);
  const trainBox = take(p.trainCount * BOX_BYTES);
  const testImg = take(Math.max(1, p.testCount) * PIXELS);
  const testLbl = take(Math.max(1, p.testCount));
  const testBox = take(Math.max(1, p.testCount) * BOX_BYTES);
  const scratchSize = Math.ceil(p.scratchBytes / 64) * 64;
  const scratch = take(p.threads * scratchSize);
  const bytes = Math.ceil(at / 65536) * 65536;
  const maxWidth = Math.max(...p.layout.sizes.slice(1));

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
  new Float64Array(d.buffer, ABI.D_SMOOTHING_BYTE, 1)[0] = p.smoothing;
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
    spIdx,
    spVal,
    rowStart,
    scratch,
    scratchSize,
    maxWidth,
    descriptor: d,
  };
}

/** Write the descriptor and layer table into memory (once, before any thread's setup()). */
export function writeDescriptor(memory: WasmMemory, plan: MemoryPlan, layout: ParamLayout): void {
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
  });
}
