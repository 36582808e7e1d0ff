// `digitkit quantize --bits 4 | --layers | --auto --max-bytes`: int4 and mixed precision on the shipped
// float model (a real trained network), the per-layer report measured on the validation split (the
// training images train held out), and the bad inputs. Accuracies are checked against a separate plain
// float64 forward pass written here, not the code under test.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRawModel, type RawModel } from '../src/core/index.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { quantizeWeights, runQuantize, type QuantizeReport } from '../src/quant/quantize.js';
import { validationSplit } from '../src/quant/validation.js';
import { runCli, ROOT } from './helpers/cli.js';
import { readSplit } from './helpers/eval-models.js';
import { tempDir } from './helpers/random-model.js';

const DATA = embeddedMnistDir();
const F32 = path.join(ROOT, 'models/mnist-f32.json');
const dir = tempDir();
const train = readSplit('train');
const f32Raw = parseRawModel(fs.readFileSync(F32, 'utf8'));

/** Plain float64 forward (dense loops, argmax only): how many of images [from, from+n) get their label. */
function correctCount(raw: RawModel, from: number, n: number): number {
  const w = raw.layers.map((l) =>
    Float64Array.from(
      l.q,
      (q, p) => q * (l.scale === undefined ? 1 : typeof l.scale === 'number' ? l.scale : l.scale[p % l.cols]),
    ),
  );
  let correct = 0;
  for (let s = from; s < from + n; s++) {
    let a = Array.from(train.images.subarray(s * 784, (s + 1) * 784), (v) => v / 255);
    raw.layers.forEach((l, k) => {
      const z = Array.from(l.b);
      for (let i = 0; i < l.rows; i++) if (a[i]) for (let j = 0; j < l.cols; j++) z[j] += a[i] * w[k][i * l.cols + j];
      a = k + 1 < raw.layers.length ? z.map((v) => Math.max(v, 0)) : z;
    });
    if (a.indexOf(Math.max(...a)) === train.labels[s]) correct++;
  }
  return correct;
}

const VAL_FROM = 55_000;
const floatCorrect = correctCount(f32Raw, VAL_FROM, 5000);

describe('quantize --bits 4 and --layers (mixed precision)', () => {
  let int4: QuantizeReport;
  it('--bits 4 --per-channel writes a version-2 int4 file: nibbles in [-7, 7], scale = max|w| / 7 per column', async () => {
    const out = path.join(dir, 'int4.json');
    int4 = await runQuantize({ in: F32, out, data: DATA, bits: 4, perChannel: true });
    const raw = parseRawModel(fs.readFileSync(out, 'utf8'), out);
    expect(raw.version).toBe(2);
    expect(raw.dtype).toBe('int4');
    raw.layers.forEach((l, k) => {
      const src = f32Raw.layers[k];
      const want = quantizeWeights(src.q, src.rows, src.cols, true, 4);
      expect(Array.from(l.q)).toEqual(Array.from(want.q));
      expect(l.scale).toEqual(want.scale);
      for (let j = 0; j < l.cols; j++) {
        let max = 0;
        for (let i = 0; i < l.rows; i++) max = Math.max(max, Math.abs(src.q[i * l.cols + j]));
        expect((l.scale as number[])[j]).toBe(max / 7);
      }
      expect(Math.max(...Array.from(l.q, Math.abs))).toBe(7);
      expect(l.b).toEqual(src.b);
    });
    // 784x128 int4 is 50,176 bytes of nibbles: 66,904 as base64 (the arithmetic).
    expect(int4.layers[0].bytes).toBeGreaterThan(66_904);
    expect(int4.out.bytes).toBe(fs.statSync(out).size);
    expect(int4.out.bytes).toBeLessThan(90_000);
    expect(int4.dtype).toBe('int4');
    expect(int4.granularity).toBe('per-channel');
  });

  it('measures accuracy on the held-out training images (the last 5000 of the 60000 train used), as a plain float64 forward does', async () => {
    const v = validationSplit(f32Raw.meta, { ...train, rows: 28, cols: 28 });
    expect(v.from).toBe(VAL_FROM);
    expect(v.split.count).toBe(5000);
    expect(int4.validation!.from).toBe(VAL_FROM);
    expect(int4.validation!.float * 5000).toBeCloseTo(floatCorrect, 6);
    const q = parseRawModel(fs.readFileSync(path.join(dir, 'int4.json'), 'utf8'));
    expect(int4.validation!.quantized * 5000).toBeCloseTo(correctCount(q, VAL_FROM, 5000), 6);
    expect(int4.accuracy.images).toBe(10_000);
  });

  it('--layers 4,8,32 gives each layer its own dtype (dtype "mixed"), and reports what each layer costs alone', async () => {
    const out = path.join(dir, 'mixed.json');
    const r = await runQuantize({ in: F32, out, data: DATA, layers: [4, 8, 32] });
    const raw = parseRawModel(fs.readFileSync(out, 'utf8'), out);
    expect(raw.dtype).toBe('mixed');
    expect(raw.layers.map((l) => l.dtype)).toEqual(['int4', 'int8', 'float32']);
    expect(raw.layers[2].q).toEqual(f32Raw.layers[2].q);
    expect(r.layers.map((l) => [l.bits, l.dtype])).toEqual([
      [4, 'int4'],
      [8, 'int8'],
      [32, 'float32'],
    ]);
    expect(r.layers[2].valDeltaPp).toBe(0);
    expect(r.layers[2].maxAbs).toBe(0);
    // Layer 0 alone at int4 (one scale): the accuracy change a plain forward pass measures.
    const alone = parseRawModel(
      fs.readFileSync(path.join(dir, 'mixed.json'), 'utf8'), // reuse its layer 0
    );
    const only0: RawModel = { ...f32Raw, layers: [alone.layers[0], ...f32Raw.layers.slice(1)] };
    expect(r.layers[0].valDeltaPp).toBeCloseTo(((correctCount(only0, VAL_FROM, 5000) - floatCorrect) / 5000) * 100, 6);
    // One scale for 784x128 int4 costs far more than one per column (the per-channel finding).
    expect(r.layers[0].valDeltaPp!).toBeLessThan(int4.layers[0].valDeltaPp!);
    // The layers' bytes add up to the file, less the JSON around them.
    const sum = r.layers.reduce((s, l) => s + l.bytes, 0);
    expect(r.out.bytes - sum).toBeGreaterThan(0);
    expect(r.out.bytes - sum).toBeLessThan(4000);
    expect(raw.meta).toMatchObject({
      quantization: { layers: ['int4', 'int8', 'float32'], source: { file: 'mnist-f32.json' } },
    });
  });

  it('prints the per-layer table and the same bytes for the same flags', async () => {
    const a = path.join(dir, 'cli-a.json');
    const b = path.join(dir, 'cli-b.json');
    const r = await runCli(['quantize', '--in', F32, '--out', a, '--data', DATA, '--layers', '4,8,8', '--per-channel']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*cli-a\.json \(mixed int4\/int8\/int8, sha256/m);
    expect(r.stdout).toMatch(
      /^layer 0 {3}784x128 {2}int4 per-channel {2}[\d,]+ bytes {2}scales \S+\.\.\S+ {2}\|Δw\| max \S+ mean \S+ {2}alone [+-]\d\.\d\d pp on validation$/m,
    );
    expect(r.stdout).toMatch(
      /^validation float 99\.\d\d%, quantized \d+\.\d\d% \([+-]\d\.\d\d pp\) on 5000 held-out training images$/m,
    );
    await runQuantize({ in: F32, out: b, data: DATA, layers: [4, 8, 8], perChannel: true });
    expect(fs.readFileSync(a)).toEqual(fs.readFileSync(b));
  });
});

describe('quantize --auto --max-bytes', () => {
  it('picks, on validation, the assignment that fits the budget with the least loss, and writes within it', async () => {
    const out = path.join(dir, 'auto.json');
    const r = await runQuantize({ in: F32, out, data: DATA, auto: true, maxBytes: 90_000 });
    expect(r.out.bytes).toBeLessThanOrEqual(90_000);
    expect(fs.statSync(out).size).toBe(r.out.bytes);
    const tried = r.auto!.tried;
    expect(tried.length).toBeGreaterThan(4);
    for (const t of tried) expect(t.bytes).toBeLessThanOrEqual(90_000);
    // The best measured, and what was written is it.
    expect(tried[0].accuracy).toBe(Math.max(...tried.map((t) => t.accuracy)));
    expect(r.layers.map((l) => [l.bits, l.perChannel])).toEqual(tried[0].precision.map((p) => [p.bits, p.perChannel]));
    expect(r.validation!.quantized).toBe(tried[0].accuracy);
    // At 90 KB the first layer must be int4 (int8 alone is 135 KB); the small layers can afford int8.
    expect(r.layers[0].bits).toBe(4);
    // Sensitivity: every layer at every width and granularity, measured alone.
    expect(r.auto!.sensitivity.map((s) => s.options.length)).toEqual([4, 4, 4]);
    // Better than the naive all-int4 file of the same budget, on validation.
    const naive = await runQuantize({ in: F32, out: path.join(dir, 'naive.json'), data: DATA, bits: 4 });
    expect(r.validation!.quantized).toBeGreaterThan(naive.validation!.quantized);
  });

  it('a budget below every assignment is exit 2 naming the smallest size possible; nothing is written', async () => {
    const out = path.join(dir, 'tiny.json');
    const r = await runCli(['quantize', '--in', F32, '--out', out, '--data', DATA, '--auto', '--max-bytes', '60000']);
    expect(r.code).toBe(2);
    const m = /--max-bytes 60000: the smallest model this can write from \S+ is (\d+) bytes \(int4, int4, int4\)/.exec(
      r.stderr,
    );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(60_000);
    expect(fs.existsSync(out)).toBe(false);
    // ... and that smallest size is indeed reachable.
    const ok = await runQuantize({ in: F32, out, data: DATA, auto: true, maxBytes: Number(m![1]) });
    expect(ok.out.bytes).toBeLessThanOrEqual(Number(m![1]));
    expect(ok.layers.map((l) => l.dtype)).toEqual(['int4', 'int4', 'int4']);
  });
});

describe('quantize: bad flags are exit 2 with one line', () => {
  const cases: [string[], RegExp][] = [
    [['--bits', '3'], /--bits 3: supported widths are 4 and 8 \(int4, int8\)/],
    [['--bits', '16'], /--bits 16: supported widths are 4 and 8/],
    [['--layers', '4,8'], /--layers lists 2 widths, \S+mnist-f32\.json has 3 layers/],
    [['--layers', '4,2,8'], /--layers 4,2,8: 2 bits: supported widths are 4, 8 and 32/],
    [['--layers', '4,x,8'], /expected comma-separated bit widths/],
    [['--bits', '4', '--layers', '4,8,8'], /--bits and --layers both give the widths/],
    [['--auto'], /--auto needs --max-bytes N/],
    [['--max-bytes', '50000'], /--max-bytes needs --auto/],
    [['--auto', '--max-bytes', '90000', '--bits', '4'], /--auto chooses the widths/],
  ];
  it.each(cases)('%j', async (flags, message) => {
    const out = path.join(dir, 'bad.json');
    const r = await runCli(['quantize', '--in', F32, '--out', out, '--data', DATA, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});
