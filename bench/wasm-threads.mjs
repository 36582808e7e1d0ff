// Batch inference on several threads through digitkit/core-wasm: the model's weights laid out once
// in a shared WebAssembly.Memory, the images and probabilities in SharedArrayBuffers, every thread
// (this one and threads - 1 workers) taking chunks of images from one atomic counter.
// (Not a benchmark: bench.mjs runs *.bench.mjs. This file is also the workers' entry.)
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const CHUNK = 256;
const GEN = 0; // bumped to start a run (-1: exit)
const NEXT = 1; // next chunk to take
const DONE = 2; // workers finished with this run

function work(cw, model, ctrl, pixels, out, n) {
  const size = model.layers[0].rows;
  const classes = model.labels.length;
  for (let c; (c = Atomics.add(ctrl, NEXT, 1)) * CHUNK < n;) {
    const a = c * CHUNK,
      b = Math.min(n, a + CHUNK);
    cw.forwardPixels(model, pixels.subarray(a * size, b * size), out.subarray(a * classes, b * classes));
  }
}

/**
 * Start `threads - 1` workers on a model for `n` images (pixels: a Uint8Array over a
 * SharedArrayBuffer). `run()` classifies them all into `out` (a Float64Array over a SharedArrayBuffer).
 */
export async function wasmThreads(moduleUrl, modelText, threads, pixels, out, n) {
  const cw = await import(moduleUrl);
  const model = cw.loadModel(modelText, 'model', { threads });
  const ctrl = new Int32Array(new SharedArrayBuffer(12));
  const workers = [];
  for (let t = 1; t < threads; t++) {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { moduleUrl, shared: cw.shareModel(model, t), ctrl, pixels, out, n },
    });
    workers.push(w);
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  }
  return {
    model,
    run() {
      Atomics.store(ctrl, NEXT, 0);
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      work(cw, model, ctrl, pixels, out, n);
      for (let d; (d = Atomics.load(ctrl, DONE)) < threads - 1;) Atomics.wait(ctrl, DONE, d);
      return out;
    },
    async close() {
      Atomics.store(ctrl, GEN, -1);
      Atomics.notify(ctrl, GEN);
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
    },
  };
}

if (!isMainThread) {
  const { moduleUrl, shared, ctrl, pixels, out, n } = workerData;
  const cw = await import(moduleUrl);
  const model = cw.attachModel(shared);
  parentPort.postMessage('ready');
  for (let gen = 0; ;) {
    Atomics.wait(ctrl, GEN, gen);
    gen = Atomics.load(ctrl, GEN);
    if (gen < 0) break;
    work(cw, model, ctrl, pixels, out, n);
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
  parentPort.close();
}
