// Ctrl-C during a download: the real CLI against a server that stalls mid-body, SIGINT once a
// partial temp file exists. Expect exit 130, the temp file gone, good files untouched.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { prepareGzips, useMirrorServer, webDownloadArgs } from './helpers/mirror-server.js';
import { expectUntouched, LABELS, removeTempDirs, seededDir, snapshot, strayFiles } from './helpers/mnist-dir.js';

const mirrors = useMirrorServer();
beforeAll(() => prepareGzips('stall', [LABELS, 'train-images-idx3-ubyte']));
afterEach(removeTempDirs);

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start a download from the stalling mirror, signal it (SIGINT unless told) once a partial temp file is on disk. */
async function interruptDownload(dir: string, extra: string[], signal: NodeJS.Signals = 'SIGINT') {
  const child = spawn(process.execPath, [BIN, ...webDownloadArgs(mirrors.server, dir, ['stall']), ...extra], {
    env: { ...process.env, NO_COLOR: '1', DIGITKIT_MIRROR: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const closed = new Promise<number | string | null>((resolve) =>
    child.on('close', (code, sig) => resolve(code ?? sig)),
  );
  const partial = () => strayFiles(dir).filter((n) => n.includes('.tmp-') && fs.statSync(path.join(dir, n)).size > 0);
  await waitFor('a partial temp file', () => partial().length > 0);
  const tempSeen = partial();
  child.kill(signal);
  const code = await closed;
  return { code, stderr, tempSeen };
}

describe('digitkit download and SIGINT', () => {
  it('removes the partial temp file and exits 130', async () => {
    const dir = seededDir();
    const before = snapshot(dir);
    const r = await interruptDownload(dir, []);
    expect(r.tempSeen[0]).toMatch(new RegExp(`^\\.${LABELS}\\.tmp-`));
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('digitkit download: interrupted');
    expect(strayFiles(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, LABELS))).toBe(false);
    expectUntouched(dir, before);
  });

  it('with --force, leaves the good file that was being re-fetched byte-identical', async () => {
    const dir = seededDir([]);
    const before = snapshot(dir);
    const r = await interruptDownload(dir, ['--force']);
    expect(r.tempSeen[0]).toMatch(/^\.train-images-idx3-ubyte\.tmp-/);
    expect(r.code).toBe(130);
    expect(strayFiles(dir)).toEqual([]);
    expectUntouched(dir, before);
  });

  // A service manager stops with SIGTERM, a closed terminal sends SIGHUP: the same clean-up, and the
  // shell's exit status for a death by that signal (128 + its number), not a kill that leaves temp files.
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal}: removes the partial temp file and exits ${code}`, async () => {
      const dir = seededDir();
      const before = snapshot(dir);
      const r = await interruptDownload(dir, [], signal);
      expect(r.tempSeen[0]).toMatch(new RegExp(`^\\.${LABELS}\\.tmp-`));
      expect(r.code).toBe(code);
      expect(strayFiles(dir)).toEqual([]);
      expect(fs.existsSync(path.join(dir, LABELS))).toBe(false);
      expectUntouched(dir, before);
    });
  }
});
