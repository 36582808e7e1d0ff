/**
 * Atomic file replacement: write beside the target under a temporary name, fsync, then rename.
 * A crash, an error or Ctrl-C at any point leaves either the old file or the new one, never a mix.
 * Temporary files still open when the process exits are removed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DigitkitError, ExitCode } from '../errors.js';

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

/** An output file that could not be written (exit 2: the path given is unusable); `reason` is the errno code. */
export class WriteError extends DigitkitError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(ExitCode.usage, `${file}: cannot write (${reason})`);
    this.name = 'WriteError';
  }
}

const reasonOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * Write `data` to `target` atomically, creating the parent directory if needed. A failure is a
 * WriteError naming the target; the old file, if any, is left as it was.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await fsp.mkdir(path.dirname(target) || '.', { recursive: true });
    trackTemp(tmp);
    await writeSynced(tmp, data);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new WriteError(target, reasonOf(err));
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
  await fsp.mkdir(path.dirname(target) || '.', { recursive: true });
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
