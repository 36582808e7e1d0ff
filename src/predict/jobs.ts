/**
 * The files of one `predict` run and how each becomes a Prediction: used on the main thread and,
 * for large runs, inside worker threads (threads.ts), which run the same `predictJob`.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DigitkitError, ExitCode, InterruptedError, OptionError, usageError } from '../errors.js';
import { encodeInputPng, IMAGE_EXTENSIONS, imageRejected } from '../node/image.js';
import { describeReadError, readInputFile, type InputFileRules } from '../node/input-file.js';
import { classifyImage, type InvertMode, type Model, type TopEntry } from './classify.js';

export interface Prediction {
  /** As given on the command line (a directory's files joined to it); `-` for stdin. */
  file: string;
  /** The predicted class: its name (the model's label, "7" for MNIST's 7) and index; null when rejected. */
  label: string | null;
  index: number | null;
  /** CSV rows (vector models): the row's line in the file. */
  line?: number;
  probability: number | null;
  top: TopEntry[];
  /** When a confidence threshold applies: whether the top probability is below it ("not sure"). */
  unsure?: boolean;
  /** The threshold applied (--min-confidence, or the model's meta.minConfidence). */
  minConfidence?: number;
  /** Why this file was rejected (the file itself is named in `file`). */
  error?: string;
  /** Whether the image was read as dark ink on a light background. */
  inverted?: boolean;
  /** Where the model's input was written (--save-preprocessed). */
  preprocessed?: string;
}

export interface Job {
  file: string;
  /** Known before reading: the path is missing, a directory without images, ... */
  error?: string;
  stdin?: boolean;
  /** --save-preprocessed target. */
  saveAs?: string;
}

export interface JobSettings {
  invert?: InvertMode;
  top?: number;
  /** For error messages about the savePreprocessed directory. */
  saveDir?: string;
  readStdin?: () => Promise<Buffer>;
}

/** Images larger than this are refused before being read (no compressed image under the pixel limit is this big). */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

const isImageName = (name: string) =>
  !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

/**
 * Expand the command line into files: directories become their image files, sorted by name. A
 * directory's other (visible, regular) files are skipped, and listed in `skipped` when given.
 */
export async function expandInputs(inputs: string[], skipped?: string[]): Promise<Job[]> {
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
      const entries = await fsp.readdir(input, { withFileTypes: true });
      const names = entries
        .filter((d) => !d.isDirectory() && isImageName(d.name))
        .map((d) => d.name)
        .sort();
      skipped?.push(
        ...entries
          .filter((d) => d.isFile() && !d.name.startsWith('.') && !isImageName(d.name))
          .map((d) => path.join(input, d.name))
          .sort(),
      );
      if (names.length === 0)
        jobs.push({ file: input, error: `directory has no image files (${IMAGE_EXTENSIONS.join(' ')})` });
      for (const n of names) jobs.push({ file: path.join(input, n) });
    } catch (err) {
      jobs.push({ file: input, error: describeReadError(err) });
    }
  }
  return jobs;
}

/**
 * `DIR/<name>.<size>.png` (size "28x28" for MNIST's models) for every readable job, unique within the run
 * (a/1.png and b/1.png both save).
 */
export function assignSaveNames(jobs: Job[], dir: string, size = '28x28'): void {
  const taken = new Set<string>();
  for (const job of jobs) {
    if (job.error) continue;
    const base = job.stdin ? 'stdin' : path.basename(job.file, path.extname(job.file));
    let name = `${base}.${size}.png`;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}.${size}.png`;
    taken.add(name);
    job.saveAs = path.join(dir, name);
  }
}

/** How predict reads an image file: any problem rejects that image (exit 5), not the run. */
const IMAGE_FILE: InputFileRules = {
  kind: 'image',
  limit: MAX_IMAGE_FILE_BYTES,
  notFile: 'not a regular file (use - to read a pipe)',
  error: (message) => new DigitkitError(ExitCode.imageRejected, message),
};

/** Standard input past MAX_IMAGE_FILE_BYTES: refused as an image file that large is (exit 5). */
export const stdinTooLarge = () =>
  imageRejected('-', `more than ${MAX_IMAGE_FILE_BYTES} bytes on standard input, the limit for an image file`);

export async function readInput(job: Job, readStdin?: () => Promise<Buffer>): Promise<Buffer> {
  if (job.stdin) {
    if (!readStdin) throw imageRejected('-', 'no standard input to read');
    const bytes = await readStdin();
    if (bytes.length > MAX_IMAGE_FILE_BYTES) throw stdinTooLarge();
    return bytes;
  }
  return readInputFile(job.file, IMAGE_FILE);
}

/** One file's prediction; a rejected image is a result with `error`, anything else is thrown. */
export async function predictJob(job: Job, model: Model, s: JobSettings): Promise<Prediction> {
  const r: Prediction = { file: job.file, label: null, index: null, probability: null, top: [] };
  try {
    if (job.error) throw imageRejected(job.file, job.error);
    const c = await classifyImage(await readInput(job, s.readStdin), model, {
      name: job.file,
      invert: s.invert,
      top: s.top,
    });
    Object.assign(r, { label: c.label, index: c.index, probability: c.probability, top: c.top, inverted: c.inverted });
    if (job.saveAs) {
      // Loaded here: a run without --save-preprocessed never needs it (nor the node:crypto it loads).
      const { writeFileAtomic, WriteError } = await import('../node/atomic.js');
      const inp = model.input as { width: number; height: number; channels: number };
      const png = await encodeInputPng(c.pixels, inp.width, inp.height, inp.channels);
      await writeFileAtomic(job.saveAs, png).catch((err: unknown) => {
        if (!(err instanceof WriteError)) throw err;
        throw new OptionError('savePreprocessed', `${s.saveDir}: cannot write ${job.saveAs}: ${err.why}`);
      });
      r.preprocessed = job.saveAs;
    }
  } catch (err) {
    if (!(err instanceof DigitkitError) || err.code !== ExitCode.imageRejected) throw err;
    // The message starts with the file name; `file` already says which.
    r.error = err.message.startsWith(`${job.file}: `) ? err.message.slice(job.file.length + 2) : err.message;
  }
  return r;
}

/**
 * Run `count` jobs, `inFlight` at a time (reads and decodes overlap; the forward pass is synchronous),
 * taking the next index from `take()` so several threads can share one list.
 */
export async function runJobs(
  take: () => number,
  count: number,
  inFlight: number,
  run: (i: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const lane = async () => {
    for (let i = take(); i < count; i = take()) {
      if (signal?.aborted) throw new InterruptedError();
      await run(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, count)) }, lane));
}
