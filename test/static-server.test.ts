// The static server as `web --serve` runs it, against a real HTTP client: only regular files whose
// real path lies inside the root (symlinks out of it, FIFOs and devices are 404, promptly), the Host
// header checked (DNS rebinding), gzip when the client accepts it, extra headers such as the CSP.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsGzip, hostAllowed, startStaticServer, type StaticServer } from '../src/node/static-server.js';
import { tempDir } from './helpers/random-model.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: the path as given (no normalisation), any Host and headers. */
function request(url: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no answer for ${rawPath} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const dir = tempDir('digitkit-static-server-');
const root = path.join(dir, 'site');
const outside = path.join(dir, 'outside');
const text = 'body { color: black; }\n'.repeat(200);
let server: StaticServer;

beforeAll(async () => {
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>site</title>');
  fs.writeFileSync(path.join(root, 'style.css'), text);
  fs.writeFileSync(path.join(root, 'sub', 'a.txt'), 'inside');
  fs.writeFileSync(path.join(root, '.hidden'), 'hidden');
  fs.writeFileSync(path.join(root, 'pic.png'), Buffer.alloc(300, 7));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  fs.symlinkSync('/etc/passwd', path.join(root, 'p.txt'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret.txt'));
  fs.symlinkSync(outside, path.join(root, 'out'));
  fs.symlinkSync('../.hidden', path.join(root, 'sub', 'h.txt'));
  fs.symlinkSync('sub/a.txt', path.join(root, 'link.txt'));
  fs.symlinkSync('/dev/zero', path.join(root, 'zero.txt'));
  execFileSync('mkfifo', [path.join(root, 'fifo.txt')]);
  server = await startStaticServer(root, { headers: { 'Content-Security-Policy': "default-src 'none'" } });
});
afterAll(() => server?.close());

describe('static server: what it serves', () => {
  it('serves only regular files whose real path is inside the root: symlinks out of it, FIFOs and devices are 404', async () => {
    expect((await request(server.url, '/sub/a.txt')).body.toString()).toBe('inside');
    // A link that stays inside the root is followed.
    expect((await request(server.url, '/link.txt')).body.toString()).toBe('inside');
    for (const p of ['/p.txt', '/secret.txt', '/out/secret.txt', '/sub/h.txt', '/zero.txt', '/fifo.txt', '/.hidden']) {
      const r = await request(server.url, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString(), p).toBe('not found\n');
    }
  });

  it('sends the CSP header and nosniff on every file, and Vary for gzip-able types', async () => {
    const r = await request(server.url, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toBe("default-src 'none'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect((await request(server.url, '/nope')).headers['x-content-type-options']).toBe('nosniff');
  });

  it('gzips text when the client accepts gzip, and only then; never PNG', async () => {
    const plain = await request(server.url, '/style.css');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(text);
    const zipped = await request(server.url, '/style.css', { 'Accept-Encoding': 'br, gzip;q=0.8' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
    expect(zipped.body.length).toBeLessThan(text.length / 10);
    expect(gunzipSync(zipped.body).toString()).toBe(text);
    const head = await request(server.url, '/style.css', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect(head.headers['content-length']).toBe(zipped.headers['content-length']);
    expect(head.body.length).toBe(0);
    const refused = await request(server.url, '/style.css', { 'Accept-Encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const png = await request(server.url, '/pic.png', { 'Accept-Encoding': 'gzip' });
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.body).toEqual(Buffer.alloc(300, 7));
  });

  it('answers only Host headers naming loopback, an IP address or the bound host (DNS rebinding is 403)', async () => {
    const port = server.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST', `10.1.2.3:${port}`])
      expect((await request(server.url, '/', { Host: host })).status, host).toBe(200);
    for (const host of [`evil.example:${port}`, 'attacker.test', `127.0.0.1.evil.example:${port}`, 'a b']) {
      const r = await request(server.url, '/style.css', { Host: host });
      expect(r.status, host).toBe(403);
      expect(r.body.toString()).toBe('host not allowed\n');
    }
  });
});

describe('static server: rules', () => {
  it('hostAllowed and acceptsGzip', () => {
    expect(hostAllowed('myhost.lan:8000', 'myhost.lan')).toBe(true);
    expect(hostAllowed('myhost.lan.:8000', 'MyHost.lan')).toBe(true);
    expect(hostAllowed('other.lan:8000', 'myhost.lan')).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1')).toBe(false);
    expect(acceptsGzip('gzip, deflate, br')).toBe(true);
    expect(acceptsGzip('deflate')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0.0')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});
