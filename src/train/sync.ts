/**
 * Coordination between the main thread and the training workers through a control block in the
 * shared memory (slots in wasm-abi.ts): a command sequence number the workers wait on, and a reusable barrier. Waiting spins
 * briefly (a step hand-off is usually microseconds away) and then sleeps in Atomics.wait.
 */

import { C_ARRIVED, C_CMD, C_FAILED, C_GEN, C_SEQ } from './wasm-abi.js';

/** Commands in the control block's C_CMD slot (the kernels never read it: only the threads' JS loops do). */
export const CMD = { STEP: 1, EVAL: 2, QUIT: 3 } as const;

const SPINS = 2000;

/** All `threads` participants meet here. Returns false if another thread failed (then give up the step). */
export function barrier(ctl: Int32Array, threads: number): boolean {
  if (threads === 1) return true;
  const gen = Atomics.load(ctl, C_GEN);
  if (Atomics.add(ctl, C_ARRIVED, 1) === threads - 1) {
    Atomics.store(ctl, C_ARRIVED, 0);
    Atomics.add(ctl, C_GEN, 1);
    Atomics.notify(ctl, C_GEN);
    return true;
  }
  for (let i = 0; i < SPINS; i++) if (Atomics.load(ctl, C_GEN) !== gen) return true;
  while (Atomics.load(ctl, C_GEN) === gen) {
    if (Atomics.load(ctl, C_FAILED)) return false;
    Atomics.wait(ctl, C_GEN, gen, 1000);
  }
  return true;
}

/** Main thread: publish a command (its parameters are already in the control block). */
export function dispatch(ctl: Int32Array, cmd: number): void {
  Atomics.store(ctl, C_CMD, cmd);
  Atomics.add(ctl, C_SEQ, 1);
  Atomics.notify(ctl, C_SEQ);
}

/** Worker: wait until the sequence number moves past `seen`; returns the new one. */
export function nextCommand(ctl: Int32Array, seen: number): number {
  for (let i = 0; i < SPINS; i++) {
    const s = Atomics.load(ctl, C_SEQ);
    if (s !== seen) return s;
  }
  for (;;) {
    const s = Atomics.load(ctl, C_SEQ);
    if (s !== seen) return s;
    Atomics.wait(ctl, C_SEQ, seen);
  }
}

/** Mark the run failed and wake everyone waiting at the barrier. */
export function fail(ctl: Int32Array): void {
  Atomics.store(ctl, C_FAILED, 1);
  Atomics.notify(ctl, C_GEN);
}
