// ONNX files from a real PyTorch (Debian python3-torch, python3-onnx; used by this test only): a small
// MLP trained on real MNIST and exported with torch.onnx.export, and a Keras/tf2onnx-shaped graph
// (MatMul + Add, normalized inputs) written with onnx.helper. Each is imported, then digitkit's
// probabilities on 100 MNIST test digits are checked against PyTorch's own, computed in float64, to
// 1e-6 (through `digitkit verify` with fixtures holding PyTorch's numbers), and against onnxruntime
// running the original file.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { loadOnnxRuntime } from '../src/verify/runtimes/ort.js';
import { readModelFile } from '../src/node/model-file.js';
import { classifyPixels, forwardPixels } from '../src/core/index.js';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
if (!hasTorch)
  console.warn(
    `skipped the PyTorch ONNX tests: ${PYTHON} cannot import torch and onnx (apt-get install python3-torch python3-onnx): ${(probe.stderr ?? probe.error?.message ?? '').trim().split('\n').pop()}`,
  );

const dir = tempDir('digitkit-onnx-torch-');
const MEAN = 0.1307;
const STD = 0.3081;

interface Cases {
  cases: { id: string; label: number; pixels: string; probs: number[] }[];
}

beforeAll(() => {
  if (!hasTorch) return;
  execFileSync(PYTHON, [path.join(ROOT, 'test/helpers/onnx_mlps.py'), embeddedMnistDir(), dir], { stdio: 'inherit' });
}, 300_000);

/** A fixtures file holding PyTorch's float64 probabilities, tied to the imported model's bytes. */
function torchFixtures(model: string, cases: string): string {
  const out = model.replace(/\.json$/, '-fixtures.json');
  const doc = {
    format: 'digitkit-fixtures',
    version: 1,
    model: { path: path.basename(model), sha256: createHash('sha256').update(fs.readFileSync(model)).digest('hex') },
    tolerance: 1e-6,
    reference: 'pytorch float64',
    cases: (JSON.parse(fs.readFileSync(cases, 'utf8')) as Cases).cases,
  };
  fs.writeFileSync(out, JSON.stringify(doc));
  return out;
}

/** onnxruntime on the original ONNX file against digitkit's core on the imported model: worst |Δp|. */
async function ortVsDigitkit(onnx: string, model: string, cases: string, dims: (n: number) => number[], shift = 0) {
  const ort = loadOnnxRuntime();
  const file = await readModelFile(model);
  const c = (JSON.parse(fs.readFileSync(cases, 'utf8')) as Cases).cases;
  const pixels = new Uint8Array(c.length * 784);
  c.forEach((k, i) => pixels.set(Buffer.from(k.pixels, 'base64'), i * 784));
  const scale = file.raw.input.scale;
  const x = Float32Array.from(pixels, (p) => (p - shift) * scale);
  const session = await ort.InferenceSession.create(fs.readFileSync(onnx), { logSeverityLevel: 3 });
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, dims(c.length)) });
  const theirs = out[session.outputNames[0]].data as Float32Array;
  await session.release();
  const ours = forwardPixels(file.model, pixels);
  let max = 0;
  ours.forEach((p, i) => (max = Math.max(max, Math.abs(p - theirs[i]))));
  return max;
}

describe.skipIf(!hasTorch)('ONNX from a real PyTorch', () => {
  it('torch.onnx.export (Flatten + Gemm transB=1): digitkit matches PyTorch float64 to 1e-6 on 100 MNIST test digits', async () => {
    const onnx = path.join(dir, 'torch_mlp.onnx');
    const model = path.join(dir, 'torch.json');
    const imp = await runCli(['import', onnx, '--out', model]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain('from      ' + onnx + ' (pytorch ');
    expect(imp.stdout).toContain("input     'image' [batch, 1, 28, 28] as a 28x28 image");
    const fixtures = torchFixtures(model, path.join(dir, 'torch_cases.json'));
    // In Node (the shipped core) and in onnxruntime (the imported model exported again, float64 graph).
    const r = await runCli([
      'verify',
      '--model',
      model,
      '--fixtures',
      fixtures,
      '--runtime',
      'node,onnxruntime',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [node, ort1] = JSON.parse(r.stdout).rows;
    console.log(
      `PyTorch MLP: vs PyTorch float64, digitkit max |Δp| ${node.max.diff.toExponential(2)}, ` +
        `onnxruntime on digitkit's export ${ort1.max.diff.toExponential(2)}, ${node.correct}/100 correct`,
    );
    expect(node.max.diff).toBeLessThanOrEqual(1e-6);
    expect(ort1.max.diff).toBeLessThanOrEqual(1e-6);
    expect(node.cases).toBe(100);
    expect(node.correct).toBeGreaterThanOrEqual(80);
    const ort = await ortVsDigitkit(onnx, model, path.join(dir, 'torch_cases.json'), (n) => [n, 1, 28, 28]);
    console.log(`PyTorch MLP: digitkit vs onnxruntime on the original file (float32) max |Δp| ${ort.toExponential(2)}`);
    expect(ort).toBeLessThanOrEqual(1e-6);
  });

  it('the Keras/tf2onnx shape (Reshape + MatMul + Add, normalized inputs): --input-offset/--input-scale, same check', async () => {
    const onnx = path.join(dir, 'keras_mlp.onnx');
    const model = path.join(dir, 'keras.json');
    const labels = path.join(dir, 'digits.txt');
    fs.writeFileSync(
      labels,
      ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'].join('\n'),
    );
    const [offset, scale] = [255 * MEAN, 1 / (255 * STD)];
    const imp = await runCli([
      'import',
      onnx,
      '--out',
      model,
      '--labels',
      labels,
      '--input-offset',
      String(offset),
      '--input-scale',
      String(scale),
    ]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain('(tf2onnx 1.16.1, opset 13');
    expect(imp.stdout).toContain("input     'flatten_input' [unk__6, 28, 28] as a 28x28 image");
    expect(JSON.parse(fs.readFileSync(model, 'utf8')).labels[7]).toBe('seven');
    const fixtures = torchFixtures(model, path.join(dir, 'keras_cases.json'));
    const r = await runCli(['verify', '--model', model, '--fixtures', fixtures, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    console.log(
      `Keras-shaped MLP: digitkit vs float64 max |Δp| ${doc.max.diff.toExponential(2)}, ${doc.correct}/100 correct`,
    );
    expect(doc.max.diff).toBeLessThanOrEqual(1e-6);
    expect(doc.correct).toBeGreaterThanOrEqual(80);
    const ort = await ortVsDigitkit(onnx, model, path.join(dir, 'keras_cases.json'), (n) => [n, 28, 28], offset);
    console.log(
      `Keras-shaped MLP: digitkit vs onnxruntime on the original file (float32) max |Δp| ${ort.toExponential(2)}`,
    );
    expect(ort).toBeLessThanOrEqual(1e-6);
  });

  it('the imported model quantizes, gets fixtures and verifies like a trained one', async () => {
    const model = path.join(dir, 'torch.json');
    const int8 = path.join(dir, 'torch-int8.json');
    const fx = path.join(dir, 'torch-int8-fixtures.json');
    const data = embeddedMnistDir();
    expect((await runCli(['quantize', '--in', model, '--out', int8, '--data', data])).code).toBe(0);
    expect((await runCli(['fixtures', '--model', int8, '--out', fx, '--data', data, '--count', '30'])).code).toBe(0);
    const v = await runCli(['verify', '--model', int8, '--fixtures', fx]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // Through both shipped modules, the core and core-wasm.
    expect(v.stdout.trim().split('\n').pop()).toBe('PARITY OK in 2 checks (2 modules, 1 runtime)');
  });

  it('predict and web take the imported PyTorch model as they take a trained one', async () => {
    const model = path.join(dir, 'torch.json');
    const t10k = (await loadMnist(embeddedMnistDir(), ['t10k'])).test!;
    const pngs = path.join(dir, 'pngs');
    fs.mkdirSync(pngs, { recursive: true });
    const picks = Array.from({ length: 20 }, (_, k) => 37 + k * 311);
    for (const i of picks) {
      // Dark ink on white paper, four times the size: predict's own preprocessing brings it back to MNIST's form.
      const ink = Buffer.from(t10k.images.subarray(i * 784, (i + 1) * 784)).map((p) => 255 - p);
      const png = await sharp(ink, { raw: { width: 28, height: 28, channels: 1 } })
        .resize(112, 112)
        .png()
        .toBuffer();
      fs.writeFileSync(path.join(pngs, `${String(i).padStart(5, '0')}-${t10k.labels[i]}.png`), png);
    }
    const p = await runCli(['predict', pngs, '--model', model, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const results = JSON.parse(p.stdout) as { file: string; digit: number }[];
    expect(results).toHaveLength(picks.length);
    // The same model on the original 28x28 digits, straight through the core.
    const loaded = (await readModelFile(model)).model;
    const same = results.filter((r, k) => {
      const i = picks[k];
      return String(r.digit) === classifyPixels(loaded, t10k.images.subarray(i * 784, (i + 1) * 784)).label;
    }).length;
    const right = results.filter((r) => r.file.endsWith(`-${r.digit}.png`)).length;
    console.log(
      `PyTorch MLP through digitkit predict: ${right}/${results.length} rendered test digits right, ${same} the same as on the originals`,
    );
    expect(same).toBeGreaterThanOrEqual(17);
    const site = path.join(dir, 'site');
    const w = await runCli(['web', site, '--model', model]);
    expect(w.code, w.stderr).toBe(0);
    expect(fs.readFileSync(path.join(site, 'model.json'))).toEqual(fs.readFileSync(model));
  });
});
