// What the benchmarks share: the project's paths, the MNIST copy to train on, the model to measure,
// and a temporary directory removed when the benchmark exits. (Not a benchmark: bench.mjs runs *.bench.mjs.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedMnistDir } from '../dist/data/mnist.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin/digitkit.js');

/** data/mnist when `digitkit download` has filled it, else the embedded copy. */
export const trainData = () =>
  fs.existsSync(path.join(ROOT, 'data/mnist/train-images-idx3-ubyte'))
    ? path.join(ROOT, 'data/mnist')
    : embeddedMnistDir();

/** $DIGITKIT_MODEL, else the shipped int8 model; a benchmark without one says so and exits 1. */
export function benchModel(bench) {
  const model = path.resolve(process.env.DIGITKIT_MODEL ?? path.join(ROOT, 'models/mnist-int8.json'));
  if (!fs.existsSync(model)) {
    console.log(`${bench} bench: no model at ${model} (build it, or set DIGITKIT_MODEL)`);
    process.exit(1);
  }
  return model;
}

/** A fresh temporary directory, removed when the process exits. */
export function benchTemp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
