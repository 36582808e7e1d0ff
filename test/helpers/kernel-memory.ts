// The training kernels on one small shared memory, carved by a bump allocator: for tests that call the
// wasm kernels directly and compare them with their TypeScript references.
import { instantiate, kernelModule, WA, type KernelExports } from '../../src/train/wasm-loader.js';

export function kernelMemory() {
  const memory = new WA.Memory({ initial: 64, maximum: 64, shared: true });
  const k: KernelExports = instantiate(kernelModule(), memory);
  const buf = memory.buffer as unknown as ArrayBuffer;
  // The first 64 KiB belong to the module (see memory-plan.ts).
  let top = 65536;
  return {
    k,
    buf,
    alloc(bytes: number): number {
      const at = top;
      top += Math.ceil(bytes / 16) * 16 + 16;
      return at;
    },
    reset(): void {
      top = 65536;
    },
    f32: (at: number, n: number) => new Float32Array(buf, at, n),
    f64: (at: number, n: number) => new Float64Array(buf, at, n),
    i32: (at: number, n: number) => new Int32Array(buf, at, n),
  };
}

/** max |a - b| relative to the largest magnitude involved. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-6;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]), Math.abs(b[i]));
  }
  return d / m;
}
