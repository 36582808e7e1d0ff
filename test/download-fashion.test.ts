// `digitkit download --dataset fashion-mnist`: from Debian's dataset-fashion-mnist (its .gz files,
// inflated and checked against the raw-byte SHA-256s of docs/contracts/fashion-mnist.sha256), and from
// a web mirror (a real HTTP server on 127.0.0.1 serving the same gzips, and a bad one first); then the
// whole pipeline on it, one epoch, to models/fashion-int8.json and its fixtures.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_FILES } from '../src/data/datasets.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { runDownload } from '../src/data/download.js';
import { runCli } from './helpers/cli.js';
import { FASHION_DEBIAN, fashionAvailable } from './helpers/fashion.js';
import { sha256File } from './helpers/mnist-dir.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-fashion-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const expectVerified = (dir: string) => {
  for (const f of FASHION_FILES) {
    expect(fs.statSync(path.join(dir, f.name)).size, f.name).toBe(f.bytes);
    expect(sha256File(path.join(dir, f.name)), f.name).toBe(f.sha256);
  }
  expect(fs.readdirSync(dir).sort()).toEqual(FASHION_FILES.map((f) => f.name).sort());
};

describe.skipIf(!fashionAvailable())('download --dataset fashion-mnist', () => {
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    // /ok/<name>.gz: the Debian gzips; /bomb/<name>.gz: a gzip that inflates far past the file's size.
    const bomb = zlib.gzipSync(Buffer.alloc(2 << 20), { level: 1 });
    server = http.createServer((req, res) => {
      const m = /^\/(ok|bomb)\/([\w-]+)\.gz$/.exec(req.url ?? '');
      const file = m && path.join(FASHION_DEBIAN, `${m[2]}.gz`);
      if (!m || !fs.existsSync(file!)) {
        res.writeHead(404).end();
        return;
      }
      const body = m[1] === 'ok' ? fs.readFileSync(file!) : bomb;
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("copies Debian's gzips, inflated and verified, into data/fashion-mnist; then finds them up to date", async () => {
    const r = await runCli(['download', '--dataset', 'fashion-mnist'], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^train-images-idx3-ubyte +copied +44\.9 MiB +from Debian's dataset-fashion-mnist in /m);
    expect(r.stdout).toContain('All four Fashion-MNIST files verified in data/fashion-mnist (4 copied).');
    expectVerified(path.join(tmp, 'data/fashion-mnist'));
    const again = await runCli(['download', '--dataset', 'fashion-mnist'], { cwd: tmp });
    expect(again.stdout).toContain('All four Fashion-MNIST files are up to date in data/fashion-mnist.');
  });

  it('from the web: a mirror whose gzip inflates past the file is refused, the next one verified', async () => {
    const dir = path.join(tmp, 'web');
    const r = await runCli([
      'download',
      '--dataset',
      'fashion-mnist',
      '--dir',
      dir,
      '--source',
      'web',
      '--no-default-mirrors',
      '--mirror',
      `${base}/bomb/`,
      '--mirror',
      `${base}/ok/`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `t10k-labels-idx1-ubyte: skipped ${base}/bomb/t10k-labels-idx1-ubyte.gz: inflates past the expected 10008 bytes; stopped`,
    );
    expectVerified(dir);
  });

  it('every source wrong: exit 3, and nothing unverified is left', async () => {
    const dir = path.join(tmp, 'wrong');
    // An offline copy whose gzips hold MNIST's labels, not Fashion-MNIST's: the right sizes, the wrong bytes.
    const offline = path.join(tmp, 'offline-wrong');
    fs.mkdirSync(offline);
    for (const name of ['train-labels-idx1-ubyte', 't10k-labels-idx1-ubyte'])
      fs.writeFileSync(
        path.join(offline, `${name}.gz`),
        zlib.gzipSync(fs.readFileSync(path.join(embeddedMnistDir(), name))),
      );
    await expect(
      runDownload({
        dataset: 'fashion-mnist',
        dir,
        embeddedDir: offline,
        mirrors: [`${base}/bomb/`],
        defaultMirrors: false,
        files: FASHION_FILES.filter((f) => f.kind === 'labels'),
      }),
    ).rejects.toMatchObject({
      code: 3,
      message: expect.stringContaining('train-labels-idx1-ubyte: sha256 mismatch: expected bad3541b69d9'),
    });
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  });

  it('pipeline --dataset fashion-mnist writes models/fashion-int8.json and fixtures/fashion-parity.json, parity OK', async () => {
    const r = await runCli(['pipeline', '--dataset', 'fashion-mnist', '--epochs', '1', '--threads', '2', '--json'], {
      cwd: tmp,
    });
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.ok).toBe(true);
    expect(rep.train.out).toBe(path.join('models', 'fashion-f32.json'));
    expect(rep.quantize.out.path).toBe(path.join('models', 'fashion-int8.json'));
    expect(rep.fixtures.out.path).toBe('fixtures/fashion-parity.json');
    expect(rep.quantize.accuracy.int8).toBeGreaterThan(0.75);
    const m = JSON.parse(fs.readFileSync(path.join(tmp, 'models/fashion-int8.json'), 'utf8'));
    expect(m.version).toBe(2);
    expect(m.input).toEqual({
      kind: 'image',
      width: 28,
      height: 28,
      channels: 1,
      scale: 1 / 255,
      preprocess: 'resize',
    });
    expect(m.labels[0]).toBe('T-shirt/top');
    expect(rep.verify.max.diff).toBeLessThanOrEqual(1e-6);
  }, 180_000);
});
