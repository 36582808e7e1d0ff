/**
 * A small static file server on 127.0.0.1: `digitkit web --serve` serves the site directory with it,
 * and `verify --browser` serves the core module to Chromium from memory. GET and HEAD only; nothing
 * outside the root, and no dotfiles (the site writer's staging directories start with a dot).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
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

/** URL path (e.g. "/core.js") -> body, for serving from memory. "/" is served as "/index.html". */
export type Routes = ReadonlyMap<string, string | Uint8Array>;

export interface StaticServer {
  /** e.g. "http://127.0.0.1:8000/" (always ends with a slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

type Found = { body: string | Uint8Array } | { file: string; size: number } | null;

/** The file under `root` that a URL path names, or null (outside the root, hidden, missing). */
async function findInDirectory(root: string, urlPath: string): Promise<Found> {
  const parts = urlPath.split('/').filter(Boolean);
  if (parts.some((p) => p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return null;
  let file = path.join(root, ...parts);
  if (!file.startsWith(root + path.sep) && file !== root) return null;
  for (let k = 0; k < 2; k++) {
    const st = await fsp.stat(file).catch(() => null);
    if (st?.isFile()) return { file, size: st.size };
    if (!st?.isDirectory()) return null;
    file = path.join(file, 'index.html');
  }
  return null;
}

/** The port's rule (exit 2): a TCP port, or 0 for any free one. */
export function validatePort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new OptionError('port', `${port}: expected an integer from 0 to 65535 (0: any free port)`);
}

/**
 * Serve a directory (`source` a path) or in-memory routes on 127.0.0.1. `port` 0 picks a free port.
 * A port in use is exit 4 (unavailable), naming the way out.
 */
export async function startStaticServer(source: string | Routes, opts: { port?: number } = {}): Promise<StaticServer> {
  const port = opts.port ?? 0;
  validatePort(port);
  const root = typeof source === 'string' ? path.resolve(source) : null;
  const server = http.createServer(async (req, res) => {
    const send = (status: number, text: string) => {
      res
        .writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end(req.method === 'HEAD' ? undefined : text + '\n');
    };
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
    const found: Found = root
      ? await findInDirectory(root, urlPath)
      : ((b) => (b === undefined ? null : { body: b }))(
          (source as Routes).get(urlPath === '/' ? '/index.html' : urlPath),
        );
    if (!found) return send(404, 'not found');
    const name = 'file' in found ? found.file : urlPath === '/' ? 'index.html' : urlPath;
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if ('body' in found) {
      res.setHeader('Content-Length', Buffer.byteLength(found.body));
      return res.end(req.method === 'HEAD' ? undefined : found.body);
    }
    res.setHeader('Content-Length', found.size);
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(found.file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use' : `cannot be used (${err.code ?? err.message})`;
      reject(
        new DigitkitError(
          ExitCode.unavailable,
          `port ${port} on 127.0.0.1 ${why}: pick another with --port, or --port 0 for any free one`,
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
