// `digitkit export --onnx`: the graph it writes (checked by the onnx package's own checker where the
// Debian python3-onnx is installed, and run by onnxruntime-node), its size, and parity: onnxruntime's
// probabilities within the fixtures' 1e-6 for the shipped int8 model, a float32 model and a
// per-channel int8 model. Then export -> import gives back the same model (labels, input, meta).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { readModelFile } from '../src/node/model-file.js';
import { modelToOnnx, scale17, type OnnxPrecision } from '../src/onnx/export.js';
import { DataType, decodeOnnx, tensorValues } from '../src/onnx/proto.js';
import { formatFixtures, readFixturesFile } from '../src/verify/fixtures-file.js';
import { caseInputs } from '../src/verify/verify.js';
import { onnxInput } from '../src/verify/runtimes/onnxruntime.js';
import { runFixtures } from '../src/verify/fixtures.js';
import { runOnnxGraph } from '../src/verify/runtimes/ort.js';
import { ROOT, runCli } from './helpers/cli.js';
import { breastCancer, fixturesFor } from './helpers/fixtures-for.js';
import { rng, tempDir, writeRandomModel } from './helpers/random-model.js';

const dir = tempDir('digitkit-onnx-export-');
const SHIPPED = path.join(ROOT, 'models/mnist-int8.json');
const SHIPPED_F32 = path.join(ROOT, 'models/mnist-f32.json');
const SHIPPED_FIXTURES = path.join(ROOT, 'fixtures/parity.json');
const PYTHON = '/usr/bin/python3';
const hasOnnxPython = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

/** onnxruntime's worst |Δp| against a fixtures file, for the model's export at `precision`. */
async function ortParity(modelPath: string, fixturesPath: string, precision: OnnxPrecision = 'float64') {
  const file = await readModelFile(modelPath);
  const fx = await readFixturesFile(fixturesPath);
  const size = file.raw.layers[0].rows;
  const classes = file.raw.labels.length;
  const x = new Float32Array(fx.cases.length * size);
  fx.cases.forEach((c, i) =>
    Buffer.from(c.pixels, 'base64').forEach((p, j) => (x[i * size + j] = p * file.raw.input.scale)),
  );
  const e = modelToOnnx(file.raw, { precision });
  const probs = await runOnnxGraph(e.bytes, { name: 'input', data: x, size }, 'probabilities');
  let max = 0;
  let argmaxSame = 0;
  fx.cases.forEach((c, i) => {
    const row = probs.subarray(i * classes, (i + 1) * classes);
    c.probs.forEach((p, j) => (max = Math.max(max, Math.abs(row[j] - p))));
    if (row.indexOf(Math.max(...row)) === c.probs.indexOf(Math.max(...c.probs))) argmaxSame++;
  });
  return { max, argmaxSame, bytes: e.bytes.length, cases: fx.cases.length };
}

let f32Fixtures: string;
let pcModel: string;
let pcFixtures: string;
beforeAll(async () => {
  f32Fixtures = path.join(dir, 'f32-parity.json');
  await runFixtures({ model: SHIPPED_F32, out: f32Fixtures, count: 100, data: embeddedMnistDir() });
  pcModel = writeRandomModel(dir, 'pc.json', { seed: 31, perChannel: true });
  pcFixtures = path.join(dir, 'pc-parity.json');
  await runFixtures({ model: pcModel, out: pcFixtures, count: 50, data: embeddedMnistDir() });
});

describe('digitkit export --onnx', () => {
  it('writes opset 13 with int8 initializers behind DequantizeLinear, named input/output, labels and meta; smaller than the JSON model', async () => {
    const out = path.join(dir, 'mnist.onnx');
    const r = await runCli(['export', '--onnx', out, '--model', SHIPPED]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'graph     opset 13, float64 arithmetic; weights int8 per-tensor, int8 per-tensor, int8 per-tensor',
    );
    const bytes = fs.readFileSync(out);
    expect(bytes.length).toBeLessThan(0.8 * fs.statSync(SHIPPED).size);
    const m = decodeOnnx(bytes, out);
    expect(m.opset_import).toEqual([{ domain: '', version: 13 }]);
    const g = m.graph!;
    expect(g.input!.map((i) => i.name)).toEqual(['input']);
    expect(g.output!.map((o) => o.name)).toEqual(['probabilities']);
    const q = g.initializer!.filter((t) => t.data_type === DataType.INT8);
    expect(q.map((t) => t.dims)).toEqual([
      [784, 128],
      [128, 64],
      [64, 10],
    ]);
    expect(q.map((t) => t.raw_data!.length)).toEqual([784 * 128, 128 * 64, 64 * 10]);
    const ops = g.node!.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(3);
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(3);
    expect(ops.filter((o) => o === 'Relu')).toHaveLength(2);
    expect(ops[ops.length - 1]).toBe('Softmax');
    const props = Object.fromEntries(m.metadata_props!.map((p) => [p.key, p.value]));
    const model = JSON.parse(fs.readFileSync(SHIPPED, 'utf8'));
    expect(JSON.parse(props['digitkit.labels']!)).toEqual(model.labels);
    expect(JSON.parse(props['digitkit.input']!)).toEqual({
      kind: 'image',
      ...model.input,
      channels: 1,
      preprocess: 'digit',
      size: 784,
    });
    expect(JSON.parse(props['digitkit.meta']!)).toEqual(model.meta);
    // The integer weights are the model's bytes.
    expect(Buffer.from(q[0].raw_data!).equals(Buffer.from(model.layers[0].w, 'base64'))).toBe(true);
  });

  it.skipIf(!hasOnnxPython)(
    'the onnx package (Debian python3-onnx) checks the exported graphs, full check with shape inference',
    async () => {
      const files: string[] = [];
      for (const [model, precision] of [
        [SHIPPED, 'float64'],
        [SHIPPED, 'float32'],
        [SHIPPED_F32, 'float64'],
        [pcModel, 'float64'],
        [pcModel, 'float32'],
      ] as const) {
        const out = path.join(dir, `check-${path.basename(model)}-${precision}.onnx`);
        fs.writeFileSync(out, modelToOnnx((await readModelFile(model)).raw, { precision }).bytes);
        files.push(out);
      }
      const check = [
        'import onnx, sys',
        'for f in sys.argv[1:]:',
        '    m = onnx.load(f)',
        '    onnx.checker.check_model(m, full_check=True)',
        '    print(len(m.graph.node))',
      ].join('\n');
      const said = execFileSync(PYTHON, ['-c', check, ...files]).toString();
      expect(said.trim().split('\n').map(Number)).toEqual([19, 12, 13, 19, 12]);
    },
  );
  if (!hasOnnxPython)
    console.warn(`skipped the onnx checker test: ${PYTHON} cannot import onnx (apt-get install python3-onnx)`);

  it('onnxruntime reproduces the fixtures within 1e-6 in float64: shipped int8, float32, per-channel int8', async () => {
    const int8 = await ortParity(SHIPPED, SHIPPED_FIXTURES);
    const f32 = await ortParity(SHIPPED_F32, f32Fixtures);
    const pc = await ortParity(pcModel, pcFixtures);
    console.log(
      `onnxruntime float64 graph: max |Δp| int8 ${int8.max.toExponential(2)} (${int8.bytes} B), ` +
        `float32 ${f32.max.toExponential(2)} (${f32.bytes} B), per-channel ${pc.max.toExponential(2)} (${pc.bytes} B)`,
    );
    // The only error left is the float32 input (x = pixel * scale rounded to float32): ~4e-8.
    for (const r of [int8, f32, pc]) expect(r.max).toBeLessThan(2e-7);
  });

  it('--precision float32 writes the plain QDQ graph: same classes, but not within 1e-6 (why float64 is the default)', async () => {
    const int8 = await ortParity(SHIPPED, SHIPPED_FIXTURES, 'float32');
    console.log(
      `onnxruntime float32 graph: max |Δp| int8 ${int8.max.toExponential(2)}, top-1 same ${int8.argmaxSame}/${int8.cases}`,
    );
    expect(int8.argmaxSame).toBeGreaterThanOrEqual(int8.cases - 2);
    expect(int8.max).toBeGreaterThan(1e-6);
    expect(int8.max).toBeLessThan(0.05);
    const m = decodeOnnx(modelToOnnx((await readModelFile(SHIPPED)).raw, { precision: 'float32' }).bytes, 'x');
    const scale = m.graph!.initializer!.find((t) => t.name === 'layers.0.weight_scale')!;
    expect(tensorValues(scale, 'scale')[0]).toBe(
      Math.fround((await readModelFile(SHIPPED)).raw.layers[0].scale as number),
    );
  });

  it('scale17: q * scale17 is exact in float32 for every int8 q, and scale17 * (scale / scale17) is the scale to an ulp', () => {
    const rand = rng(5);
    for (let t = 0; t < 2000; t++) {
      const s = Math.exp((rand() - 0.5) * 40) * rand();
      const s17 = scale17(s);
      expect(Math.fround(s17)).toBe(s17);
      for (let q = -127; q <= 127; q += 7) expect(Math.fround(q * s17)).toBe(q * s17);
      expect(Math.abs(s17 * (s / s17) - s)).toBeLessThanOrEqual(Number.EPSILON * s);
    }
    expect(scale17(1e-60)).toBe(1);
    expect(scale17(2 ** 125)).toBe(1);
  });

  it('export then import gives back the model: labels, input and meta from the metadata, weights within float32 of q * scale', async () => {
    const onnx = path.join(dir, 'round.onnx');
    const back = path.join(dir, 'round.json');
    expect((await runCli(['export', '--onnx', onnx, '--model', SHIPPED])).code).toBe(0);
    const r = await runCli(['import', onnx, '--out', back]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(from the file's digitkit metadata)");
    const a = await readModelFile(SHIPPED);
    const b = await readModelFile(back);
    expect(b.raw.labels).toEqual(a.raw.labels);
    expect(b.raw.input).toEqual(a.raw.input);
    expect((b.raw.meta as { original: unknown }).original).toEqual(a.raw.meta);
    a.model.layers.forEach((l, k) => {
      const w = b.model.layers[k].w;
      for (let i = 0; i < w.length; i += 97) expect(w[i]).toBe(Math.fround(l.w[i]));
      expect(Array.from(b.model.layers[k].b)).toEqual(Array.from(l.b));
    });
  });

  it('bad input: no --onnx is exit 2; an invalid model is exit 3 and nothing is written', async () => {
    const none = await runCli(['export']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--onnx <file> is required');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, fs.readFileSync(SHIPPED, 'utf8').replace('"rows":784', '"rows":783'));
    const out = path.join(dir, 'never.onnx');
    const r = await runCli(['export', '--onnx', out, '--model', bad]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${bad}: layers[0].rows is 783`);
    expect(fs.existsSync(out)).toBe(false);
  });
});

/** A v2 fixtures file over raw inputs (pixels or feature values), beside the model. */
function writeFixtures(model: string, inputs: ArrayLike<number>[], labels: number[], vector: boolean): string {
  const out = model.replace(/\.json$/, '-fixtures.json');
  fs.writeFileSync(out, formatFixtures(fixturesFor(model, inputs, labels, vector)));
  return out;
}

/** onnxruntime's worst |Δp| against any fixtures file (pixels or values), and the export. */
async function ortParityV2(modelPath: string, fixturesPath: string) {
  const file = await readModelFile(modelPath);
  const fx = await readFixturesFile(fixturesPath);
  const { inputs, values } = caseInputs(fx.cases);
  const e = modelToOnnx(file.raw);
  const probs = await runOnnxGraph(
    e.bytes,
    { name: 'input', data: onnxInput(file.raw, inputs, values), size: file.raw.input.size },
    'probabilities',
  );
  const k = file.raw.labels.length;
  let max = 0;
  fx.cases.forEach((c, i) => c.probs.forEach((p, j) => (max = Math.max(max, Math.abs(probs[i * k + j] - p)))));
  return { max, e, file };
}

describe('digitkit export --onnx: version-2 models', () => {
  it('int4 weights are int4 initializers (opset 21, half a byte each) behind DequantizeLinear; int4, per-channel int4 and mixed within 1e-6 in onnxruntime', async () => {
    for (const [name, o] of [
      ['int4', { dtype: 'int4' }],
      ['int4pc', { dtype: 'int4', perChannel: true }],
      ['mixed', { dtypes: ['int4', 'int8', 'float32'] }],
    ] as const) {
      const model = writeRandomModel(dir, `${name}.json`, { seed: 61, ...o });
      const fx = path.join(dir, `${name}-parity.json`);
      await runFixtures({ model, out: fx, count: 40, data: embeddedMnistDir() });
      const { max, e, file } = await ortParityV2(model, fx);
      console.log(
        `${name}: onnxruntime max |Δp| ${max.toExponential(2)}, ${e.bytes.length} B (model file ${file.bytes.length} B)`,
      );
      expect(max).toBeLessThan(2e-7);
      expect(e.opset).toBe(21);
      const m = decodeOnnx(e.bytes, name);
      const q0 = m.graph!.initializer!.find((t) => t.name === 'layers.0.weight_quantized')!;
      expect(q0.data_type).toBe(DataType.INT4);
      expect(q0.raw_data!.length).toBe((784 * 128) / 2);
      expect(e.weights[0]).toBe(name === 'int4pc' ? 'int4 per-axis' : 'int4 per-tensor');
    }
  });

  it('a vector model (real breast cancer measurements, per-feature offset and scale) and a 3-channel image model agree within 1e-6 in onnxruntime', async () => {
    const { x, y } = breastCancer();
    const mean = x[0].map((_, j) => x.reduce((s, r) => s + r[j], 0) / x.length);
    const inv = x[0].map((_, j) => 1 / Math.sqrt(x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / x.length));
    const vec = writeRandomModel(dir, 'cancer.json', {
      seed: 62,
      shape: [30, 16, 2],
      input: { kind: 'vector', size: 30, offset: mean, scale: inv },
      labels: ['malignant', 'benign'],
    });
    const pick = Array.from({ length: 60 }, (_, k) => k * 9);
    const vfx = writeFixtures(
      vec,
      pick.map((i) => x[i]),
      pick.map((i) => y[i]),
      true,
    );
    const v = await ortParityV2(vec, vfx);
    const rand = rng(63);
    const rgb = writeRandomModel(dir, 'rgb.json', {
      seed: 64,
      shape: [8 * 6 * 3, 12, 4],
      input: { kind: 'image', width: 8, height: 6, channels: 3, scale: 1 / 255, preprocess: 'resize' },
      labels: ['a', 'b', 'c', 'd'],
    });
    const images = Array.from({ length: 30 }, () => Array.from({ length: 144 }, () => Math.floor(rand() * 256)));
    const rfx = writeFixtures(
      rgb,
      images,
      images.map((_, k) => k % 4),
      false,
    );
    const r = await ortParityV2(rgb, rfx);
    console.log(`vector: max |Δp| ${v.max.toExponential(2)}; 3-channel: ${r.max.toExponential(2)}`);
    expect(v.max).toBeLessThan(2e-7);
    expect(r.max).toBeLessThan(2e-7);
    // Round trip: import reads the input back from the metadata.
    const onnx = path.join(dir, 'cancer.onnx');
    fs.writeFileSync(onnx, v.e.bytes);
    const back = path.join(dir, 'cancer-back.json');
    const imp = await runCli(['import', onnx, '--out', back]);
    expect(imp.code, imp.stderr).toBe(0);
    const b = await readModelFile(back);
    expect(b.raw.input).toEqual(v.file.raw.input);
    expect(b.raw.labels).toEqual(['malignant', 'benign']);
  });
});
