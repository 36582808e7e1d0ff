/**
 * Streaming transfer of one MNIST file into a temporary file: from a local copy, or from an HTTP(S)
 * URL of its gzip (redirects followed, gunzipped on the fly). Bytes are hashed and counted as they
 * pass; a stream that grows past the expected size is stopped at once, so nothing is ever buffered
 * whole. Every way a source can fail becomes a SourceError whose message is the reason shown to the user.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { DigitkitError, ExitCode } from '../errors.js';
import { fsReason } from '../node/atomic.js';

export interface ExpectedFile {
  name: string;
  sha256: string;
  bytes: number;
}

/** Why one source could not provide a file. `wrongBytes`: it delivered content, and the content was wrong. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly wrongBytes = false,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** Called with the number of raw (uncompressed) bytes written so far. */
  onBytes?: (bytes: number) => void;
}

export interface FetchOptions extends TransferOptions {
  /** Give up when no byte arrives for this long (connect, headers, or mid-body). */
  timeoutMs: number;
  maxRedirects?: number;
}

const READ_CHUNK = 1 << 20;

/** Counts (and optionally hashes) what flows through; errors as soon as the count passes `limit`. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash: Hash | null;
  constructor(
    private readonly limit: number,
    private readonly overLimit: (bytes: number) => Error,
    hashing: boolean,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super();
    this.hash = hashing ? createHash('sha256') : null;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(this.overLimit(this.bytes));
    this.hash?.update(chunk);
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
  digest(): string {
    return this.hash!.digest('hex');
  }
}

/** SHA-256 and size of a file on disk, streamed. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const meter = new Meter(Number.MAX_SAFE_INTEGER, () => new Error('unreachable'), true);
  meter.resume(); // nothing downstream: let the data flow through and be dropped
  await pipeline(fs.createReadStream(file, { highWaterMark: READ_CHUNK }), meter, { signal });
  return { sha256: meter.digest(), bytes: meter.bytes };
}

/**
 * Pipe `source` through `stages` into a new file `tmp`, hashing the raw bytes; accept only the
 * expected size and SHA-256 (then fsync). Returns the hash. The caller removes `tmp` on failure.
 */
async function intoTemp(
  source: Readable,
  stages: Transform[],
  tmp: string,
  expected: ExpectedFile,
  tooBig: string,
  opts: TransferOptions,
): Promise<string> {
  const meter = new Meter(expected.bytes, () => new SourceError(tooBig, true), true, opts.onBytes);
  const sink = fs.createWriteStream(tmp, { flags: 'wx' });
  try {
    await pipeline([source, ...stages, meter, sink], { signal: opts.signal });
  } catch (err) {
    // A failure on the writing side is the disk's, not the source's: no other source would help.
    const e = err as NodeJS.ErrnoException;
    if (e.path === tmp || e.syscall === 'write') throw cannotWrite(tmp, err);
    throw err;
  }
  const sha256 = meter.digest();
  if (meter.bytes !== expected.bytes) {
    throw new SourceError(
      `size mismatch: expected ${expected.bytes} bytes, got ${meter.bytes} (sha256 ${sha256})`,
      true,
    );
  }
  if (sha256 !== expected.sha256)
    throw new SourceError(`sha256 mismatch: expected ${expected.sha256}, got ${sha256}`, true);
  // Durable before the rename makes it visible (fsync flushes the file whichever descriptor wrote it).
  try {
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw cannotWrite(tmp, err);
  }
  return sha256;
}

function cannotWrite(file: string, err: unknown): DigitkitError {
  return new DigitkitError(ExitCode.usage, `${file}: cannot write: ${fsReason(err)}`);
}

/**
 * Copy a local raw IDX file (e.g. the embedded one) into `tmp`, verifying while streaming; with `gzip`,
 * `src` is its gzip, inflated on the way (and refused once it inflates past the expected size).
 */
export async function copyVerified(
  src: string,
  tmp: string,
  expected: ExpectedFile,
  opts: TransferOptions = {},
  gzip = false,
): Promise<string> {
  try {
    const tooBig = gzip
      ? `inflates past the expected ${expected.bytes} bytes; stopped`
      : `larger than the expected ${expected.bytes} bytes`;
    return await intoTemp(
      fs.createReadStream(src, { highWaterMark: READ_CHUNK }),
      gzip ? [zlib.createGunzip()] : [],
      tmp,
      expected,
      tooBig,
      opts,
    );
  } catch (err) {
    if (err instanceof SourceError || err instanceof DigitkitError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new SourceError('not found');
    if (e.code?.startsWith('Z_')) throw new SourceError(`not valid gzip data (${e.message})`, true);
    throw new SourceError(e.code ? `cannot read (${e.code})` : e.message);
  }
}

interface RequestState {
  timedOut: boolean;
  /** The socket's own error: tells a TCP reset apart from a clean close, which Node reports alike. */
  socketError?: NodeJS.ErrnoException;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function request(url: URL, opts: FetchOptions, state: RequestState): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    // agent: false — one connection per request, closed afterwards (no pooled sockets to linger).
    const req = get(
      url,
      {
        agent: false,
        timeout: opts.timeoutMs,
        signal: opts.signal,
        headers: { 'user-agent': 'digitkit', 'accept-encoding': 'identity' },
      },
      resolve,
    );
    // The socket's idle timeout stays armed while the body streams, so it also catches a stall mid-body.
    req.on('timeout', () => {
      state.timedOut = true;
      req.destroy(new Error('timeout'));
    });
    req.on('socket', (socket) =>
      socket.on('error', (err) => {
        state.socketError ??= err;
      }),
    );
    req.on('error', reject);
  });
}

/** GET `url`, following up to `maxRedirects` redirects; resolves with a 200 response. */
async function open(url: URL, opts: FetchOptions, state: RequestState): Promise<http.IncomingMessage> {
  const maxRedirects = opts.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    const res = await request(url, opts, state);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.destroy();
      if (hop >= maxRedirects)
        throw new SourceError(`more than ${maxRedirects} redirects (last to ${res.headers.location})`);
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new SourceError(`redirect to unsupported URL ${next.href}`);
      url = next;
      continue;
    }
    if (status !== 200) {
      res.destroy();
      const where = hop > 0 ? ` (after redirect to ${url.href})` : '';
      throw new SourceError(`HTTP ${status}${res.statusMessage ? ' ' + res.statusMessage : ''}${where}`);
    }
    return res;
  }
}

/** Translate a low-level failure into the reason line the user sees. */
function reason(
  err: unknown,
  state: RequestState,
  timeoutMs: number,
  received: number,
  declared: number | undefined,
): Error {
  if (err instanceof SourceError || err instanceof DigitkitError) return err;
  const e = err as NodeJS.ErrnoException;
  const of = declared !== undefined ? ` of ${declared}` : '';
  const after = received > 0 ? ` after ${received}${of} bytes` : '';
  if (state.socketError?.code === 'ECONNRESET') return new SourceError(`connection reset${after} (ECONNRESET)`);
  if (state.timedOut) return new SourceError(`no data for ${timeoutMs / 1000} s (timeout)${after}`);
  switch (e.code) {
    case 'Z_DATA_ERROR':
      return new SourceError(`not valid gzip data (${e.message})`);
    case 'Z_BUF_ERROR':
      return new SourceError(`gzip data ends early (${e.message}) after ${received} compressed bytes`);
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return new SourceError(`body cut short${after}`);
    case 'ECONNRESET':
      // Node reports a body shorter than its Content-Length as an "aborted" ECONNRESET.
      return new SourceError(
        e.message === 'aborted'
          ? `body cut short${after} (connection closed)`
          : `connection reset${after} (ECONNRESET)`,
      );
    case 'ECONNREFUSED':
      return new SourceError('connection refused (ECONNREFUSED)');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SourceError(`host not found (${e.code})`);
    default:
      return new SourceError(e.code ? `${e.message} (${e.code})` : e.message);
  }
}

/**
 * Download `url` (a gzip of the file), gunzip while streaming into `tmp`, and verify. The compressed
 * body is capped too (a gzip is never much larger than its content), so junk cannot stream forever.
 */
export async function fetchGzipVerified(
  url: string,
  tmp: string,
  expected: ExpectedFile,
  opts: FetchOptions,
): Promise<string> {
  const state: RequestState = { timedOut: false };
  const cap = expected.bytes + Math.ceil(expected.bytes / 1000) + 65536;
  const compressed = new Meter(
    cap,
    () => new SourceError(`compressed body exceeds ${cap} bytes; stopped`, true),
    false,
  );
  let declared: number | undefined;
  try {
    const res = await open(new URL(url), opts, state);
    const length = res.headers['content-length'];
    declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (declared !== undefined && declared > cap) {
      res.destroy();
      throw new SourceError(
        `Content-Length ${declared} is more than a gzip of ${expected.bytes} bytes needs (${cap})`,
        true,
      );
    }
    return await intoTemp(
      res,
      [compressed, zlib.createGunzip()],
      tmp,
      expected,
      `inflates past the expected ${expected.bytes} bytes; stopped`,
      opts,
    );
  } catch (err) {
    throw reason(err, state, opts.timeoutMs, compressed.bytes, declared);
  }
}
