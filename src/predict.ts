/**
 * `digitkit predict` as a library: image files (or bytes) -> the core's preprocessing -> the core's
 * forward pass. Returns data; a bad image is a per-file error, never a reason to stop the others.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { classifyPixels, preprocess, type Model } from './core/index.js';
import { DigitkitError, ExitCode, InterruptedError, invalidInput, usageError } from './errors.js';
import { decodeImage, encodeInputPng, IMAGE_EXTENSIONS, imageRejected } from './node/image.js';
import { writeFileAtomic } from './node/atomic.js';
import { readModelFile } from './node/model-file.js';

export type InvertMode = 'auto' | 'yes' | 'no';

export interface TopEntry {
  digit: number;
  p: number;
}

export interface Prediction {
  /** As given on the command line (a directory's files joined to it); `-` for stdin. */
  file: string;
  digit: number | null;
  probability: number | null;
  top: TopEntry[];
  /** Why this file was rejected (the file itself is named in `file`). */
  error?: string;
  /** Whether the image was read as dark ink on a light background. */
  inverted?: boolean;
  /** Where the 28x28 input was written (--save-preprocessed). */
  preprocessed?: string;
}

export interface ImageClassification {
  digit: number;
  probability: number;
  top: TopEntry[];
  inverted: boolean;
  /** The 28x28 input the model saw (ink = 255 on 0). */
  pixels: Uint8ClampedArray;
}

/** Images larger than this are refused before being read (no compressed image under the pixel limit is this big). */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

const INVERT: Record<InvertMode, boolean | undefined> = { auto: undefined, yes: true, no: false };

/** The `k` most probable classes, most probable first. */
export function topK(model: Model, probs: ArrayLike<number>, k: number): TopEntry[] {
  return Array.from(probs, (p, i) => ({ digit: Number(model.labels[i]), p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

/**
 * Classify one encoded image (PNG, JPEG, ...). `name` names it in errors. A blank image is rejected
 * ("no digit found") rather than given a confident guess.
 */
export async function classifyImage(bytes: Uint8Array, model: Model, opts: { name?: string; invert?: InvertMode; top?: number } = {}): Promise<ImageClassification> {
  const name = opts.name ?? 'image';
  const img = await decodeImage(bytes, name);
  const pre = preprocess(img.gray, img.width, img.height, INVERT[opts.invert ?? 'auto']);
  if (!pre.found) {
    const forced = opts.invert && opts.invert !== 'auto' ? `, with --invert ${opts.invert}` : '';
    throw imageRejected(name, `no digit found (no ink stands out from the background${forced})`);
  }
  const c = classifyPixels(model, pre.pixels);
  const top = topK(model, c.probs, opts.top ?? 3);
  return { digit: top[0].digit, probability: c.probability, top, inverted: pre.inverted, pixels: pre.pixels };
}

export interface PredictOptions {
  /** Files, directories, or `-` (one image from `readStdin`). */
  inputs: string[];
  /** Model file path (contract: digitkit-mlp v1, 28x28 input). */
  model: string;
  top?: number;
  invert?: InvertMode;
  /** Write each file's 28x28 input here as `<name>.28x28.png`. */
  savePreprocessed?: string;
  readStdin?: () => Promise<Buffer>;
  /** Files in flight at once (reads and sharp decodes overlap; the forward pass is synchronous). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface PredictReport {
  model: string;
  results: Prediction[];
  /** How many inputs were rejected (exit 5 when > 0). */
  rejected: number;
}

type Job = { file: string; error?: string; stdin?: boolean };

const isImageName = (name: string) => !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  if (code === 'ENOTDIR') return 'a parent in the path is not a directory (ENOTDIR)';
  return `cannot read (${code ?? (err as Error).message})`;
}

/** Expand the command line into files: directories become their image files, sorted by name. */
async function expandInputs(inputs: string[]): Promise<Job[]> {
  if (inputs.filter((i) => i === '-').length > 1) throw usageError('`-` (stdin) can be given only once');
  const jobs: Job[] = [];
  for (const input of inputs) {
    if (input === '-') {
      jobs.push({ file: '-', stdin: true });
      continue;
    }
    try {
      const st = await fsp.stat(input);
      if (!st.isDirectory()) {
        jobs.push({ file: input });
        continue;
      }
      const names = (await fsp.readdir(input, { withFileTypes: true })).filter((d) => !d.isDirectory() && isImageName(d.name)).map((d) => d.name).sort();
      if (names.length === 0) jobs.push({ file: input, error: `directory has no image files (${IMAGE_EXTENSIONS.join(' ')})` });
      for (const n of names) jobs.push({ file: path.join(input, n) });
    } catch (err) {
      jobs.push({ file: input, error: describeFsError(err) });
    }
  }
  return jobs;
}

async function readInput(job: Job, readStdin?: () => Promise<Buffer>): Promise<Buffer> {
  if (job.stdin) {
    if (!readStdin) throw imageRejected('-', 'no standard input to read');
    return readStdin();
  }
  try {
    // stat before opening: opening a FIFO would wait for a writer (pipe images in with `-`).
    const st = await fsp.stat(job.file);
    if (!st.isFile()) throw imageRejected(job.file, 'not a regular file (use - to read a pipe)');
    if (st.size > MAX_IMAGE_FILE_BYTES) throw imageRejected(job.file, `${st.size} bytes, larger than the ${MAX_IMAGE_FILE_BYTES}-byte limit for an image`);
    return await fsp.readFile(job.file);
  } catch (err) {
    if (err instanceof DigitkitError) throw err;
    throw imageRejected(job.file, describeFsError(err));
  }
}

/** `<name>.28x28.png`, made unique within one run (a/1.png and b/1.png both classify). */
function preprocessedName(file: string, taken: Set<string>): string {
  const base = file === '-' ? 'stdin' : path.basename(file, path.extname(file));
  let name = `${base}.28x28.png`;
  for (let k = 2; taken.has(name); k++) name = `${base}-${k}.28x28.png`;
  taken.add(name);
  return name;
}

/** Classify every input. Throws only for problems with the run itself (model: exit 3, usage: exit 2). */
export async function runPredict(opts: PredictOptions): Promise<PredictReport> {
  const { model } = await readModelFile(opts.model);
  if (model.input.width !== 28 || model.input.height !== 28) {
    throw invalidInput(`${opts.model}: input is ${model.input.width}x${model.input.height}, predict needs a 28x28 model`);
  }
  const jobs = await expandInputs(opts.inputs);
  const saveDir = opts.savePreprocessed;
  const names = new Set<string>();
  const saveAs = jobs.map((j) => (saveDir && !j.error ? path.join(saveDir, preprocessedName(j.file, names)) : undefined));
  if (saveDir) {
    try {
      await fsp.mkdir(saveDir, { recursive: true });
    } catch (err) {
      throw usageError(`--save-preprocessed ${saveDir}: cannot create the directory (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  }

  const results: Prediction[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (opts.signal?.aborted) throw new InterruptedError();
      const i = next++;
      const job = jobs[i];
      const r: Prediction = { file: job.file, digit: null, probability: null, top: [] };
      try {
        if (job.error) throw imageRejected(job.file, job.error);
        const c = await classifyImage(await readInput(job, opts.readStdin), model, { name: job.file, invert: opts.invert, top: opts.top });
        Object.assign(r, { digit: c.digit, probability: c.probability, top: c.top, inverted: c.inverted });
        if (saveAs[i]) {
          await writeFileAtomic(saveAs[i]!, await encodeInputPng(c.pixels)).catch((err: NodeJS.ErrnoException) => {
            throw usageError(`--save-preprocessed ${saveDir}: cannot write ${saveAs[i]} (${err.code ?? err.message})`);
          });
          r.preprocessed = saveAs[i];
        }
      } catch (err) {
        if (!(err instanceof DigitkitError) || err.code !== ExitCode.imageRejected) throw err;
        // The message starts with the file name; `file` already says which.
        r.error = err.message.startsWith(`${job.file}: `) ? err.message.slice(job.file.length + 2) : err.message;
      }
      results[i] = r;
      opts.onProgress?.(++done, jobs.length);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 8, jobs.length));
  await Promise.all(Array.from({ length: n }, worker));
  return { model: opts.model, results, rejected: results.filter((r) => r.error !== undefined).length };
}
