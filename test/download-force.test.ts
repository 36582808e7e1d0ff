// `digitkit download --source web --force` (a failed re-fetch keeps every good file) and https
// mirrors, against a real HTTP(S) server on 127.0.0.1.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MNIST_FILES } from '../src/data/mnist.js';
import { runCli } from './helpers/cli.js';
import {
  MIRROR_TLS_PEM,
  prepareGzips,
  startMirrorServer,
  useMirrorServer,
  webDownloadArgs,
  type Fault,
} from './helpers/mirror-server.js';
import {
  expectAllVerified,
  expectUntouched,
  LABELS,
  LABELS_SHA,
  NAMES,
  removeTempDirs,
  seededDir,
  sha256File,
  snapshot,
  strayFiles,
} from './helpers/mnist-dir.js';

const { download, url } = useMirrorServer();
afterEach(removeTempDirs);

describe('web mirrors with --force: a failed re-fetch keeps every good file', () => {
  it.each<[Fault, number]>([
    ['reset', 4],
    ['stall', 4],
    ['wrong', 3],
    ['bomb', 3],
  ])('%s → exit %i, all four files byte-identical', async (fault, code) => {
    await prepareGzips(fault, NAMES);
    const dir = seededDir([]);
    const before = snapshot(dir);
    const r = await download(dir, [fault], ['--force']);
    expect(r.code).toBe(code);
    for (const f of MNIST_FILES) expect(r.stderr).toContain(`  ${url(fault, f.name)}: `);
    expect(r.stderr).toContain(`0 of 4 files are verified in ${dir}; nothing unverified was written`);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before);
  });

  it('a successful --force re-fetch replaces the file with verified bytes', async () => {
    await prepareGzips('ok', NAMES);
    const dir = seededDir([]);
    const r = await download(dir, ['ok'], ['--force', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files.map((f: { status: string }) => f.status)).toEqual([
      'downloaded',
      'downloaded',
      'downloaded',
      'downloaded',
    ]);
    expectAllVerified(dir);
    expect(strayFiles(dir)).toEqual([]);
  });
});

describe('https mirrors', () => {
  it('downloads over TLS from a trusted server, and names a certificate it cannot trust', async () => {
    const tls = await startMirrorServer({ tls: true });
    try {
      const args = (dir: string) => webDownloadArgs(tls, dir, ['404', 'ok']);
      const dir = seededDir();
      const r = await runCli(args(dir), { env: { DIGITKIT_MIRROR: undefined, NODE_EXTRA_CA_CERTS: MIRROR_TLS_PEM } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`from ${tls.mirror('ok')}${LABELS}.gz`);
      expect(sha256File(path.join(dir, LABELS))).toBe(LABELS_SHA);

      const untrusted = seededDir();
      const u = await runCli(args(untrusted), { env: { DIGITKIT_MIRROR: undefined, NODE_EXTRA_CA_CERTS: undefined } });
      expect(u.code).toBe(4);
      expect(u.stderr).toContain(
        `  ${tls.mirror('ok')}${LABELS}.gz: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
      );
      expect(strayFiles(untrusted)).toEqual([]);
    } finally {
      await tls.close();
    }
  });
});
