// runDownload called directly: the auto chain (local → embedded → web) with a broken embedded copy,
// progress hooks, aborting, and the mirror list. Real files, a real HTTP server on 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDownload, type DownloadHooks } from '../src/data/download.js';
import { DEFAULT_MIRRORS, embeddedMnistDir, MNIST_FILES } from '../src/data/mnist.js';
import { gzipUrl, mirrorOrder } from '../src/data/sources.js';
import { DigitkitError } from '../src/errors.js';
import { prepareGzips, useMirrorServer, wrongBytes } from './helpers/mirror-server.js';
import {
  expectAllVerified,
  expectUntouched,
  freshDir,
  LABELS,
  removeTempDirs,
  seededDir,
  snapshot,
  strayFiles,
} from './helpers/mnist-dir.js';

const server = useMirrorServer();
beforeAll(() => prepareGzips('ok', ['t10k-images-idx3-ubyte']));
afterEach(removeTempDirs);

/** An "embedded" directory whose t10k labels are wrong and whose t10k images are missing. */
function brokenEmbedded(): string {
  const dir = freshDir();
  fs.mkdirSync(dir);
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'])
    fs.copyFileSync(path.join(embeddedMnistDir(), name), path.join(dir, name));
  fs.writeFileSync(path.join(dir, LABELS), wrongBytes(LABELS));
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<DigitkitError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DigitkitError);
    return err as DigitkitError;
  }
  throw new Error('expected a rejection');
}

describe('runDownload', () => {
  it('auto: falls through a wrong or missing embedded file to the web, reporting each step', async () => {
    const dir = seededDir([LABELS, 't10k-images-idx3-ubyte', 'train-labels-idx1-ubyte']);
    const embeddedDir = brokenEmbedded();
    const events: string[] = [];
    const progress = new Map<string, number[]>();
    const hooks: DownloadHooks = {
      onStart: (f, source) => events.push(`${f.name} ${source}`),
      onProgress: (f, n) => progress.set(f.name, [...(progress.get(f.name) ?? []), n]),
      onDone: (r) => events.push(`${r.name} ${r.status}`),
    };
    const report = await runDownload(
      { dir, embeddedDir, mirrors: [server.mirror('ok')], defaultMirrors: false, timeoutMs: 5000 },
      hooks,
    );
    expect(report.files.map((f) => [f.name, f.status, f.source])).toEqual([
      ['train-images-idx3-ubyte', 'up to date', 'local'],
      ['train-labels-idx1-ubyte', 'copied', 'embedded'],
      ['t10k-images-idx3-ubyte', 'downloaded', 'web'],
      [LABELS, 'downloaded', 'web'],
    ]);
    expect(events).toEqual([
      'train-images-idx3-ubyte up to date',
      'train-labels-idx1-ubyte embedded',
      'train-labels-idx1-ubyte copied',
      't10k-images-idx3-ubyte embedded',
      't10k-images-idx3-ubyte web',
      't10k-images-idx3-ubyte downloaded',
      `${LABELS} embedded`,
      `${LABELS} web`,
      `${LABELS} downloaded`,
    ]);
    const [images, labels] = [report.files[2], report.files[3]];
    expect(images.failures).toEqual([
      {
        source: 'embedded',
        location: path.join(embeddedDir, 't10k-images-idx3-ubyte'),
        reason: 'not found',
        wrongBytes: false,
      },
    ]);
    expect(labels.failures[0]).toMatchObject({ source: 'embedded', wrongBytes: true });
    expect(labels.failures[0].reason).toMatch(/^sha256 mismatch: expected ff7bcfd4\w+, got [0-9a-f]{64}$/);
    // Progress counts raw bytes, rising to the file size (the last transfer of each file is the good one).
    const seen = progress.get('t10k-images-idx3-ubyte')!;
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.every((n, i) => i === 0 || n > seen[i - 1])).toBe(true);
    expect(seen.at(-1)).toBe(7840016);
    expectAllVerified(dir);
    expect(strayFiles(dir)).toEqual([]);
  });

  it('auto: wrong bytes from the embedded copy and from every mirror → exit 3 naming each source', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const embeddedDir = brokenEmbedded();
    const err = await rejection(
      runDownload({ dir, embeddedDir, mirrors: [server.mirror('wrong')], defaultMirrors: false }),
    );
    expect(err.code).toBe(3);
    const lines = err.message.split('\n');
    expect(lines[0]).toMatch(
      /^t10k-labels-idx1-ubyte: sha256 mismatch: expected ff7bcfd4\w+, got [0-9a-f]{64}; every source gave wrong bytes:$/,
    );
    expect(lines[1]).toContain(`  ${path.join(embeddedDir, LABELS)}: sha256 mismatch`);
    expect(lines[2]).toContain(`  ${gzipUrl(server.mirror('wrong'), LABELS)}: sha256 mismatch`);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before);
  });

  it('stops with exit 130 when the signal aborts mid-body, leaving no temp file', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const controller = new AbortController();
    const hooks: DownloadHooks = { onProgress: () => controller.abort() };
    const err = await rejection(
      runDownload(
        { dir, source: 'web', mirrors: [server.mirror('stall')], defaultMirrors: false, signal: controller.signal },
        hooks,
      ),
    );
    expect(err.code).toBe(130);
    expect(strayFiles(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, LABELS))).toBe(false);
    expectUntouched(dir, before);
  });

  it('a --dir that cannot be created is a one-line error naming it', async () => {
    const parent = seededDir();
    const dir = path.join(parent, 'train-images-idx3-ubyte', 'mnist'); // under a regular file
    const err = await rejection(runDownload({ dir, source: 'embedded' }));
    expect(err.code).toBe(2);
    expect(err.message).toBe(
      `${dir}: cannot write: ${path.join(parent, 'train-images-idx3-ubyte')} is a file, not a directory`,
    );
  });
});

describe('mirror order', () => {
  it('puts --mirror first, then DIGITKIT_MIRROR, then the defaults, without duplicates', () => {
    expect(
      mirrorOrder(['http://a.example/m', 'https://b.example/x/'], ['http://c.example/', 'http://a.example/m/']),
    ).toEqual(['http://a.example/m/', 'https://b.example/x/', 'http://c.example/', ...DEFAULT_MIRRORS]);
    expect(mirrorOrder(['http://a.example/'], [], false)).toEqual(['http://a.example/']);
  });

  it('appends <name>.gz to the mirror path', () => {
    expect(gzipUrl(mirrorOrder(['http://h.example:8080/data/mnist'], [], false)[0], MNIST_FILES[0].name)).toBe(
      'http://h.example:8080/data/mnist/train-images-idx3-ubyte.gz',
    );
    expect(gzipUrl(DEFAULT_MIRRORS[0], LABELS)).toBe(
      'https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz',
    );
  });
});
