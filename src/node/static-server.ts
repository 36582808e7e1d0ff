/**
 * A small static file server, on 127.0.0.1 unless told otherwise: `digitkit web --serve` serves the site
 * directory with it, and `verify --browser` serves the core module to Chromium from memory. GET and HEAD
 * only. From a directory it serves only regular files whose real path (links resolved) lies inside the
 * root's real path, and no dotfiles (the site writer's staging directories start with a dot). Requests
 * whose Host header names neither this machine's loopback names, an IP address, nor the bound host are
 * refused (403): a page on another origin whose DNS name is rebound to this address cannot read the site.
 * Text bodies are gzipped when the client accepts gzip.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { DigitkitError, ExitCode, OptionError } from '../errors.js';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/** Types worth gzipping (PNG is compressed already). */
const COMPRESSIBLE = /^(text\/|application\/(json|wasm)|image\/svg)/;
/** Files larger than this are streamed as they are, never gzipped in memory. */
const MAX_GZIP_BYTES = 16 << 20;
const gzip = promisify(zlib.gzip);

/** URL path (e.g. "/core.js") -> body, for serving from memory. "/" is served as "/index.html". */
export type Routes = ReadonlyMap<string, string | Uint8Array>;

export interface StaticServer {
  /** e.g. "http://127.0.0.1:8000/" (always ends with a slash). */
  url: string;
  port: number;
  /** The address it is bound to, as given ("127.0.0.1" by default). */
  host: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** TCP port, 0 (the default) for any free one. */
  port?: number;
  /** Address to bind (default 127.0.0.1); see isLoopback. */
  host?: string;
  /** Extra headers on every successful response (e.g. the site's Content-Security-Policy). */
  headers?: Record<string, string>;
}

export const DEFAULT_HOST = '127.0.0.1';

/** Whether `host` is reachable only from this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host name of a Host header, without port, brackets or a trailing dot, lower-cased; null if malformed. */
function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d*)?$/i.exec(header.trim());
  if (!m) return null;
  return (m[1] ?? m[2]).toLowerCase().replace(/\.$/, '');
}

/**
 * Whether a request's Host header may be answered. A DNS-rebinding page reaches this server under its
 * own domain name, so names are checked, not ports (a port forwarded elsewhere keeps working): loopback
 * names and IP addresses (which cannot be rebound) are always accepted, and the bound host by name.
 */
export function hostAllowed(header: string | undefined, bound: string): boolean {
  const name = hostName(header);
  if (name === null) return false;
  return isLoopback(name) || net.isIP(name) !== 0 || name === bound.toLowerCase().replace(/^\[|\]$/g, '');
}

/** Whether `file` is `root` or lies under it (both real paths). */
const inside = (root: string, file: string) =>
  file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

type Found =
  { body: string | Uint8Array; name: string } | { handle: fsp.FileHandle; size: number; name: string } | null;

/**
 * The regular file under `rootReal` that a URL path names, opened, or null (outside the root once links
 * are resolved, hidden, missing, a FIFO or device). Opened without following a final link and without
 * blocking, then checked again on the open file: a path swapped after the check cannot escape.
 */
async function findInDirectory(rootReal: string, urlPath: string): Promise<Found> {
  const parts = urlPath.split('/').filter(Boolean);
  if (parts.some((p) => p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return null;
  let file = path.join(rootReal, ...parts);
  for (let k = 0; k < 2; k++) {
    const real = await fsp.realpath(file).catch(() => null);
    if (real === null || !inside(rootReal, real)) return null;
    if (
      path
        .relative(rootReal, real)
        .split(path.sep)
        .some((p) => p.startsWith('.'))
    )
      return null;
    const handle = await fsp
      .open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW)
      .catch(() => null);
    if (handle === null) return null;
    const st = await handle.stat().catch(() => null);
    if (st?.isFile()) return { handle, size: st.size, name: real };
    await handle.close();
    if (!st?.isDirectory()) return null;
    file = path.join(real, 'index.html');
  }
  return null;
}

/** Whether an Accept-Encoding header accepts gzip (q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    return q ? Number(q[1]) > 0 : true;
  }
  return false;
}

/** The port's rule (exit 2): a TCP port, or 0 for any free one. */
export function validatePort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new OptionError('port', `${port}: expected an integer from 0 to 65535 (0: any free port)`);
}

/**
 * Serve a directory (`source` a path) or in-memory routes on `host` (default 127.0.0.1). `port` 0 picks a
 * free port. A port in use is exit 4 (unavailable), naming the way out.
 */
export async function startStaticServer(source: string | Routes, opts: ServeOptions = {}): Promise<StaticServer> {
  const port = opts.port ?? 0;
  const host = opts.host ?? DEFAULT_HOST;
  validatePort(port);
  const rootReal = typeof source === 'string' ? await fsp.realpath(path.resolve(source)) : null;
  const server = http.createServer(async (req, res) => {
    const send = (status: number, text: string) => {
      res
        .writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' })
        .end(req.method === 'HEAD' ? undefined : text + '\n');
    };
    if (!hostAllowed(req.headers.host, host)) return send(403, 'host not allowed');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(405, 'method not allowed');
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(400, 'bad request');
    }
    const found: Found = rootReal
      ? await findInDirectory(rootReal, urlPath)
      : ((b) => (b === undefined ? null : { body: b, name: urlPath === '/' ? 'index.html' : urlPath }))(
          (source as Routes).get(urlPath === '/' ? '/index.html' : urlPath),
        );
    if (!found) return send(404, 'not found');
    const type = CONTENT_TYPES[path.extname(found.name).toLowerCase()] ?? 'application/octet-stream';
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    for (const [k, v] of Object.entries(opts.headers ?? {})) res.setHeader(k, v);
    const compress = COMPRESSIBLE.test(type);
    if (compress) res.setHeader('Vary', 'Accept-Encoding');
    let body: string | Uint8Array;
    if ('body' in found) body = found.body;
    else if (compress && found.size <= MAX_GZIP_BYTES && acceptsGzip(req.headers['accept-encoding'])) {
      try {
        // Never more than the size the open file had: a file that grows meanwhile is cut there.
        const buf = Buffer.alloc(found.size);
        const { bytesRead } = await found.handle.read(buf, 0, found.size, 0);
        body = buf.subarray(0, bytesRead);
      } catch {
        return send(500, 'cannot read');
      } finally {
        await found.handle.close();
      }
    } else {
      res.setHeader('Content-Length', found.size);
      if (req.method === 'HEAD') {
        await found.handle.close();
        return res.end();
      }
      found.handle
        .createReadStream({ start: 0, end: Math.max(0, found.size - 1) })
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    if (compress && acceptsGzip(req.headers['accept-encoding'])) {
      body = await gzip(body);
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is in use'
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? `cannot be bound: ${host} is not an address of this machine (${err.code})`
            : `cannot be used (${err.code ?? err.message})`;
      reject(
        new DigitkitError(
          ExitCode.unavailable,
          `port ${port} on ${host} ${why}: ` +
            (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
              ? 'pick another --host'
              : 'pick another with --port, or --port 0 for any free one'),
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  // A wildcard address is reached locally through loopback.
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : net.isIPv6(host) ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${actual}/`,
    port: actual,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
