// `digitkit train --teacher / --qat / --init` end to end on real MNIST subsets: distillation from the
// shipped float model, quantization-aware fine-tuning that writes the quantized model (int4, mixed),
// its accuracy measured through the inference core, reproducibility, resume, and the bad inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPixels, loadModel } from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { readModelFile } from '../src/node/model-file.js';
import { runTrain } from '../src/train/run.js';
import { ROOT, runCli } from './helpers/cli.js';

const DATA = embeddedMnistDir();
const TEACHER = path.join(ROOT, 'models/mnist-f32.json');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-qat-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);
const train = (args: string[]) => runCli(['train', '--data', DATA, '--threads', '2', ...args], { timeoutMs: 120_000 });

/** Accuracy of a model file on t10k images [0, n) through classifyPixels, one image at a time. */
async function coreAccuracy(file: string, n: number): Promise<number> {
  const { test } = await loadMnist(DATA, ['t10k']);
  const m = loadModel(fs.readFileSync(file, 'utf8'));
  let ok = 0;
  for (let i = 0; i < n; i++)
    if (classifyPixels(m, test!.images.subarray(i * 784, (i + 1) * 784)).index === test!.labels[i]) ok++;
  return ok / n;
}

const SMALL = ['--limit', '6000', '--hidden', '32,16'];

describe('train --teacher: distillation', () => {
  it('a student distilled from the shipped model records its teacher and beats the same student without one', async () => {
    const [plain, student] = await Promise.all([
      train([...SMALL, '--epochs', '2', '--out', out('plain.json')]),
      train([
        ...SMALL,
        '--epochs',
        '2',
        '--out',
        out('student.json'),
        '--teacher',
        TEACHER,
        '--temperature',
        '0.5',
        '--alpha',
        '1',
      ]),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(student.code, student.stderr).toBe(0);
    expect(student.stdout).toMatch(/^distilling from mnist-f32\.json \(784-128-64-10\): temperature 0\.5, alpha 1$/m);
    const m = await readModelFile(out('student.json'));
    expect(m.raw.dtype).toBe('float32');
    const meta = m.raw.meta as Record<string, any>;
    const sha = (await readModelFile(TEACHER)).sha256;
    expect(meta.config.teacher).toEqual({
      file: 'mnist-f32.json',
      sha256: sha,
      sizes: [784, 128, 64, 10],
      temperature: 0.5,
      alpha: 1,
    });
    // On 5,500 images for two epochs the teacher's outputs carry a lot (measured: +2.0 pp): a clear
    // margin on the whole test set, through the core.
    const [a, b] = [await coreAccuracy(out('plain.json'), 10_000), await coreAccuracy(out('student.json'), 10_000)];
    expect(b).toBeGreaterThan(a + 0.005);
  });
});

describe('train --qat: quantization-aware training', () => {
  it('fine-tunes a float model into an int4/int8 model whose accuracy the core reproduces; same flags, same bytes', async () => {
    const base = [
      '--init',
      out('student.json'),
      '--qat',
      '4,8,32',
      '--per-channel',
      '--epochs',
      '2',
      '--lr',
      '0.0005',
      '--limit',
      '6000',
      '--json',
    ];
    const [r1, r2] = await Promise.all([
      train([...base, '--out', out('q1.json')]),
      train([...base, '--out', out('q2.json'), '--threads', '1']),
    ]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(fs.readFileSync(out('q1.json')).equals(fs.readFileSync(out('q2.json')))).toBe(true);
    const m = await readModelFile(out('q1.json'));
    expect(m.raw.version).toBe(2);
    expect(m.raw.dtype).toBe('mixed');
    expect(m.raw.layers.map((l) => l.dtype)).toEqual(['int4', 'int8', 'float32']);
    expect((m.raw.layers[0].scale as number[]).length).toBe(32);
    // Scales are short decimals (a float32 each), not 17-digit doubles.
    for (const s of m.raw.layers[0].scale as number[]) expect(String(s).length).toBeLessThanOrEqual(12);
    const meta = m.raw.meta as Record<string, any>;
    expect(meta.config.qat).toEqual({ bits: [4, 8, 0], perChannel: [true, true, true], scales: 'frozen' });
    expect(meta.config.init.file).toBe('student.json');
    expect(meta.config.hidden).toEqual([32, 16]);
    expect(meta.quantization.layers).toEqual(['int4 per-channel', 'int8 per-channel', 'float32']);
    // The reported test accuracy is the quantized file's, through the core.
    const summary = JSON.parse(r1.stdout.trim().split('\n').at(-1)!);
    expect(summary.testAccuracy).toBeCloseTo(await coreAccuracy(out('q1.json'), 10_000), 10);
    expect(meta.testAccuracy).toBeCloseTo(summary.testAccuracy, 5);
  });

  it('--qat int4 --qat-scales step from scratch: every layer int4, scales recomputed each step', async () => {
    const r = await train([
      ...SMALL,
      '--epochs',
      '2',
      '--qat',
      'int4',
      '--qat-scales',
      'step',
      '--out',
      out('q4.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^quantization-aware: int4, int4, int4; per-layer scales, recomputed every step$/m);
    const m = await readModelFile(out('q4.json'));
    expect(m.raw.dtype).toBe('int4');
    for (const l of m.raw.layers) {
      expect(typeof l.scale).toBe('number');
      // Per-step scales: the largest weight of each layer sits at ±7.
      expect(Math.max(...Array.from(l.q, Math.abs))).toBe(7);
    }
    expect(await coreAccuracy(out('q4.json'), 1000)).toBeGreaterThan(0.5);
  });

  it('an interrupted QAT run with a teacher resumes to the same bytes (frozen scales and the teacher come back)', async () => {
    const run = {
      data: DATA,
      threads: 2,
      config: { epochs: 2, limit: 6000 },
      init: out('student.json'),
      teacher: { file: TEACHER },
      qat: { bits: [4, 4, 8] },
    };
    const whole = await runTrain({ ...run, out: out('whole.json') });
    expect(whole.status).toBe('done');
    const ctl = new AbortController();
    let steps = 0;
    const first = await runTrain({
      ...run,
      out: out('part.json'),
      signal: ctl.signal,
      onStep: () => {
        if (++steps === 50) ctl.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    const resumed = await runTrain({
      data: DATA,
      out: out('part.json'),
      threads: 1,
      config: {},
      resume: (first as { checkpoint: string }).checkpoint,
    });
    expect(resumed.status).toBe('done');
    expect(fs.readFileSync(out('part.json')).equals(fs.readFileSync(out('whole.json')))).toBe(true);
  });
});

describe('train --teacher/--qat/--init: bad inputs', () => {
  const cases: [string, number, string[], RegExp][] = [
    [
      'an --init model whose shape does not match --hidden',
      2,
      ['--init', TEACHER, '--hidden', '64,32', '--qat', 'int4'],
      /--init \S+mnist-f32\.json is 784-128-64-10, --hidden 64,32 makes 784-64-32-10: the shapes must match/,
    ],
    [
      '--qat with the wrong number of widths',
      2,
      ['--hidden', '32', '--qat', '4,8,8'],
      /--qat lists 3 widths, the network 784-32-10 has 2 layers/,
    ],
    ['--qat 3', 2, ['--qat', '3'], /expected int4, int8, or one width per layer/],
    ['--qat keeping every layer float', 2, ['--hidden', '32', '--qat', '32,32'], /nothing to quantize/],
    ['--temperature without --teacher', 2, ['--temperature', '2'], /--temperature and --alpha apply with --teacher/],
    ['--alpha above 1', 2, ['--teacher', TEACHER, '--alpha', '1.5'], /--alpha 1\.5: expected a number from 0 to 1/],
    ['--temperature 0', 2, ['--teacher', TEACHER, '--temperature', '0'], /--temperature 0: expected a number > 0/],
    ['--qat-scales without --qat', 2, ['--qat-scales', 'step'], /apply with --qat/],
    [
      'a teacher file that is not a model',
      3,
      ['--teacher', path.join(ROOT, 'package.json')],
      /package\.json: format is/,
    ],
    ['a missing --init file', 3, ['--init', '/nonexistent/m.json', '--qat', 'int8'], /no such initial model/],
  ];
  it.each(cases)('%s → exit %i', async (_, code, args, message) => {
    const r = await train(['--limit', '2000', '--epochs', '1', '--out', out('bad.json'), ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out('bad.json'))).toBe(false);
  });
});
