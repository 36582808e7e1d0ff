// Outputs that cannot be written are found before the work starts and reported in one line naming the
// path and the reason in words (exit 2), with real faults: a read-only file system, a full one, a file
// used as a directory, a directory or a FIFO where a file goes (see helpers/faults.ts: root-proof).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { ROOT, runCli } from './helpers/cli.js';
import { digitAt, LOOKS, loadT10k, renderDigit, rng } from './helpers/render.js';
import { CAN_MOUNT, fileSizeLimit, onTmpfs, readOnlyPlace } from './helpers/faults.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-faults-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const F32 = path.join(ROOT, 'models/mnist-f32.json');
const INT8 = path.join(ROOT, 'models/mnist-int8.json');
const MNIST = embeddedMnistDir();

/** The one line a failed command prints on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0];
}

const strays = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-') || f.includes('probe'));

describe('an output location that cannot be written is refused before the work (exit 2, path and reason)', () => {
  it(`train --out on a read-only file system fails before reading the data${CAN_MOUNT ? '' : ' (/sys)'}`, async () => {
    const ro = readOnlyPlace(tmp);
    const out = path.join(ro.dir, 'models', 'm.json');
    const res = await runCli(
      ['train', '--data', MNIST, '--limit', '600', '--val', '100', '--epochs', '1', '--out', out],
      { wrap: ro.wrap },
    );
    expect(res.code).toBe(2);
    const line = oneLine(res.stderr);
    expect(line.startsWith(`digitkit train: ${out}: cannot write: `)).toBe(true);
    expect(line).toMatch(ro.reason);
    // Nothing was trained: the run line ("training 784-128-64-10 on ...") never appeared.
    expect(res.stdout).toBe('');
  });

  it('predict --save-preprocessed and download on a read-only file system name the directory and the reason', async () => {
    const ro = readOnlyPlace(tmp);
    const input = path.join(tmp, 'seven.png');
    fs.writeFileSync(
      input,
      (await renderDigit(digitAt(await loadT10k(), 0).pixels, LOOKS['canvas 200x200'], rng(1))).bytes,
    );
    const save = path.join(ro.dir, 'seen');
    const p = await runCli(['predict', input, '--model', INT8, '--save-preprocessed', save], { wrap: ro.wrap });
    expect(p.code).toBe(2);
    const line = oneLine(p.stderr);
    expect(line.startsWith(`digitkit predict: --save-preprocessed ${save}: cannot write: `)).toBe(true);
    expect(line).toMatch(ro.reason);
    expect(line).not.toContain('ENOENT');

    const dir = path.join(ro.dir, 'mnist');
    const d = await runCli(['download', '--source', 'embedded', '--dir', dir], { wrap: ro.wrap });
    expect(d.code).toBe(2);
    const dl = oneLine(d.stderr);
    expect(dl).toContain(`${dir}: cannot write: `);
    expect(dl).toMatch(ro.reason);
    expect(dl).not.toContain('ENOENT');

    const report = path.join(ro.dir, 'report');
    const e = await runCli(['eval', '--model', INT8, '--data', MNIST, '--report', report], { wrap: ro.wrap });
    expect(e.code).toBe(2);
    expect(oneLine(e.stderr)).toMatch(new RegExp(`--report ${report}: cannot write: .*${ro.reason.source}`));
  });

  it('quantize --out DIR (a directory) and a FIFO where a file goes are refused before quantizing, and left alone', async () => {
    const dir = path.join(tmp, 'a-directory');
    fs.mkdirSync(dir);
    const q = await runCli(['quantize', '--in', F32, '--data', MNIST, '--out', dir]);
    expect(q.code).toBe(2);
    expect(oneLine(q.stderr)).toBe(`digitkit quantize: ${dir}: cannot write: is a directory (EISDIR)`);
    expect(fs.readdirSync(dir)).toEqual([]);

    // rename(2) would silently replace a FIFO (or, for root, a device node such as /dev/null) with the file.
    const fifo = path.join(tmp, 'a-fifo');
    execFileSync('mkfifo', [fifo]);
    const f = await runCli(['fixtures', '--model', INT8, '--data', MNIST, '--count', '10', '--out', fifo]);
    expect(f.code).toBe(2);
    expect(oneLine(f.stderr)).toBe(`digitkit fixtures: ${fifo}: cannot write: exists and is not a regular file`);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    expect(strays(tmp)).toEqual([]);
  });

  it('a path through a regular file says which part is a file', async () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, 'x');
    const out = path.join(file, 'sub', 'fixtures.json');
    const f = await runCli(['fixtures', '--model', INT8, '--data', MNIST, '--count', '10', '--out', out]);
    expect(f.code).toBe(2);
    expect(oneLine(f.stderr)).toBe(`digitkit fixtures: ${out}: cannot write: ${file} is a file, not a directory`);
  });

  it(`a disk that fills up mid-write is one line with the reason, and the old file stays whole${CAN_MOUNT ? '' : ' (RLIMIT_FSIZE)'}`, async () => {
    // The int8 model is ~110 KB: it cannot fit in 32 KiB, where the probe (an empty file) still does.
    const dir = path.join(tmp, 'full');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'm-int8.json');
    let wrap: string[];
    let reason: RegExp;
    if (CAN_MOUNT) {
      wrap = onTmpfs(dir, { sizeKb: 32 });
      reason = /no space left on device \(ENOSPC\)$/;
    } else {
      fs.writeFileSync(out, 'the previous model\n');
      wrap = fileSizeLimit(32);
      reason = /file too large for this file system or process limit \(EFBIG\)$/;
    }
    const res = await runCli(['quantize', '--in', F32, '--data', MNIST, '--out', out], { wrap });
    expect(res.code).toBe(2);
    const line = oneLine(res.stderr);
    expect(line.startsWith(`digitkit quantize: ${out}: cannot write: `)).toBe(true);
    expect(line).toMatch(reason);
    if (!CAN_MOUNT) expect(fs.readFileSync(out, 'utf8')).toBe('the previous model\n');
    expect(strays(dir)).toEqual([]);
  });
});
