/**
 * A file that one process at a time may write over a long run (train's checkpoint): `<file>.lock`,
 * created exclusively, holding the owner's pid. A second run refuses at once instead of taking turns
 * overwriting the first one's checkpoint. A lock whose process is gone (killed with SIGKILL, a crash)
 * is taken over; the lock is removed when the run ends, also on Ctrl-C and on exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DigitkitError, ExitCode } from '../errors.js';
import { WriteError } from './atomic.js';

const held = new Set<string>();
let hooked = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(lock: string): number | null {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Take `<file>.lock`, or throw (exit 4, the file is unavailable while another run holds it) naming the
 * file, the other process and `advice`. Returns the release function.
 */
export function lockFile(file: string, advice: string): () => void {
  const lock = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(path.dirname(file) || '.', { recursive: true });
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new WriteError(file, code ?? (err as Error).message);
      const pid = ownerOf(lock);
      if (attempt === 0 && (pid === null || pid === process.pid || !alive(pid))) {
        fs.rmSync(lock, { force: true }); // left by a run that no longer exists
        continue;
      }
      throw new DigitkitError(
        ExitCode.unavailable,
        `${file} is in use by another run${pid ? ` (pid ${pid})` : ''} (${lock} exists); ${advice}`,
      );
    }
  }
  held.add(lock);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const l of held) fs.rmSync(l, { force: true });
    });
  }
  return () => {
    if (held.delete(lock)) fs.rmSync(lock, { force: true });
  };
}
