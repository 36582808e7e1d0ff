/**
 * Loading the AssemblyScript kernels (src/train/wasm → dist/train/kernels.wasm, built by
 * scripts/build.mjs): the compiled module, one instance per thread on the shared memory that
 * memory-plan.ts lays out, and the functions it exports.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  scratchBytes(maxBatch: number, maxWidth: number, inputSize: number, block: number): number;
  setup(desc: number, tid: number): void;
  computeBoxes(images: number, count: number, boxes: number): void;
  syncTransposed(): void;
  distillXent(
    dz: number,
    z: number,
    zt: number,
    label: number,
    k: number,
    smoothing: number,
    gradScale: number,
    invT: number,
    alpha: number,
    tmp: number,
  ): number;
  fakeQuant(
    out: number,
    w: number,
    rows: number,
    cols: number,
    qmax: number,
    scales: number,
    perChannel: boolean,
    recompute: boolean,
  ): void;
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
  extractImage(
    idx: number,
    val: number,
    rowStart: number,
    src: number,
    t: number,
    w: number,
    h: number,
    c: number,
  ): number;
  extractVector(
    idx: number,
    val: number,
    rowStart: number,
    src: number,
    noise: number,
    size: number,
    block: number,
  ): number;
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
 * straight to optimized code: with V8's default lazy, tiered compilation the hot functions run
 * baseline code well into the run, which slows the first epoch by half (README, "Training").
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
