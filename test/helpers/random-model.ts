// Models with random weights of a real shape, written through the real model writer, so tests never
// depend on a trained model. Seeded: the same options always give the same bytes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import type { LayerDtype } from '../../src/core/index.js';
import { formatModel, type InputToWrite, type LayerToWrite } from '../../src/node/model-file.js';

export const MNIST_SHAPE = [784, 128, 64, 10];

/** A small deterministic generator (mulberry32), uniform in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface RandomModelOptions {
  /** Every layer's dtype (default int8), unless `dtypes` gives one per layer. */
  dtype?: LayerDtype;
  dtypes?: LayerDtype[];
  /** Default: MNIST's 28x28 gray digit input. */
  input?: InputToWrite;
  labels?: string[];
  perChannel?: boolean;
  shape?: number[];
  seed?: number;
  meta?: unknown;
}

/** Layers with He-scaled uniform weights (so the probabilities are neither flat nor saturated). */
export function randomLayers(o: RandomModelOptions = {}): LayerToWrite[] {
  const rand = rng(o.seed ?? 1);
  const shape = o.shape ?? MNIST_SHAPE;
  return shape.slice(1).map((cols, k) => {
    const rows = shape[k];
    const limit = Math.sqrt(6 / rows) * (k === 0 ? 4 : 1.5);
    const b = Float32Array.from({ length: cols }, () => (rand() - 0.5) * 0.2);
    const dtype = o.dtypes?.[k] ?? o.dtype ?? 'int8';
    if (dtype === 'float32') {
      return { rows, cols, dtype, w: Float32Array.from({ length: rows * cols }, () => (rand() * 2 - 1) * limit), b };
    }
    const Q = dtype === 'int4' ? 7 : 127;
    const w = Int8Array.from({ length: rows * cols }, () => Math.round((rand() * 2 - 1) * Q));
    const scale = o.perChannel ? Array.from({ length: cols }, () => (limit / Q) * (0.5 + rand())) : limit / Q;
    return { rows, cols, dtype, w, scale, b };
  });
}

export function randomModelText(o: RandomModelOptions = {}): string {
  return formatModel({
    layers: randomLayers(o),
    input: o.input,
    labels: o.labels,
    meta: o.meta ?? { seed: o.seed ?? 1 },
  });
}

/**
 * A fresh temporary directory, removed when the test that made it ends, or (made at a file's or a
 * describe's top level) after those tests, whether they passed or failed. (A process 'exit' handler
 * alone did not do it: vitest's worker threads end without one, and runs left their directories behind.)
 */
export function tempDir(prefix = 'digitkit-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  process.on('exit', remove);
  const done = () => {
    remove();
    process.off('exit', remove);
  };
  try {
    onTestFinished(done); // called inside a test: removed when that test ends
  } catch {
    afterAll(done); // at a file's or describe's top level: after its tests
  }
  return dir;
}

export function writeRandomModel(dir: string, name: string, o: RandomModelOptions = {}): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, randomModelText(o));
  return file;
}
