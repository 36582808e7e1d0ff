// A real HTTP(S) server on 127.0.0.1 that plays MNIST mirrors, each path prefix a different behaviour:
// GET /<fault>/<name>.gz. The gzip files are made from the embedded copy (once per file, cached).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { embeddedMnistDir, MNIST_FILES } from '../../src/data/mnist.js';
import { afterAll, beforeAll } from 'vitest';
import { runCli } from './cli.js';

export const FAULTS = [
  'ok', // the right gzip
  '404', // Not Found
  'reset', // half the body, then a TCP reset
  'short', // Content-Length of the whole gzip, half of it sent, connection closed
  'truncated-gzip', // a complete HTTP response whose gzip stops half way
  'wrong', // right length, wrong bytes (a few bytes changed before compressing)
  'small', // a valid gzip of fewer bytes than expected
  'stall', // half the body, then silence (connection held open)
  'stall-headers', // accepts the request and never answers
  'bomb', // a gzip that inflates forever (streamed zeros)
  'not-gzip', // 200 with an HTML page
  'redirect', // 302 to /ok/<name>.gz (relative Location)
  'redirect-chain', // 301 to /redirect/<name>.gz (absolute Location), which redirects again
  'redirect-loop', // 302 to itself
] as const;
export type Fault = (typeof FAULTS)[number];

const gzCache = new Map<string, Buffer>();

/** The raw embedded bytes of an MNIST file. */
export function rawBytes(name: string): Buffer {
  return fs.readFileSync(path.join(embeddedMnistDir(), name));
}

/** Same length as the real file, a few payload bytes changed (so the hash differs). */
export function wrongBytes(name: string): Buffer {
  const b = Buffer.from(rawBytes(name));
  for (let i = b.length - 1; i > b.length - 40; i -= 7) b[i] = (b[i] + 1) % 10;
  return b;
}

function gzipOf(key: string, make: () => Buffer): Buffer {
  let gz = gzCache.get(key);
  if (!gz) {
    gz = zlib.gzipSync(make(), { level: 1 });
    gzCache.set(key, gz);
  }
  return gz;
}

export const goodGzip = (name: string) => gzipOf(name, () => rawBytes(name));

/** The raw bytes behind each cached gzip a fault serves (bomb and the like need none). */
function gzipSource(fault: Fault, name: string): [string, () => Buffer] | null {
  if (fault === 'wrong') return [`wrong:${name}`, () => wrongBytes(name)];
  if (fault === 'small') return [`small:${name}`, () => rawBytes(name).subarray(0, 1000)];
  if (['ok', 'reset', 'short', 'truncated-gzip', 'stall', 'redirect', 'redirect-chain'].includes(fault))
    return [name, () => rawBytes(name)];
  return null;
}

/**
 * Compress ahead of time what `fault` will serve for `names`, off the event loop: compressing the
 * 47 MB file on demand would stall the server for longer than a short --timeout.
 */
export async function prepareGzips(fault: Fault, names: readonly string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const src = gzipSource(fault, name);
      if (!src || gzCache.has(src[0])) return;
      const gz = await new Promise<Buffer>((resolve, reject) =>
        zlib.gzip(src[1](), { level: 1 }, (err, out) => (err ? reject(err) : resolve(out))),
      );
      gzCache.set(src[0], gz);
    }),
  );
}

function sendHead(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(body.length) });
}

/** Zeros without end: the server side of a gzip bomb (compresses ~1000:1). */
function endlessZeros(): Readable {
  const chunk = Buffer.alloc(1 << 16);
  return new Readable({
    read() {
      this.push(chunk);
    },
  });
}

export interface MirrorServer {
  origin: string;
  /** Base URL of a mirror with the given behaviour, e.g. http://127.0.0.1:PORT/404/ */
  mirror(fault: Fault): string;
  /** URL of one file's gzip on that mirror. */
  url(fault: Fault, name: string): string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Resolves when a request whose path starts with `prefix` arrives. */
  waitForRequest(prefix: string): Promise<void>;
  close(): Promise<void>;
}

/** Self-signed key + certificate for IP 127.0.0.1 (test only); clients trust it via NODE_EXTRA_CA_CERTS. */
export const MIRROR_TLS_PEM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mirror-tls.pem');

export async function startMirrorServer(opts: { tls?: boolean } = {}): Promise<MirrorServer> {
  const requests: string[] = [];
  const waiters: Array<{ prefix: string; resolve: () => void }> = [];
  const names = new Set(MNIST_FILES.map((f) => f.name));

  const handle: http.RequestListener = (req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    for (const w of waiters.filter((w) => url.startsWith(w.prefix))) w.resolve();
    const m = /^\/([a-z0-9-]+)\/([a-z0-9-]+)\.gz$/.exec(url);
    const fault = m?.[1] as Fault | undefined;
    const name = m?.[2];
    if (!fault || !name || !names.has(name) || !(FAULTS as readonly string[]).includes(fault)) {
      res.writeHead(404).end('no such file');
      return;
    }
    const good = () => goodGzip(name);
    const half = (gz: Buffer) => gz.subarray(0, Math.floor(gz.length / 2));
    switch (fault) {
      case 'ok':
        sendHead(res, good());
        res.end(good());
        return;
      case '404':
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return;
      case 'reset':
        sendHead(res, good());
        res.write(half(good()), () => setTimeout(() => req.socket.resetAndDestroy(), 20));
        return;
      case 'short':
        sendHead(res, good());
        res.write(half(good()), () => setTimeout(() => req.socket.end(), 20));
        return;
      case 'truncated-gzip': {
        const body = half(good());
        sendHead(res, body);
        res.end(body);
        return;
      }
      case 'wrong':
      case 'small': {
        const [key, make] = gzipSource(fault, name)!;
        const body = gzipOf(key, make);
        sendHead(res, body);
        res.end(body);
        return;
      }
      case 'stall':
        sendHead(res, good());
        res.write(half(good())); // and nothing more
        return;
      case 'stall-headers':
        return; // never answer
      case 'bomb': {
        res.writeHead(200, { 'content-type': 'application/gzip' });
        const zeros = endlessZeros();
        const gzip = zlib.createGzip({ level: 9 });
        zeros.pipe(gzip).pipe(res);
        res.on('close', () => {
          zeros.destroy();
          gzip.destroy();
        });
        return;
      }
      case 'not-gzip':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome to the hotel wifi</body></html>');
        return;
      case 'redirect':
        res.writeHead(302, { location: `../ok/${name}.gz` }).end();
        return;
      case 'redirect-chain':
        res.writeHead(301, { location: `${origin}/redirect/${name}.gz` }).end();
        return;
      case 'redirect-loop':
        res.writeHead(302, { location: `/redirect-loop/${name}.gz` }).end();
        return;
    }
  };
  const pem = opts.tls ? fs.readFileSync(MIRROR_TLS_PEM) : null;
  const server = pem ? https.createServer({ key: pem, cert: pem }, handle) : http.createServer(handle);

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `${pem ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    mirror: (fault) => `${origin}/${fault}/`,
    url: (fault, name) => `${origin}/${fault}/${name}.gz`,
    requests,
    waitForRequest: (prefix) =>
      new Promise((resolve) => {
        if (requests.some((r) => r.startsWith(prefix))) resolve();
        else waiters.push({ prefix, resolve });
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The arguments of `digitkit download --source web` into `dir` from these mirrors only, in order. */
export function webDownloadArgs(server: MirrorServer, dir: string, mirrors: Fault[]): string[] {
  const flags = mirrors.flatMap((f) => ['--mirror', server.mirror(f)]);
  return ['download', '--dir', dir, '--source', 'web', '--no-default-mirrors', ...flags];
}

/** `digitkit download --source web` from these mirrors only, in order, with a 1 s timeout. */
export function downloadFrom(
  server: MirrorServer,
  dir: string,
  mirrors: Fault[],
  extra: string[] = [],
  env: Record<string, string | undefined> = {},
) {
  return runCli([...webDownloadArgs(server, dir, mirrors), '--timeout', '1', ...extra], {
    env: { DIGITKIT_MIRROR: undefined, ...env },
    timeoutMs: 60_000,
  });
}

/** A mirror server for the current test file: started before its tests, closed after. */
export function useMirrorServer(opts: { tls?: boolean } = {}) {
  let server: MirrorServer | undefined;
  beforeAll(async () => {
    server = await startMirrorServer(opts);
  });
  afterAll(() => server?.close());
  const get = () =>
    server ??
    (() => {
      throw new Error('mirror server not started');
    })();
  return {
    get server() {
      return get();
    },
    mirror: (fault: Fault) => get().mirror(fault),
    url: (fault: Fault, name: string) => get().url(fault, name),
    download: (dir: string, mirrors: Fault[], extra: string[] = [], env: Record<string, string | undefined> = {}) =>
      downloadFrom(get(), dir, mirrors, extra, env),
  };
}
