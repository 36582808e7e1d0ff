/**
 * Reading an input file (a model, fixtures, an image, a checkpoint, an IDX file) before parsing it:
 * a regular file, within its size limit, read whole. Every problem is one error naming the file, with
 * one wording for each errno whichever command reads it; its exit code is the caller's choice (3 for
 * an invalid input, 5 for an image `predict` rejects while it classifies the others).
 */
import fs from 'node:fs';
import { invalidInput, type DigitkitError } from '../errors.js';

export interface InputFileRules {
  /** Names the kind of file in the size-limit message: "model", "fixtures", "image". */
  kind: string;
  /** Files larger than this many bytes are refused before being read (default: no limit). */
  limit?: number;
  /** What to say when there is no such file (default "no such file or directory"). */
  missing?: string;
  /** What to say when the path is a directory, a pipe... (default "not a regular file"). */
  notFile?: string;
  /** Builds the error from "<file>: <reason>" (default: invalid input, exit 3). */
  error?: (message: string) => DigitkitError;
}

/** Why a path cannot be read, from its errno code, in the words every command uses. */
export function describeReadError(err: unknown, missing = 'no such file or directory'): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  if (code === 'ENOTDIR') return 'a parent in the path is not a directory (ENOTDIR)';
  return `cannot read (${code ?? (err as Error).message})`;
}

// fs's callback API, wrapped by hand: per small file it takes far less CPU than fs/promises, whose
// FileHandle costs a promise round trip per open, stat, read and close (about 0.2 ms an image in a
// `predict` directory run, bench/predict.bench.mjs); node:util would load modules predict never uses.
const stat = (file: string) =>
  new Promise<fs.Stats>((resolve, reject) => fs.stat(file, (err, st) => (err ? reject(err) : resolve(st))));
const readFile = (file: string) =>
  new Promise<Buffer>((resolve, reject) => fs.readFile(file, (err, data) => (err ? reject(err) : resolve(data))));

/** The bytes of `file`, or the rules' error naming it and the problem. */
export async function readInputFile(file: string, rules: InputFileRules): Promise<Buffer> {
  const fail = (reason: string) => (rules.error ?? invalidInput)(`${file}: ${reason}`);
  let st: fs.Stats;
  try {
    // stat before opening: opening a FIFO would wait for a writer.
    st = await stat(file);
  } catch (err) {
    throw fail(describeReadError(err, rules.missing));
  }
  if (!st.isFile()) throw fail(rules.notFile ?? 'not a regular file');
  if (rules.limit !== undefined && st.size > rules.limit)
    throw fail(`${st.size} bytes, larger than the ${rules.limit}-byte limit for ${article(rules.kind)} file`);
  try {
    return await readFile(file);
  } catch (err) {
    throw fail(describeReadError(err, rules.missing));
  }
}

const article = (word: string) => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);
