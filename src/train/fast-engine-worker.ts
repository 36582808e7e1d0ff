/**
 * A worker thread of the fast engine (fast-engine.ts): instantiate the kernels on the shared memory,
 * then run whatever the main thread dispatches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from './fast-engine.js';
import { instantiate } from './wasm-loader.js';
import { barrier, CMD, fail, nextCommand } from './sync.js';
import { C_CMD, C_FAILED, C_SEQ, CTRL_BYTES } from './wasm-abi.js';

const init = workerData as WorkerInit;
const k = instantiate(init.module, init.memory);
k.setup(init.desc, init.tid);
const ctl = new Int32Array(init.memory.buffer as unknown as ArrayBuffer, init.ctrl, CTRL_BYTES / 4);
let seen = Atomics.load(ctl, C_SEQ);
parentPort!.postMessage('ready');

for (;;) {
  seen = nextCommand(ctl, seen);
  const cmd = Atomics.load(ctl, C_CMD);
  if (cmd === CMD.QUIT || Atomics.load(ctl, C_FAILED)) break;
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
