/** A training worker thread: instantiate the kernels on the shared memory, then run whatever the main thread dispatches. */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiate } from './kernels-wasm.js';
import type { WorkerInit } from './pool.js';
import { barrier, C, CMD, fail, nextCommand } from './sync.js';

const init = workerData as WorkerInit;
const k = instantiate(init.module, init.memory);
k.setup(init.desc, init.tid);
const ctl = new Int32Array(init.memory.buffer as unknown as ArrayBuffer, init.ctrl, 128);
let seen = Atomics.load(ctl, C.SEQ);
parentPort!.postMessage('ready');

for (;;) {
  seen = nextCommand(ctl, seen);
  const cmd = Atomics.load(ctl, C.CMD);
  if (cmd === CMD.QUIT || Atomics.load(ctl, C.FAILED)) break;
  try {
    if (cmd === CMD.STEP) {
      k.phaseA();
      if (!barrier(ctl, init.threads)) break;
      k.phaseB();
    } else if (cmd === CMD.EVAL) {
      k.evalPhase();
    }
  } catch (err) {
    console.error(`digitkit training worker ${init.tid}: ${(err as Error).stack ?? String(err)}`);
    fail(ctl);
    break;
  }
  if (!barrier(ctl, init.threads)) break;
}
