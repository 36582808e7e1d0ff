/**
/**
 * `digitkit predict` as a library: image files (or bytes) -> the core's preprocessing (as the model
 * says: digit centring or a plain resize, gray or RGB) -> the forward pass (digitkit/core-wasm: its
 * WebAssembly kernel where the runtime has wasm SIMD, else the portable core); for a vector model,
 * the rows of CSV files -> the core's forward pass over their feature values. Returns data; a bad image
 * is a per-file error, never a reason to stop the others.
 */
import os from 'node:os';
import { invalidInput, OptionError } from '../errors.js';
import { metaMinConfidence } from '../infer/confidence.js';
import { loadRawModel } from '../core-wasm/index.js';
import { readModelFile } from '../node/model-file.js';
import { defaultModel } from '../node/paths.js';
import type { InvertMode } from './classify.js';
import { assignSaveNames, expandInputs, predictJob, runJobs, type Prediction } from './jobs.js';

export { classifyImage, topK, type ImageClassification, type InvertMode, type TopEntry } from './classify.js';
export { readRows, type RowsInput } from './rows.js';
export { MAX_IMAGE_FILE_BYTES, type Prediction } from './jobs.js';

export interface PredictOptions {
  /** Files, directories, or `-` (one image from `readStdin`). */
  inputs: string[];
  /** Model file path (contract: digitkit-mlp, versions 1 and 2). Default: models/mnist-int8.json, or the
   * copy digitkit ships when the working directory has none. */
  model?: string;
  top?: number;
  /**
   * A result whose top probability is below this is "not sure" (`unsure: true`; counted in `unsure`).
   * Default: the model's meta.minConfidence when it carries one, else no threshold.
   */
  minConfidence?: number;
  invert?: InvertMode;
  /** Write each file's input as the model saw it here, as `<name>.<W>x<H>.png`. */
  savePreprocessed?: string;
  readStdin?: () => Promise<Buffer>;
  /** Worker threads; default: one per core (up to 4) for 64 files or more on 4+ cores, else none. */
  threads?: number;
  /** Files in flight at once per thread (reads and decodes overlap; the forward pass is synchronous). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface PredictReport {
  model: string;
  /** The model's class names (results name their class by `label` and `index` into these). */
  labels?: string[];
  /** What ran an image model's forward pass: the WebAssembly kernel, or the portable core (no wasm SIMD here). */
  engine?: 'wasm' | 'core';
  /** An image model's input size ("28x28"). */
  inputSize?: string;
  results: Prediction[];
  /** How many inputs were rejected (exit 5 when > 0). */
  rejected: number;
  /** The confidence threshold applied (the option, or the model's meta.minConfidence), if any. */
  minConfidence?: number;
  /** How many results were "not sure": their top probability below minConfidence (the CLI: exit 5 unless --allow-unsure). */
  unsure: number;
  /** Files in the directories given that are not images (by their extension): skipped, not classified. */
  skipped?: string[];
  /** Threads that classified: 1 (this one), or the worker threads' count. */
  threads: number;
}

/** Classify every input. Throws only for problems with the run itself (model: exit 3, usage: exit 2). */
export async function runPredict(opts: PredictOptions): Promise<PredictReport> {
  const m = opts.minConfidence;
  if (m !== undefined && !(m > 0 && m <= 1))
    throw new OptionError('minConfidence', `${m}: expected a probability in (0, 1]`);
  const modelPath = defaultModel(opts.model);
  const file = await readModelFile(modelPath);
  let threshold = m;
  try {
    threshold ??= metaMinConfidence(file.raw.meta);
  } catch (err) {
    if (err instanceof RangeError) throw invalidInput(`${modelPath}: ${err.message}`);
    throw err;
  }
  const report = { ...(await classifyAll(opts, modelPath, file)), labels: file.raw.labels };
  if (threshold === undefined) return report;
  let unsure = 0;
  for (const r of report.results)
    if (r.probability !== null) {
      r.unsure = r.probability < threshold;
      r.minConfidence = threshold;
      if (r.unsure) unsure++;
    }
  return { ...report, minConfidence: threshold, unsure };
}

async function classifyAll(
  opts: PredictOptions,
  modelPath: string,
  { model: coreModel, raw }: Awaited<ReturnType<typeof readModelFile>>,
): Promise<PredictReport> {
  const { input } = raw;
  const classes = raw.labels.length;
  if (opts.top !== undefined && !(Number.isInteger(opts.top) && opts.top >= 1 && opts.top <= classes))
    throw new OptionError('top', `${opts.top}: expected an integer from 1 to ${classes} (the model's classes)`);
  // Three classes listed by default, or all of a model's when it has fewer.
  opts = { ...opts, top: opts.top ?? Math.min(3, classes) };
  if (input.kind === 'vector') {
    if (opts.savePreprocessed)
      throw new OptionError('savePreprocessed', 'a vector model takes feature values, not images');
    const { predictRows } = await import('./rows.js');
    return predictRows({ ...opts, model: modelPath }, coreModel);
  }
  const model = loadRawModel(raw);
  const skipped: string[] = [];
  const jobs = await expandInputs(opts.inputs, skipped);
  const saveDir = opts.savePreprocessed;
  if (saveDir) {
    assignSaveNames(jobs, saveDir, `${input.width}x${input.height}`);
    // Checked (and created) before any image is read; loaded only here: predict's cold start does not pay for it.
    const { checkOutput, fsReason, makeDirs, WriteError } = await import('../node/atomic.js');
    try {
      await checkOutput(saveDir, 'dir');
      await makeDirs(saveDir);
    } catch (err) {
      const why = err instanceof WriteError ? err.why : fsReason(err);
      throw new OptionError('savePreprocessed', `${saveDir}: cannot write: ${why}`);
    }
  }

  const results: Prediction[] = new Array(jobs.length);
  let done = 0;
  const settle = (i: number, r: Prediction) => {
    results[i] = r;
    opts.onProgress?.(++done, jobs.length);
  };
  const settings = { invert: opts.invert, top: opts.top, saveDir };
  // Worker threads pay ~100 ms each to start (and warm up cold): worth it for many files on 4+ cores.
  // On 2 cores the single thread was faster (measured: bench/predict.bench.mjs).
  const cores = os.availableParallelism();
  const threads = opts.threads ?? (jobs.length >= 64 && cores >= 4 ? Math.min(cores, 4) : 1);
  // Worker threads (and node:worker_threads) are loaded only for a run that uses them.
  const pool = threads > 1 && !jobs.some((j) => j.stdin) ? await import('./threads.js') : undefined;
  const inWorkers = Boolean(pool?.workersAvailable());
  if (inWorkers) {
    await pool!.runInWorkers(
      threads,
      { jobs, model: modelPath, settings, inFlight: opts.concurrency ?? 4 },
      settle,
      opts.signal,
    );
  } else {
    let next = 0;
    await runJobs(
      () => next++,
      jobs.length,
      opts.concurrency ?? 8,
      async (i) => settle(i, await predictJob(jobs[i], model, { ...settings, readStdin: opts.readStdin })),
      opts.signal,
    );
  }
  return {
    model: modelPath,
    engine: model.engine,
    inputSize: `${input.width}x${input.height}`,
    results,
    rejected: results.filter((r) => r.error !== undefined).length,
    threads: inWorkers ? threads : 1,
    unsure: 0,
    skipped,
  };
}
