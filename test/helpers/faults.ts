// Real write faults for the CLI, meaningful when the tests run as root (as CI does): permission bits do
// not stop root, so these use places the kernel refuses: a read-only or full tmpfs mounted in a private
// mount namespace (gone with the process), /sys (root cannot create files there), a file used as a
// directory, and RLIMIT_FSIZE (writes past the limit fail with EFBIG, as on a full disk).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Whether this machine lets a test mount a tmpfs in a private mount namespace (unshare(1) and CAP_SYS_ADMIN). */
export const CAN_MOUNT: boolean = (() => {
  if (process.env.DIGITKIT_TEST_NO_MOUNT) return false; // to exercise the fallbacks
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-mount-probe-'));
  try {
    const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro,size=16k none "$0"', dir]);
    return r.status === 0;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

/** A command prefix (runCli's `wrap`) that runs the CLI with `dir` (which must exist) as a fresh tmpfs. */
export function onTmpfs(dir: string, o: { readOnly?: boolean; sizeKb?: number } = {}): string[] {
  const options = `${o.readOnly ? 'ro' : 'rw'},size=${o.sizeKb ?? 64}k`;
  return ['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o ${options} none "$0" && exec "$@"`, dir];
}

/** A command prefix that runs the CLI with files limited to `kib` KiB (EFBIG past it; SIGXFSZ ignored). */
export function fileSizeLimit(kib: number): string[] {
  return ['bash', '-c', `trap '' XFSZ; ulimit -f ${kib} && exec "$@"`, 'bash'];
}

/**
 * A read-only location for outputs, as a directory path and the runCli `wrap` that makes it so: a
 * read-only tmpfs when mounts are allowed, else a path under /sys (no file can be created there, not
 * even by root). `reason` matches the words the CLI gives for either.
 */
export function readOnlyPlace(scratch: string): { dir: string; wrap: string[]; reason: RegExp } {
  if (CAN_MOUNT) {
    const dir = path.join(scratch, 'read-only');
    fs.mkdirSync(dir, { recursive: true });
    return { dir, wrap: onTmpfs(dir, { readOnly: true }), reason: /read-only file system \(EROFS\)/ };
  }
  return {
    dir: `/sys/digitkit-test-${process.pid}`,
    wrap: [],
    reason: /(read-only file system \(EROFS\)|permission denied \(EACCES\)|operation not permitted \(EPERM\))/,
  };
}
