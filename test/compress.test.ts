// `digitkit compress --max-bytes N` end to end on a real MNIST subset: a small float model trained here
// is the model to compress; students are distilled from it for an epoch (full runs belong to
// `npm run bench -- compress`). The choice is checked against accuracies computed here through the
// core, the written model against the budget, its fixtures in Node and Chromium, the report files,
// resuming after Ctrl-C, and the bad inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPixels, loadModel, parseRawModel } from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { BIN, ROOT, runCli } from './helpers/cli.js';

const DATA = embeddedMnistDir();
let dir: string;
let teacher: string;
const BUDGET = 20_000;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-compress-'));
  teacher = path.join(dir, 'teacher.json');
  const r = await runCli(
    [
      'train',
      '--data',
      DATA,
      '--limit',
      '6000',
      '--epochs',
      '3',
      '--hidden',
      '64,32',
      '--out',
      teacher,
      '--threads',
      '2',
    ],
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const p = (name: string) => path.join(dir, name);
const compress = (args: string[], work = p('work')) =>
  runCli(
    [
      'compress',
      '--model',
      teacher,
      '--data',
      DATA,
      '--work',
      work,
      '--epochs',
      '1',
      '--qat-epochs',
      '1',
      '--threads',
      '2',
      ...args,
    ],
    { timeoutMs: 300_000 },
  );

/** Correct predictions of a model file on training images [from, from + n) (the held-out ones), through classifyPixels. */
async function correctOn(file: string, split: 'train' | 't10k', from: number, n: number): Promise<number> {
  const m = await loadMnist(DATA, [split]);
  const s = split === 'train' ? m.train! : m.test!;
  const model = loadModel(fs.readFileSync(file, 'utf8'));
  let ok = 0;
  for (let i = from; i < from + n; i++)
    if (classifyPixels(model, s.images.subarray(i * 784, (i + 1) * 784)).index === s.labels[i]) ok++;
  return ok;
}

describe('digitkit compress', () => {
  let report: any;
  it('writes the most accurate candidate (on validation) that fits, with fixtures that verify, and prints the frontier', async () => {
    const r = await compress([
      '--max-bytes',
      String(BUDGET),
      '--out',
      p('m20.json'),
      '--fixtures',
      p('f20.json'),
      '--report',
      p('rep'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^compress \S+teacher\.json into 20,000 bytes: 4 candidates/m);
    expect(r.stdout).toMatch(/post-training: left out, no precision assignment of it fits/);
    expect(r.stdout).toMatch(/^ +candidate +layers +bytes +validation +test +agreement +µs\/image$/m);
    expect(r.stdout).toMatch(/PARITY OK/);
    report = JSON.parse(fs.readFileSync(p('rep/report.json'), 'utf8'));
    const bytes = fs.statSync(p('m20.json')).size;
    expect(bytes).toBeLessThanOrEqual(BUDGET);
    expect(report.out.bytes).toBe(bytes);
    const raw = parseRawModel(fs.readFileSync(p('m20.json'), 'utf8'));
    expect(raw.version).toBe(2);
    expect(raw.layers.map((l) => l.dtype)).toEqual(report.chosen.precision.map((s: string) => s.split(' ')[0]));
    expect(raw.layers[0].dtype).toBe('int4');
    // Validation = the 500 images the teacher's run held out (5,500..5,999); every candidate measured
    // there through the core, and the chosen one is the best of them.
    expect(report.validation).toMatchObject({ images: 500, from: 5500 });
    expect(report.candidates.length).toBe(2);
    for (const c of report.candidates) {
      expect(c.bytes).toBeLessThanOrEqual(BUDGET);
      expect(c.valAccuracy * 500).toBeCloseTo(await correctOn(c.file, 'train', 5500, 500), 6);
    }
    expect(report.chosen.valAccuracy).toBe(Math.max(...report.candidates.map((c: any) => c.valAccuracy)));
    // Test accuracy: of the written file, on all of t10k.
    expect(report.chosen.testAccuracy * 10_000).toBeCloseTo(await correctOn(p('m20.json'), 't10k', 0, 10_000), 6);
    const meta = raw.meta as Record<string, any>;
    expect(meta).toMatchObject({
      trainer: 'digitkit compress',
      compress: { budget: BUDGET, candidate: report.chosen.label },
    });
    expect(meta.testAccuracy).toBeCloseTo(report.chosen.testAccuracy, 5);
    // The frontier chart.
    const png = await sharp(p('rep/frontier.png')).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 960, 560]);
  });

  it('the written model passes verify in Node and in Chromium', async () => {
    for (const extra of [[], ['--browser']]) {
      const r = await runCli(['verify', '--model', p('m20.json'), '--fixtures', p('f20.json'), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/PARITY OK/);
    }
  });

  it('is deterministic: the same flags give the same bytes, from kept candidates or trained afresh', async () => {
    const again = await compress([
      '--max-bytes',
      String(BUDGET),
      '--out',
      p('m20b.json'),
      '--fixtures',
      p('f20b.json'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/distill \(kept from an earlier run\)/);
    const fresh = await compress(
      ['--max-bytes', String(BUDGET), '--out', p('m20c.json'), '--fixtures', p('f20c.json')],
      p('work2'),
    );
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).not.toMatch(/kept from an earlier run/);
    const a = fs.readFileSync(p('m20.json'));
    expect(fs.readFileSync(p('m20b.json')).equals(a)).toBe(true);
    expect(fs.readFileSync(p('m20c.json')).equals(a)).toBe(true);
  });

  it('Ctrl-C keeps what finished and prints how to resume; the same command then finishes', async () => {
    const args = [
      'compress',
      '--model',
      teacher,
      '--data',
      DATA,
      '--work',
      p('work3'),
      '--epochs',
      '20',
      '--qat-epochs',
      '1',
      '--threads',
      '2',
      '--max-bytes',
      '20000',
      '--out',
      p('m-int.json'),
      '--fixtures',
      p('f-int.json'),
    ];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      // Interrupt during the first student's distillation, as soon as it starts.
      if (!sent && /^training 784-32-32-10 /m.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(
      /interrupted while distilling student 784-32-32-10 \(epoch \d+, step \d+\/43; its checkpoint is \S+float\.ckpt\); 0 finished candidates kept in \S+work3; resume with: digitkit compress --model/,
    );
    expect(fs.existsSync(p('m-int.json'))).toBe(false);
    const ckpts = fs
      .readdirSync(p('work3'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ckpt'));
    expect(ckpts.length).toBe(1);
    // The same command again: the interrupted distillation resumes from its checkpoint and the run finishes.
    const r = await runCli(args, { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^resumed at epoch \d+, step \d+\/43$/m);
    expect(fs.statSync(p('m-int.json')).size).toBeLessThanOrEqual(20_000);
  });

  const bad: [string, string[], RegExp][] = [
    [
      'a budget below the smallest model',
      ['--max-bytes', '5000'],
      /--max-bytes 5000: the smallest model compress can make is about \d+ bytes/,
    ],
    ['no --max-bytes', [], /required option '--max-bytes <n>' not specified/],
    ['a budget that is not a number', ['--max-bytes', 'lots'], /expected an integer/],
    ['a budget of 0', ['--max-bytes', '0'], /--max-bytes 0: expected an integer >= 1/],
    ['--threads 0', ['--max-bytes', '20000', '--threads', '0'], /--threads 0: expected an integer from 1 to 64/],
    ['--qat-epochs 0', ['--max-bytes', '20000', '--qat-epochs', '0'], /--qat-epochs 0: expected an integer from 1 to/],
  ];
  it.each(bad)('%s is exit 2 with one line', async (_, args, message) => {
    const r = await compress([...args, '--out', p('bad.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(p('bad.json'))).toBe(false);
  });
});
