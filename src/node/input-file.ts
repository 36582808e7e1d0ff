/**
 * Reading an input file (a model, fixtures, an image, a checkpoint, an IDX file) before parsing it:
 * a regular file, within its size limit, read whole. Every problem is one error naming the file, with
 * one wording for each errno whichever command reads it; its exit code is the caller's choice (3 for
 * an invalid input, 5 for an image `predict` rejects while it classifies the others).
 */
import fs from 'node:fs';
import { DigitkitError, invalidInput } from '../errors.js';

export interface InputFileRules {
  /** Names the kind of file in the size-limit message: "model", "fixtures", "image". */
  kind: string;
  /** Files larger than this many bytes are refused before being read (default: no limit). */
  limit?: number;
  /** What to say when there is no such file (default "no such file or directory"). */
  missing?: string;
  /** What to say when the path is a directory, a pipe... (default "not a regular file"). */
  notFile?: string;
  /**
   * For a format whose header says how long the file is (IDX): that length from the file's first bytes
   * (up to 1,024 of them), or null if they cannot say. A file of another size is refused with only its
   * header read.
   */
  implied?: (head: Uint8Array) => number | null;
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

const open = (file: string) =>
  new Promise<number>((resolve, reject) =>
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused once fstat says what it is).
    fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
const fstat = (fd: number) =>
  new Promise<fs.Stats>((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
const read = (fd: number, buf: Buffer, at: number) =>
  new Promise<number>((resolve, reject) =>
    fs.read(fd, buf, at, buf.length - at, at, (err, n) => (err ? reject(err) : resolve(n))),
  );
const close = (fd: number) => new Promise<void>((resolve) => fs.close(fd, () => resolve()));

/**
 * The bytes of `file`, or the rules' error naming it and the problem. Only a regular file (links
 * followed) is read, and never more than the size it had when opened: a FIFO, a device such as
 * /dev/zero, a directory is refused at once, also when the path is swapped for one after the check.
 */
export async function readInputFile(file: string, rules: InputFileRules): Promise<Buffer> {
  const fail = (reason: string) => (rules.error ?? invalidInput)(`${file}: ${reason}`);
  const notFile = () => fail(rules.notFile ?? 'not a regular file');
  const tooLarge = (size: number) =>
    rules.limit !== undefined && size > rules.limit
      ? fail(`${size} bytes, larger than the ${rules.limit}-byte limit for ${article(rules.kind)} file`)
      : null;
  let st: fs.Stats;
  try {
    // stat before opening: a device is never even opened.
    st = await stat(file);
  } catch (err) {
    throw fail(describeReadError(err, rules.missing));
  }
  if (!st.isFile()) throw notFile();
  const big = tooLarge(st.size);
  if (big) throw big;
  let fd: number;
  try {
    fd = await open(file);
  } catch (err) {
    throw fail(describeReadError(err, rules.missing));
  }
  try {
    // What was opened is what counts (the path may have been replaced since the stat).
    const opened = await fstat(fd);
    if (!opened.isFile()) throw notFile();
    const over = tooLarge(opened.size);
    if (over) throw over;
    const buf = Buffer.allocUnsafe(opened.size);
    let got = 0;
    if (rules.implied) {
      const head = Math.min(buf.length, 1024);
      for (let n = 1; got < head && n > 0; got += n) n = await read(fd, buf.subarray(0, head), got);
      const implied = rules.implied(buf.subarray(0, got));
      if (implied !== null && implied !== opened.size)
        throw fail(`header promises ${implied} bytes, file has ${opened.size}`);
    }
    for (let n = 1; got < buf.length && n > 0; got += n) n = await read(fd, buf, got);
    return got < buf.length ? buf.subarray(0, got) : buf;
  } catch (err) {
    if (err instanceof DigitkitError) throw err;
    throw fail(describeReadError(err, rules.missing));
  } finally {
    await close(fd);
  }
}

/** readInputFile, synchronously (for callers that are synchronous): the same rules and messages. */
export function readInputFileSync(file: string, rules: InputFileRules): Buffer {
  const fail = (reason: string) => (rules.error ?? invalidInput)(`${file}: ${reason}`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw fail(describeReadError(err, rules.missing));
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail(rules.notFile ?? 'not a regular file');
    if (rules.limit !== undefined && st.size > rules.limit)
      throw fail(`${st.size} bytes, larger than the ${rules.limit}-byte limit for ${article(rules.kind)} file`);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    for (let n = 1; got < buf.length && n > 0; got += n) n = fs.readSync(fd, buf, got, buf.length - got, got);
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof DigitkitError) throw err;
    throw fail(describeReadError(err, rules.missing));
  } finally {
    fs.closeSync(fd);
  }
}

/** How deep a JSON input file may nest arrays and objects: the contracts need 4, a meta a few more. */
export const MAX_JSON_DEPTH = 64;
/** How many arrays and objects a JSON input file may hold (each costs V8 tens of bytes). */
export const MAX_JSON_CONTAINERS = 1_000_000;

/**
 * Refuse JSON nested deeper than MAX_JSON_DEPTH or holding more than MAX_JSON_CONTAINERS arrays and
 * objects, before JSON.parse builds anything: one pass over the bytes, no allocation (a file of nested
 * brackets just under a size cap would otherwise exhaust the heap in JSON.parse, or the stack in the
 * code that walks the result). Only brackets outside strings count; whether it is valid JSON is
 * JSON.parse's to say. Exit 3 naming the file.
 */
export function checkJsonShape(json: Uint8Array | string, file: string): void {
  const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
  let depth = 0;
  let containers = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      // A string: skip to its closing quote, the first one not escaped by an odd run of backslashes
      // (UTF-8 continuation bytes are never ASCII). indexOf jumps over a model's base64 weights natively.
      const open = i;
      for (;;) {
        i = bytes.indexOf(0x22, i + 1);
        if (i < 0) return;
        let k = i - 1;
        while (k > open && bytes[k] === 0x5c) k--;
        if ((i - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH || ++containers > MAX_JSON_CONTAINERS) {
        let line = 1;
        for (let k = 0; k < i; k++) if (bytes[k] === 0x0a) line++;
        throw invalidInput(
          `${file}: ` +
            (depth > MAX_JSON_DEPTH
              ? `JSON nested deeper than ${MAX_JSON_DEPTH} levels`
              : `JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects`) +
            ` (at line ${line}, byte ${i}); refused before parsing`,
        );
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

const article = (word: string) => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);
