/**
 * Coordination between the main thread and the training workers through a control block in the
 * shared memory: a command sequence number the workers wait on, and a reusable barrier. Waiting spins
 * briefly (a step hand-off is usually microseconds away) and then sleeps in Atomics.wait.
 */

/** Control-block slots (Int32Array indices); must match C_* in wasm/train.ts. Contended ones 64 bytes apart. */
export const C = {
  FROM: 0,
  N: 1,
  SET: 2,
  LRC1: 3,
  INVC2: 4,
  CMD: 5,
  SEQ: 16,
  ARRIVED: 32,
  GEN: 48,
  QA: 64,
  QB: 80,
  CORRECT: 96,
  FAILED: 112,
} as const;
export const CTRL_BYTES = 512;

export const CMD = { STEP: 1, EVAL: 2, QUIT: 3 } as const;

const SPINS = 2000;

/** All `threads` participants meet here. Returns false if another thread failed (then give up the step). */
export function barrier(ctl: Int32Array, threads: number): boolean {
  if (threads === 1) return true;
  const gen = Atomics.load(ctl, C.GEN);
  if (Atomics.add(ctl, C.ARRIVED, 1) === threads - 1) {
    Atomics.store(ctl, C.ARRIVED, 0);
    Atomics.add(ctl, C.GEN, 1);
    Atomics.notify(ctl, C.GEN);
    return true;
  }
  for (let i = 0; i < SPINS; i++) if (Atomics.load(ctl, C.GEN) !== gen) return true;
  while (Atomics.load(ctl, C.GEN) === gen) {
    if (Atomics.load(ctl, C.FAILED)) return false;
    Atomics.wait(ctl, C.GEN, gen, 1000);
  }
  return true;
}

/** Main thread: publish a command (its parameters are already in the control block). */
export function dispatch(ctl: Int32Array, cmd: number): void {
  Atomics.store(ctl, C.CMD, cmd);
  Atomics.add(ctl, C.SEQ, 1);
  Atomics.notify(ctl, C.SEQ);
}

/** Worker: wait until the sequence number moves past `seen`; returns the new one. */
export function nextCommand(ctl: Int32Array, seen: number): number {
  for (let i = 0; i < SPINS; i++) {
    const s = Atomics.load(ctl, C.SEQ);
    if (s !== seen) return s;
  }
  for (;;) {
    const s = Atomics.load(ctl, C.SEQ);
    if (s !== seen) return s;
    Atomics.wait(ctl, C.SEQ, seen);
  }
}

/** Mark the run failed and wake everyone waiting at the barrier. */
export function fail(ctl: Int32Array): void {
  Atomics.store(ctl, C.FAILED, 1);
  Atomics.notify(ctl, C.GEN);
}
