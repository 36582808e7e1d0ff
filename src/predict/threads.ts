/**
 * Large runs use every core: worker threads share the job list through one atomic counter, each
 * running the same `predictJob` as the main thread (decoding, preprocessing and the forward pass are
 * all CPU work, and JavaScript runs one thread per isolate).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { DigitkitError, ExitCode, InterruptedError, OptionError, type ExitCodeValue } from '../errors.js';
import type { Job, JobSettings, Prediction } from './jobs.js';

const WORKER = new URL('./worker.js', import.meta.url);
// node:worker_threads only for a run that starts workers: `digitkit predict`'s one bundled file
// (dist/cli/hot.js) holds this module, and a one-image run does not pay for loading it.
const require = createRequire(import.meta.url);

export interface WorkerData {
  jobs: Job[];
  model: string;
  settings: Omit<JobSettings, 'readStdin'>;
  /** Int32 counter: the next job index to take. */
  next: SharedArrayBuffer;
  inFlight: number;
}

export type WorkerMessage =
  | { i: number; r: Prediction }
  | { done: true }
  | { fatal: { code: number; message: string; option?: string; problem?: string } };

/** Worker threads need the compiled worker.js (not there when the sources run under a TS loader). */
export const workersAvailable = (): boolean => fs.existsSync(fileURLToPath(WORKER));

export function runInWorkers(
  threads: number,
  data: Omit<WorkerData, 'next'>,
  onResult: (i: number, r: Prediction) => void,
  signal?: AbortSignal,
): Promise<void> {
  const workerData: WorkerData = { ...data, next: new SharedArrayBuffer(4) };
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let running = threads;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish(new InterruptedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    for (let t = 0; t < threads; t++) {
      // --input-type (from `node -e`) is refused in a worker; every other flag carries over.
      const w = new (require('node:worker_threads') as typeof import('node:worker_threads')).Worker(WORKER, {
        workerData,
        execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
      });
      workers.push(w);
      w.on('message', (m: WorkerMessage) => {
        if ('fatal' in m) {
          const { code, message, option, problem } = m.fatal;
          // A bug in a worker (exit 70) is reported as one, like a bug on the main thread.
          finish(
            option
              ? new OptionError(option, problem!)
              : code === ExitCode.internal
                ? new Error(message)
                : new DigitkitError(code as ExitCodeValue, message),
          );
        } else if ('done' in m) {
          if (--running === 0) finish();
        } else onResult(m.i, m.r);
      });
      w.on('error', finish);
      w.on('exit', (code) => {
        if (!settled) finish(new Error(`predict worker stopped early (exit code ${code})`));
      });
    }
  });
}
