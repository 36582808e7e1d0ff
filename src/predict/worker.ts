/** A `predict` worker thread: takes job indices from the shared counter until none are left. */
import { parentPort, workerData } from 'node:worker_threads';
import { DigitkitError, ExitCode, OptionError } from '../errors.js';
import { loadRawModel } from '../core-wasm/index.js';
import { readModelFile } from '../node/model-file.js';
import { predictJob, runJobs } from './jobs.js';
import type { WorkerData, WorkerMessage } from './threads.js';

const { jobs, model: modelPath, settings, next, inFlight } = workerData as WorkerData;
const counter = new Int32Array(next);
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

// Stay alive until the main thread terminates us: a worker that exits on its own can have its
// 'exit' reach the main thread before its last messages do.
parentPort!.on('message', () => undefined);

try {
  const model = loadRawModel((await readModelFile(modelPath)).raw);
  await runJobs(
    () => Atomics.add(counter, 0, 1),
    jobs.length,
    inFlight,
    async (i) => post({ i, r: await predictJob(jobs[i], model, settings) }),
  );
  post({ done: true });
} catch (err) {
  const code = err instanceof DigitkitError ? err.code : ExitCode.internal;
  const option = err instanceof OptionError ? { option: err.option, problem: err.problem } : {};
  post({ fatal: { code, message: (err as Error).message, ...option } });
}
