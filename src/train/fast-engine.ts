/**
 * The fast engine: the AssemblyScript SIMD kernels (wasm/train.ts) run by the main thread plus
 * `threads - 1` worker threads over one fixed-size shared WebAssembly.Memory. Workers start once per
 * run; each step the main thread publishes the batch, every thread (main included) takes work items
 * from atomic queues, and two barriers separate the phases. Results never depend on the thread count:
 * see wasm/train.ts for why.
 */
import { Worker } from 'node:worker_threads';
import { adamCorrections } from './adam.js';
import { augStrideOf } from './augment.js';
import { checkEngineOptions, inputSizeOf, type EngineOptions, type Engine, type TrainInput } from './engine.js';
import { planMemory, planWidth, writeDescriptor, type SampleShape } from './memory-plan.js';
import {
  distFile,
  instantiate,
  kernelModule,
  WA,
  type KernelExports,
  type WasmMemory,
  type WasmModule,
} from './wasm-loader.js';
import { paramLayout } from './params.js';
import { barrier, CMD, dispatch, fail } from './sync.js';
import {
  C_CORRECT,
  C_FAILED,
  C_FROM,
  C_INVC2,
  C_LRC1,
  C_N,
  C_QA,
  C_QB,
  C_SET,
  CTRL_BYTES,
  IN_DIGIT28,
  IN_IMAGE,
  IN_VECTOR,
  SIDE,
  VECTOR_BLOCK,
} from './wasm-abi.js';

export interface WorkerInit {
  module: WasmModule;
  memory: WasmMemory;
  desc: number;
  ctrl: number;
  tid: number;
  threads: number;
}

/**
 * How the kernels see the engine's samples: 28x28 one-channel images through the SIMD fast path
 * (flipped ones take the general path image by image), other images through the general path, one
 * image row per first-layer work item; vectors as float32, VECTOR_BLOCK features per item.
 */
export function sampleShape(input: TrainInput): SampleShape {
  const size = inputSizeOf(input);
  const augStride = augStrideOf(input);
  if (input.kind === 'vector')
    return { kind: IN_VECTOR, size, bytes: 4 * size, width: 0, height: 0, channels: 0, block: VECTOR_BLOCK, augStride };
  const { width, height, channels } = input;
  const kind = width === SIDE && height === SIDE && channels === 1 ? IN_DIGIT28 : IN_IMAGE;
  return { kind, size, bytes: size, width, height, channels, block: width * channels, augStride };
}

export async function createFastEngine(o: EngineOptions, threads: number): Promise<Engine> {
  checkEngineOptions(o);
  const layout = paramLayout(o.sizes);
  const tLayout = o.teacher && paramLayout(o.teacher.sizes);
  const sample = sampleShape(o.input);
  const module = kernelModule();
  const testCount = o.test?.count ?? 0;
  // A throwaway instance on a small private memory answers how much scratch a thread needs.
  const probe = instantiate(module, new WA.Memory({ initial: 1, maximum: 1, shared: true }));
  const plan = planMemory({
    layout,
    sample,
    maxBatch: o.maxBatch,
    trainCount: o.train.count,
    testCount,
    threads,
    smoothing: o.smoothing,
    scratchBytes: probe.scratchBytes(o.maxBatch, planWidth(layout, tLayout), sample.size, sample.block),
    qat: o.qat,
    teacher: tLayout && { layout: tLayout, temperature: o.teacher!.temperature, alpha: o.teacher!.alpha },
  });
  const memory = new WA.Memory({ initial: plan.pages, maximum: plan.pages, shared: true });
  const buf = memory.buffer as unknown as ArrayBuffer;
  writeDescriptor(memory, plan, layout, o.qat, tLayout);
  if (tLayout) new Float32Array(buf, plan.teacher, tLayout.count).set(o.teacher!.params.subarray(0, tLayout.count));
  const bytesOf = (a: Uint8Array | Float32Array, count: number) =>
    new Uint8Array(a.buffer, a.byteOffset, count * sample.bytes);
  new Uint8Array(buf, plan.trainImg, o.train.count * sample.bytes).set(bytesOf(o.train.inputs, o.train.count));
  new Uint8Array(buf, plan.trainLbl, o.train.count).set(o.train.labels.subarray(0, o.train.count));
  if (o.test) {
    new Uint8Array(buf, plan.testImg, testCount * sample.bytes).set(bytesOf(o.test.inputs, testCount));
    new Uint8Array(buf, plan.testLbl, testCount).set(o.test.labels.subarray(0, testCount));
  }
  const k: KernelExports = instantiate(module, memory);
  k.setup(plan.desc, 0);
  if (sample.kind === IN_DIGIT28) {
    k.computeBoxes(plan.trainImg, o.train.count, plan.trainBox);
    if (o.test) k.computeBoxes(plan.testImg, testCount, plan.testBox);
  }

  const ctl = new Int32Array(buf, plan.ctrl, CTRL_BYTES / 4);
  const ctlF = new Float32Array(buf, plan.ctrl, CTRL_BYTES / 4);
  const P = layout.count;
  const state = new Float32Array(buf, plan.state, 3 * P);
  const loss = new Float64Array(buf, plan.loss, o.maxBatch);
  const correct = new Int32Array(buf, plan.correct, o.maxBatch);
  const result = { loss: 0, correct: 0 }; // reused every step
  const order = new Int32Array(buf, plan.order, o.train.count);
  const aug = new Float64Array(buf, plan.aug, o.maxBatch * sample.augStride);
  const hasTest = Boolean(o.test);
  const quantized = layout.layers.map((_, k) => (o.qat?.bits[k] ?? 0) > 0);
  const qatScales = layout.layers.flatMap((l, k) =>
    quantized[k] ? [new Float32Array(buf, plan.layers[k].scales, o.qat!.perChannel[k] ? l.cols : 1)] : [],
  );
  const forwardWeights = layout.layers.map((l, k) =>
    quantized[k]
      ? new Float32Array(buf, plan.layers[k].wF, l.rows * l.cols)
      : state.subarray(l.w, l.w + l.rows * l.cols),
  );

  const workers: Worker[] = [];
  const exits: Promise<unknown>[] = []; // tracked from the start: a failed worker may exit at any time
  try {
    for (let tid = 1; tid < threads; tid++) {
      const init: WorkerInit = { module, memory, desc: plan.desc, ctrl: plan.ctrl, tid, threads };
      // (--input-type, valid for `node -e`, would stop a worker started from a file)
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const w = new Worker(distFile('fast-engine-worker.js'), { workerData: init, execArgv });
      workers.push(w);
      exits.push(new Promise((resolve) => w.once('exit', resolve)));
      await new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`training worker ${tid} exited (${code}) before it was ready`)));
      });
      w.removeAllListeners('message');
      w.removeAllListeners('error');
      w.on('error', () => fail(ctl)); // the worker has already printed and flagged it
      w.unref();
    }
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }

  /** Publish a command, do the main thread's share, meet everyone at the end; any failure stops all threads. */
  const run = (cmd: number, work: () => void) => {
    dispatch(ctl, cmd);
    try {
      work();
    } catch (err) {
      fail(ctl);
      throw err;
    }
    if (!barrier(ctl, threads) || Atomics.load(ctl, C_FAILED)) throw new Error('a training worker failed');
  };

  return {
    layout,
    input: o.input,
    state,
    params: state.subarray(0, P),
    order,
    aug,
    qatScales,
    forwardWeights: () => forwardWeights,
    augStride: sample.augStride,
    paramsChanged: () => k.syncTransposed(),
    trainStep(from, n, lr, t) {
      const [c1, c2] = adamCorrections(t);
      ctl[C_FROM] = from;
      ctl[C_N] = n;
      ctlF[C_LRC1] = lr / c1;
      ctlF[C_INVC2] = 1 / c2;
      ctl[C_QA] = 0;
      ctl[C_QB] = 0;
      run(CMD.STEP, () => {
        k.phaseA();
        if (!barrier(ctl, threads)) throw new Error('a training worker failed');
        k.phaseB();
      });
      // Quantization-aware training: the new weights' fake-quantized copies, on this thread alone (the
      // workers wait for the next command; the pass is a small fraction of a step).
      if (o.qat) k.syncTransposed();
      result.loss = 0;
      result.correct = 0;
      for (let r = 0; r < n; r++) {
        result.loss += loss[r];
        result.correct += correct[r];
      }
      return result;
    },
    evaluate(set, from, n) {
      if (set === 'test' && !hasTest) throw new Error('no test set loaded');
      ctl[C_SET] = set === 'test' ? 1 : 0;
      ctl[C_FROM] = from;
      ctl[C_N] = n;
      ctl[C_QA] = 0;
      ctl[C_CORRECT] = 0;
      run(CMD.EVAL, () => k.evalPhase());
      return Atomics.load(ctl, C_CORRECT);
    },
    async close() {
      if (!workers.length) return;
      // unref'd workers do not keep the event loop alive: hold it until they have exited
      for (const w of workers) w.ref();
      dispatch(ctl, CMD.QUIT);
      await Promise.all(exits);
    },
  };
}
