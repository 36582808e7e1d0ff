/**
 * Atomic file replacement: write beside the target under a temporary name, fsync, then rename.
 * A crash, an error or Ctrl-C at any point leaves either the old file or the new one, never a mix.
 * Temporary files still open when the process exits are removed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DigitkitError, ExitCode } from '../errors.js';

// node:crypto (and the streams it loads) only when a temporary name is made: `digitkit predict`'s one
// bundled file (dist/cli/hot.js) holds this module, and its cold start does not pay for it.
const require = createRequire(import.meta.url);
const randomBytes = (n: number): Buffer => (require('node:crypto') as typeof import('node:crypto')).randomBytes(n);

const pending = new Set<string>();
let hooked = false;

function trackTemp(p: string): void {
  pending.add(p);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of pending) {
        try {
          fs.unlinkSync(f);
        } catch {
          /* already gone */
        }
      }
    });
  }
}

/** A fresh temporary path in the same directory as `target` (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write `data` to `file` and flush it to disk before returning (what a rename may then publish). */
export async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** What the errno codes an output can fail with mean, in words. */
const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system or process limit',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EBUSY: 'device or resource busy',
  EXDEV: 'not on the same file system',
};

/** A file-system error as a reason in words with its code ("read-only file system (EROFS)"). */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return err instanceof Error ? err.message : String(err);
  return FS_REASONS[code] ? `${FS_REASONS[code]} (${code})` : code;
}

/**
 * An output that could not be written (exit 2: the path given is unusable). `reason` is the errno
 * code; the message says it in words: "models/m.json: cannot write: read-only file system (EROFS)".
 */
export class WriteError extends DigitkitError {
  /** The reason in words, for callers that word their own message. */
  readonly why: string;
  constructor(
    readonly file: string,
    readonly reason: string,
    why?: string,
  ) {
    const words = why ?? fsReason({ code: reason });
    super(ExitCode.usage, `${file}: cannot write: ${words}`);
    this.name = 'WriteError';
    this.why = words;
  }
}

const reasonOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * `mkdir -p`, one level at a time. Not fs.mkdir({recursive}): on a read-only file system that reports
 * ENOENT instead of EROFS, and on Linux it spins forever for a path under /proc or /sys (ENOENT for
 * the child, EEXIST for the parent). Errors are the first level's own (EROFS, EACCES, ENOTDIR...).
 */
export async function makeDirs(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const { root } = path.parse(abs);
  const parts = abs.slice(root.length).split(path.sep).filter(Boolean);
  for (let k = 1; k <= parts.length; k++) {
    const p = path.join(root, ...parts.slice(0, k));
    try {
      await fsp.mkdir(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await fsp.stat(p)).isDirectory())
        throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
    }
  }
}

/** A path's stat, or null when it does not exist (or a part of it is a file: the walk up finds which). */
const statOrNull = (p: string) =>
  fsp.stat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });

/**
 * Check, before any work starts, that `target` can be written: an output file (`kind` "file", written
 * by replacing it atomically) or a directory that files go into ("dir", created if missing). Refuses a
 * directory where a file goes (and anything but a regular file: rename would replace a device node),
 * a file where a directory goes, a path through a file, and a location the process cannot create
 * files in: a probe file is created and removed in the nearest directory that exists, so read-only
 * file systems and unwritable directories are found even for root. Throws WriteError (exit 2).
 */
export async function checkOutput(target: string, kind: 'file' | 'dir' = 'file'): Promise<void> {
  const abs = path.resolve(target);
  let dir = abs;
  try {
    const st = await statOrNull(abs);
    if (st && kind === 'file' && st.isDirectory()) throw new WriteError(target, 'EISDIR');
    if (st && kind === 'file' && !st.isFile())
      throw new WriteError(target, 'EEXIST', 'exists and is not a regular file');
    if (st && kind === 'dir' && !st.isDirectory())
      throw new WriteError(target, 'ENOTDIR', 'exists and is not a directory');
    if (!st || kind === 'file') dir = path.dirname(abs);
    // The nearest ancestor that exists is where the missing directories (if any) would be created.
    for (let up = await statOrNull(dir); !up; up = await statOrNull(dir)) dir = path.dirname(dir);
    if (!(await fsp.stat(dir)).isDirectory())
      throw new WriteError(target, 'ENOTDIR', `${dir} is a file, not a directory`);
  } catch (err) {
    if (err instanceof WriteError) throw err;
    throw new WriteError(target, reasonOf(err), fsReason(err));
  }
  const probe = tempPathFor(path.join(dir, '.digitkit-probe'));
  trackTemp(probe);
  try {
    await (await fsp.open(probe, 'wx')).close();
  } catch (err) {
    throw new WriteError(target, reasonOf(err), fsReason(err));
  } finally {
    await fsp.rm(probe, { force: true });
    pending.delete(probe);
  }
}

/**
 * Write `data` to `target` atomically, creating the parent directory if needed. A failure is a
 * WriteError naming the target; the old file, if any, is left as it was.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await makeDirs(path.dirname(target));
    trackTemp(tmp);
    await writeSynced(tmp, data);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new WriteError(target, reasonOf(err), fsReason(err));
  } finally {
    pending.delete(tmp);
  }
}

/**
 * For streamed writes (downloads): reserve a temp path beside `target`. Call `commit()` to rename
 * it into place once its contents are verified, or `discard()` on any failure.
 */
export async function openAtomic(
  target: string,
): Promise<{ tmp: string; commit: () => Promise<void>; discard: () => Promise<void> }> {
  await makeDirs(path.dirname(target));
  const tmp = tempPathFor(target);
  trackTemp(tmp);
  return {
    tmp,
    async commit() {
      await fsp.rename(tmp, target);
      pending.delete(tmp);
    },
    async discard() {
      await fsp.rm(tmp, { force: true });
      pending.delete(tmp);
    },
  };
}

/**
 * Write a set of files into `dir` as one unit: every file is written and fsynced in a staging
 * directory beside `dir` first (where a full disk or any other failure happens), then moved in by
 * rename. A new or empty `dir` is the staging directory renamed into place, one atomic step; an
 * existing one gets each file renamed over its old version (each step atomic, no new data written),
 * `stale` names this set does not have are removed (an earlier run's files that no longer belong),
 * and other files are kept. A failure is a WriteError naming `dir`, leaving it as it was.
 */
export async function writeFilesAtomic(
  dir: string,
  files: Map<string, string | Uint8Array>,
  stale: string[] = [],
): Promise<void> {
  const abs = path.resolve(dir);
  const stage = tempPathFor(abs);
  // Ctrl-C (which may exit at once) or a crash mid-write: the staging directory goes with the process.
  const removeStage = () => fs.rmSync(stage, { recursive: true, force: true });
  process.on('exit', removeStage);
  try {
    await makeDirs(path.dirname(abs));
    await fsp.mkdir(stage);
    for (const [name, data] of files) await writeSynced(path.join(stage, name), data);
    // rename(2) replaces an empty directory; if `dir` has files, go file by file.
    const whole = await fsp.rename(stage, abs).then(
      () => true,
      () => false,
    );
    if (!whole) {
      await makeDirs(abs);
      for (const name of files.keys()) await fsp.rename(path.join(stage, name), path.join(abs, name));
      for (const name of stale) if (!files.has(name)) await fsp.rm(path.join(abs, name), { force: true });
    }
  } catch (err) {
    throw new WriteError(dir, reasonOf(err), fsReason(err));
  } finally {
    removeStage();
    process.off('exit', removeStage);
  }
}
