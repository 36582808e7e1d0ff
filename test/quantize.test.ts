// `digitkit quantize` and the quantization rule of docs/contracts/model-format.md.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRawModel } from '../src/core/index.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { formatModel } from '../src/node/model-file.js';
import {
  MAX_INT8_BYTES,
  quantizeModel,
  quantizeWeights,
  roundHalfAwayFromZero,
  runQuantize,
  weightError,
} from '../src/quant/quantize.js';
import { runCli } from './helpers/cli.js';
import { randomLayers, rng, tempDir, writeRandomModel } from './helpers/random-model.js';

const DATA = embeddedMnistDir();

describe('the quantization rule', () => {
  it('rounds half away from zero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, -0.51, 0].map(roundHalfAwayFromZero)).toEqual([
      1, 2, 3, -1, -2, -3, 0, -1, 0,
    ]);
  });

  it('uses scale = max|w| / 127, so the largest weight maps to ±127 exactly', () => {
    const { q, scale } = quantizeWeights([0.5, -1, 0.25, 1 / 254], 2, 2);
    expect(scale).toBe(1 / 127);
    // 0.5*127 = 63.5 -> 64; 1/254 * 127 = 0.5 -> 1 (half away from zero)
    expect(Array.from(q)).toEqual([64, -127, 32, 1]);
  });

  it('gives an all-zero layer scale 1 (and per-channel, an all-zero column)', () => {
    expect(quantizeWeights([0, 0, 0, 0], 2, 2).scale).toBe(1);
    expect(quantizeWeights([0, 2, 0, -1], 2, 2, true).scale).toEqual([1, 2 / 127]);
  });

  it('round trip: q * scale reproduces w within scale / 2, per layer', () => {
    const rand = rng(9);
    const rows = 50,
      cols = 30;
    const w = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * (rand() < 0.1 ? 4 : 0.3));
    const qw = quantizeWeights(w, rows, cols);
    const s = qw.scale as number;
    for (let p = 0; p < w.length; p++) {
      expect(Math.abs(qw.q[p] * s - w[p])).toBeLessThanOrEqual(s / 2);
      expect(Math.abs(qw.q[p])).toBeLessThanOrEqual(127);
    }
    expect(weightError(w, qw, cols).maxAbs).toBeLessThanOrEqual(s / 2);
  });

  it('round trip per channel: one scale per output column, each within its scale / 2', () => {
    const rand = rng(10);
    const rows = 40,
      cols = 12;
    // Columns of very different magnitudes: the reason per-channel scales exist.
    const w = Float32Array.from({ length: rows * cols }, (_, p) => (rand() - 0.5) * 2 ** ((p % cols) - 6));
    const qw = quantizeWeights(w, rows, cols, true);
    const scales = qw.scale as number[];
    expect(scales).toHaveLength(cols);
    for (let j = 0; j < cols; j++) {
      let max = 0;
      for (let i = 0; i < rows; i++) max = Math.max(max, Math.abs(w[i * cols + j]));
      expect(scales[j]).toBe(max / 127);
    }
    for (let p = 0; p < w.length; p++)
      expect(Math.abs(qw.q[p] * scales[p % cols] - w[p])).toBeLessThanOrEqual(scales[p % cols] / 2);
    // Per-channel is never worse than one scale for the layer.
    expect(weightError(w, qw, cols).meanAbs).toBeLessThan(weightError(w, quantizeWeights(w, rows, cols), cols).meanAbs);
  });

  it('quantizeModel keeps the biases bit for bit and the shapes', () => {
    const text = formatModel({
      dtype: 'float32',
      layers: randomLayers({ dtype: 'float32', shape: [784, 16, 10], seed: 4 }),
    });
    const raw = parseRawModel(text);
    const { layers, errors } = quantizeModel(raw, true);
    const back = parseRawModel(formatModel({ dtype: 'int8', layers }));
    expect(back.layers.map((l) => [l.rows, l.cols, (l.scale as number[]).length])).toEqual([
      [784, 16, 16],
      [16, 10, 10],
    ]);
    expect(back.layers.map((l) => l.b)).toEqual(raw.layers.map((l) => l.b));
    expect(errors).toHaveLength(2);
  });
});

describe('digitkit quantize', () => {
  const dir = tempDir();
  const floatMeta = {
    trainer: 'digitkit train',
    config: { epochs: 3, batch: 128, lr: 0.002, hidden: [128, 64] },
    seed: 42,
    dataset: { sha256: { 't10k-images-idx3-ubyte': '0'.repeat(64) } },
    history: { loss: [0.51234567, 0.31234567, 0.2123456], valAccuracy: [0.912345, 0.951234, 0.961234] },
    testAccuracy: 0.97,
  };
  const f32 = writeRandomModel(dir, 'mnist-f32.json', { dtype: 'float32', seed: 5, meta: floatMeta });

  it('writes a valid int8 model and reports sizes, weight errors, accuracy and agreement', async () => {
    const out = path.join(dir, 'int8.json');
    const r = await runCli(['quantize', '--in', f32, '--out', out, '--data', DATA, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    const text = fs.readFileSync(out, 'utf8');
    const raw = parseRawModel(text, out);
    expect(raw.dtype).toBe('int8');
    expect(raw.layers.map((l) => typeof l.scale)).toEqual(['number', 'number', 'number']);
    expect(rep.in.bytes).toBe(fs.statSync(f32).size);
    expect(rep.out.bytes).toBe(Buffer.byteLength(text));
    expect(rep.out.bytes).toBeLessThanOrEqual(MAX_INT8_BYTES);
    expect(rep.targets.sizeOk).toBe(true);
    expect(rep.layers).toHaveLength(3);
    for (const l of rep.layers) {
      expect(l.maxAbs).toBeLessThanOrEqual(l.scale / 2);
      expect(l.meanAbs).toBeGreaterThan(0);
      expect(l.meanAbs).toBeLessThanOrEqual(l.maxAbs);
    }
    expect(rep.accuracy.images).toBe(10000);
    for (const k of ['float', 'int8', 'agreement']) expect(rep.accuracy[k]).toBeGreaterThan(0);
    expect(rep.accuracy.deltaPp).toBeCloseTo((rep.accuracy.int8 - rep.accuracy.float) * 100, 10);
    // The meta: quantization facts, the measured accuracies, and the float meta's small parts.
    const meta = raw.meta as Record<string, any>;
    expect(meta.quantization).toMatchObject({
      granularity: 'per-layer',
      rounding: 'half away from zero',
      source: { file: 'mnist-f32.json' },
    });
    expect(meta.quantization.source.sha256).toBe(rep.in.sha256);
    expect(meta.quantization.floatTestAccuracy).toBeCloseTo(rep.accuracy.float, 5);
    expect(meta.quantization.agreement).toBeCloseTo(rep.accuracy.agreement, 5);
    expect(meta.testAccuracy).toBeCloseTo(rep.accuracy.int8, 5);
    expect(meta).toMatchObject({ seed: 42, trainer: 'digitkit train', config: floatMeta.config });
    expect(meta.history).toEqual({ loss: [0.5123, 0.3123, 0.2123], valAccuracy: [0.9123, 0.9512, 0.9612] });
  });

  it('is deterministic: the same float model gives the same bytes', async () => {
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    const ra = await runQuantize({ in: f32, out: a, data: DATA });
    const rb = await runQuantize({ in: f32, out: b, data: DATA });
    expect(ra.out.sha256).toBe(rb.out.sha256);
    expect(fs.readFileSync(a)).toEqual(fs.readFileSync(b));
  });

  it('--per-channel writes one scale per output column and prints the report', async () => {
    const out = path.join(dir, 'pc.json');
    const r = await runCli(['quantize', '--in', f32, '--out', out, '--data', DATA, '--per-channel']);
    expect(r.code).toBe(0);
    const raw = parseRawModel(fs.readFileSync(out, 'utf8'));
    expect(raw.layers.map((l) => (l.scale as number[]).length)).toEqual([128, 64, 10]);
    expect(r.stdout).toMatch(/^size {6}float [\d,]+ bytes -> int8 [\d,]+ bytes/m);
    expect(r.stdout).toMatch(
      /^layer 0 {3}784x128 {2}int8 per-channel {2}[\d,]+ bytes {2}scales \S+\.\.\S+ {2}\|Δw\| max \S+ mean \S+ {2}alone [+-]\d+\.\d\d pp on validation$/m,
    );
    expect(r.stdout).toMatch(
      /^accuracy {2}float \d+\.\d\d%, int8 \d+\.\d\d% \([+-]\d+\.\d\d pp\) on 10000 test images$/m,
    );
    expect(r.stdout).toMatch(/^agreement \d+\.\d\d% of test images/m);
  });

  it('takes the model as --model, like every other command (--in stays its alias); both, differing: exit 2', async () => {
    const viaModel = path.join(dir, 'via-model.json');
    const viaIn = path.join(dir, 'via-in.json');
    expect((await runCli(['quantize', '--model', f32, '--out', viaModel, '--data', DATA])).code).toBe(0);
    expect((await runCli(['quantize', '--in', f32, '--out', viaIn, '--data', DATA])).code).toBe(0);
    expect(fs.readFileSync(viaModel)).toEqual(fs.readFileSync(viaIn));
    const both = await runCli(['quantize', '--model', f32, '--in', viaIn, '--out', path.join(dir, 'x.json')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--model and --in both name the model to quantize');
  });

  it('drops float meta that would push the int8 model past 150,000 bytes, keeping the essentials', async () => {
    const big = writeRandomModel(dir, 'big-meta.json', {
      dtype: 'float32',
      seed: 5,
      meta: { seed: 1, notes: 'x'.repeat(5000), history: { loss: Array(2000).fill(0.123456) } },
    });
    const out = path.join(dir, 'trimmed.json');
    const rep = await runQuantize({ in: big, out, data: DATA });
    const meta = parseRawModel(fs.readFileSync(out, 'utf8')).meta as Record<string, unknown>;
    expect(rep.out.bytes).toBeLessThanOrEqual(MAX_INT8_BYTES);
    expect(meta.seed).toBe(1);
    expect(meta.notes).toBeUndefined();
    expect(meta.history).toBeUndefined();
    expect(meta.quantization).toBeDefined();
  });

  it('missing t10k data is exit 3 pointing to digitkit download, and nothing is written', async () => {
    const out = path.join(dir, 'nodata.json');
    const r = await runCli(['quantize', '--in', f32, '--out', out, '--data', path.join(dir, 'no-such-dir')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /(train|t10k)-images-idx3-ubyte: not found: run `digitkit download --dir .*no-such-dir` first/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses an int8 input (exit 3) and an --out that is the input (exit 2)', async () => {
    const int8 = writeRandomModel(dir, 'already.json', { seed: 2 });
    const r = await runCli(['quantize', '--in', int8, '--out', path.join(dir, 'x.json'), '--data', DATA]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${int8}: dtype is "int8", expected a float32 model to quantize`);
    const same = await runCli(['quantize', '--in', f32, '--out', f32, '--data', DATA, '--json']);
    expect(same.code).toBe(2);
    expect(JSON.parse(same.stdout).error.message).toContain('is the input model');
  });
});
