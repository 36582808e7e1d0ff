// Training feedback on real MNIST: validation loss, --early-stop (the best epoch's parameters kept,
// deterministic, through a resume), --log CSV, --quiet, Ctrl-C after the last epoch, and two runs on
// one checkpoint.
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
import { LOG_COLUMNS } from '../src/train/epoch-log.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';

const DATA = embeddedMnistDir();
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-feedback-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);
const bytes = (name: string) => fs.readFileSync(out(name));
const train = (args: string[]) => runCli(['train', '--data', DATA, ...args], { timeoutMs: 180_000 });

// A short, noisy run (a high constant rate on 2,200 images) whose validation loss stops improving.
const RECIPE = ['--limit', '2400', '--epochs', '30', '--lr', '0.01', '--schedule', 'constant'];
const config = { limit: 2400, epochs: 30, lr: 0.01, schedule: 'constant' as const, earlyStop: 2 };
const readLog = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));

describe('--early-stop and --log', () => {
  it('stops after PATIENCE epochs without a lower validation loss and keeps the best epoch; the log has a row per epoch', async () => {
    const [a, b] = await Promise.all([
      train([...RECIPE, '--early-stop', '2', '--out', out('es1.json'), '--log', out('es1.csv'), '--threads', '1']),
      train([...RECIPE, '--early-stop', '2', '--out', out('es2.json'), '--threads', '2']),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(bytes('es1.json').equals(bytes('es2.json'))).toBe(true); // deterministic, whatever the threads
    const [header, ...rows] = readLog(out('es1.csv'));
    expect(header).toEqual([...LOG_COLUMNS]);
    const valLoss = rows.map((r) => Number(r[3]));
    const best = valLoss.indexOf(Math.min(...valLoss)) + 1;
    expect(rows.length).toBeLessThan(30);
    expect(rows.length).toBe(best + 2); // two epochs without improvement after the best
    expect(rows.map((r) => Number(r[0]))).toEqual(rows.map((_, i) => i + 1));
    expect(a.stdout).toContain(
      `stopped early after epoch ${rows.length}: no lower validation loss since epoch ${best}`,
    );
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const m = await readModelFile(out('es1.json'));
    const meta = m.raw.meta as Record<string, any>;
    expect(meta.config.earlyStop).toBe(2);
    expect(meta).toMatchObject({ bestEpoch: best, epochsRun: rows.length });
    expect(meta.valAccuracy).toBe(Number(rows[best - 1][4]));
    // The model holds the best epoch's parameters: the core's loss on the held-out images is that epoch's.
    const { train: t } = await loadMnist(DATA, ['train']);
    const n = 200;
    const x = Float64Array.from(t!.images.subarray(2200 * 784, 2400 * 784), (p) => p / 255);
    const probs = forwardBatch(m.model, x, n);
    let loss = 0;
    for (let i = 0; i < n; i++)
      for (let k = 0; k < 10; k++)
        loss -= ((k === t!.labels[2200 + i] ? 0.95 : 0) + 0.005) * Math.log(probs[i * 10 + k]);
    expect(Math.abs(loss / n - valLoss[best - 1])).toBeLessThan(1e-3);
    expect(Math.abs(loss / n - valLoss[valLoss.length - 1])).toBeGreaterThan(1e-3);
  });

  it('resumed after Ctrl-C, early stopping gives the same bytes, and the log keeps its earlier rows', async () => {
    const stop = new AbortController();
    const first = await runTrain({
      data: DATA,
      out: out('esr.json'),
      config,
      log: out('esr.csv'),
      signal: stop.signal,
      onStep: (s) => {
        if (s.epoch === 7 && s.stepInEpoch === 3) stop.abort();
      },
    });
    expect(first).toMatchObject({ status: 'interrupted', epoch: 6, phase: 'training' });
    const before = readLog(out('esr.csv'));
    expect(before).toHaveLength(7);
    const second = await runTrain({
      data: DATA,
      out: out('esr.json'),
      config: {},
      resume: out('esr.ckpt'),
      log: out('esr.csv'),
    });
    expect(second.status).toBe('done');
    expect(bytes('esr.json').equals(bytes('es1.json'))).toBe(true);
    const after = readLog(out('esr.csv'));
    expect(after.slice(0, 7)).toEqual(before);
    expect(after.map((r) => r.slice(0, 6))).toEqual(readLog(out('es1.csv')).map((r) => r.slice(0, 6)));
  });

  it.each([
    [['--early-stop', '0'], '--early-stop 0: expected a number of epochs'],
    [['--early-stop', '2', '--limit', '2000', '--val', '0'], '--early-stop 2: needs a validation split'],
  ])('%j → exit 2 naming the flag', async (args, message) => {
    const r = await train(['--out', out('never.json'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(out('never.json'))).toBe(false);
  });
});

describe('Ctrl-C after the last epoch', () => {
  it('is honoured: no model is written, and resuming writes the bytes of an uninterrupted run', async () => {
    const c = { limit: 2000, epochs: 2, seed: 3 };
    await runTrain({ data: DATA, out: out('last-straight.json'), config: c });
    const stop = new AbortController();
    const r = await runTrain({
      data: DATA,
      out: out('last.json'),
      config: c,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'epoch' && e.epoch === 2) stop.abort();
      },
    });
    expect(r).toMatchObject({ status: 'interrupted', phase: 'finishing', epoch: 2 });
    expect(fs.existsSync(out('last.json'))).toBe(false);
    const resumed = await runTrain({ data: DATA, out: out('last.json'), config: {}, resume: out('last.ckpt') });
    expect(resumed.status).toBe('done');
    expect(bytes('last.json').equals(bytes('last-straight.json'))).toBe(true);
  });
});

describe('--quiet', () => {
  it('prints only the result (and under --json only the summary record)', async () => {
    const base = ['--limit', '2000', '--epochs', '2', '--quiet'];
    const [plain, json] = await Promise.all([
      train([...base, '--out', out('q.json')]),
      train([...base, '--out', out('qj.json'), '--json']),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(
      /^test accuracy \d+\.\d\d% \(validation [^)]*\); wrote .*q\.json .*; checkpoint .*q\.ckpt\n$/,
    );
    expect(plain.stderr).toBe('');
    const records = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'summary', epochsRun: 2, bestEpoch: null });
    expect(typeof records[0].valLoss).toBe('number');
  });
});

describe('two runs on one checkpoint', () => {
  it('the second refuses at once (exit 4, naming the checkpoint and the other pid); a stale lock is taken over', async () => {
    const args = [
      'train',
      '--data',
      DATA,
      '--limit',
      '12000',
      '--epochs',
      '40',
      '--out',
      out('busy.json'),
      '--threads',
      '1',
    ];
    const first = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    await new Promise<void>((resolve) =>
      first.stdout.on('data', (d) => {
        stdout += d;
        if (/^epoch/m.test(stdout)) resolve();
      }),
    );
    const second = await train(['--limit', '2000', '--epochs', '1', '--out', out('busy.json')]);
    first.kill('SIGINT');
    const firstCode = await new Promise<number | null>((resolve) => first.on('close', resolve));
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`${out('busy.ckpt')} is in use by another run (pid ${first.pid})`);
    expect(second.stderr).toContain('--checkpoint');
    expect(firstCode).toBe(130);
    expect(fs.existsSync(out('busy.ckpt.lock'))).toBe(false);
    // a lock left by a process that is gone (SIGKILL) does not block the next run
    fs.writeFileSync(out('busy.ckpt.lock'), '2147483646\n');
    const third = await train(['--limit', '2000', '--epochs', '1', '--out', out('busy.json')]);
    expect(third.code, third.stderr).toBe(0);
    expect(fs.existsSync(out('busy.ckpt.lock'))).toBe(false);
  });
});
