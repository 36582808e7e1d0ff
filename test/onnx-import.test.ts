// `digitkit import`: ONNX graphs in, float32 digitkit models out. What it accepts (the two MLP shapes,
// how the input maps onto the contract, labels), and every bad input the issue names: exit 3, one line
// naming the file and the problem, nothing written (and an existing model file left as it was).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forward, forwardPixels, forwardValues, loadModel } from '../src/core/index.js';
import sharp from 'sharp';
import { ROOT, runCli } from './helpers/cli.js';
import { encode, mlpSpec, node, randomTensor, valueInfo, type Spec } from './helpers/onnx-graphs.js';
import { tempDir } from './helpers/random-model.js';
import { readOnnxGraph } from '../src/onnx/import.js';
import { decodeOnnx, DataType, rawTensor, float64Bytes, tensorValues } from '../src/onnx/proto.js';

const dir = tempDir('digitkit-onnx-import-');
let n = 0;

function write(bytes: Uint8Array | string, name = `g${n++}.onnx`): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Import `file` through the CLI into a fresh path (or `out`), returning the result and the out path. */
async function importCli(file: string, args: string[] = [], out = path.join(dir, `m${n++}.json`)) {
  const r = await runCli(['import', file, '--out', out, ...args]);
  return { ...r, out };
}

/** The forward pass of a tf2onnx-shaped spec, in float64, for inputs x (row-major [n, size]). */
function specForward(spec: Spec, x: Float64Array, count: number): Float64Array {
  const g = readOnnxGraph(decodeOnnx(encode(spec), 'spec'), 'spec');
  let a = x;
  let size = g.size;
  g.layers.forEach((l, k) => {
    const z = new Float64Array(count * l.cols);
    for (let s = 0; s < count; s++)
      for (let j = 0; j < l.cols; j++) {
        let v = l.b[j];
        for (let i = 0; i < l.rows; i++) v += a[s * size + i] * l.w[i * l.cols + j];
        z[s * l.cols + j] = k < g.layers.length - 1 ? Math.max(0, v) : v;
      }
    a = z;
    size = l.cols;
  });
  for (let s = 0; s < count; s++) {
    const row = a.subarray(s * size, (s + 1) * size);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((p, q) => p + q, 0);
    row.set(e.map((v) => v / sum));
  }
  return a;
}

describe('digitkit import: what it reads', () => {
  it('a tf2onnx-shaped MatMul + Add graph on 784 inputs becomes a 28x28 float32 model computing the same function', async () => {
    const spec = mlpSpec([784, 16, 10], 3);
    const r = await importCli(write(encode(spec)));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^layers {4}784-16-10, ReLU between layers/m);
    expect(r.stdout).toContain(
      'as a 28x28 image (digit), x = pixel * 0.00392156862745098 (from 784 inputs (MNIST-sized))',
    );
    const doc = JSON.parse(fs.readFileSync(r.out, 'utf8'));
    expect(doc).toMatchObject({ format: 'digitkit-mlp', version: 1, dtype: 'float32', labels: '0123456789'.split('') });
    expect(doc.input).toEqual({ width: 28, height: 28, scale: 1 / 255 });
    expect(doc.meta.imported).toMatchObject({ from: 'onnx', producer: 'digitkit-test', opset: 13 });
    const model = loadModel(fs.readFileSync(r.out, 'utf8'), r.out);
    const pixels = Float64Array.from({ length: 784 * 3 }, (_, i) => (i * 37) % 256);
    const x = pixels.map((p) => p / 255);
    const want = specForward(spec, x, 3);
    for (let s = 0; s < 3; s++) {
      const got = forward(model, x.subarray(s * 784, (s + 1) * 784));
      got.forEach((p, j) => expect(Math.abs(p - want[s * 10 + j])).toBeLessThan(1e-14));
    }
  });

  it('Gemm with transB=1 (PyTorch Linear) after Flatten of [N, 1, 8, 8] gives an 8x8 image; alpha, beta and bias-free layers are read', async () => {
    const inits = [
      randomTensor('fc1.weight', [6, 64], 1),
      randomTensor('fc1.bias', [6], 2),
      randomTensor('fc2.weight', [6, 4], 3), // transB = 0: stored [in, out]
    ];
    const spec: Spec = {
      nodes: [
        node('Flatten', ['image'], ['flat'], '/0/Flatten', { axis: 1 }),
        node('Gemm', ['flat', 'fc1.weight', 'fc1.bias'], ['h'], '/1/Gemm', { transB: 1, alpha: 1, beta: 1 }),
        node('Relu', ['h'], ['a'], '/2/Relu'),
        node('Gemm', ['a', 'fc2.weight'], ['logits'], '/3/Gemm', { alpha: 0.5 }),
      ],
      inits,
      inputs: [valueInfo('image', ['batch', 1, 8, 8])],
      outputs: [valueInfo('logits', ['batch', 4])],
    };
    const r = await importCli(write(encode(spec)), ['--labels', write('cat\ndog\nbird\nfish\n', 'labels.txt')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("input     'image' [batch, 1, 8, 8] as a 8x8 image");
    expect(r.stdout).toContain('the graph ends in logits');
    const doc = JSON.parse(fs.readFileSync(r.out, 'utf8'));
    expect(doc.labels).toEqual(['cat', 'dog', 'bird', 'fish']);
    expect(doc.layers.map((l: { rows: number; cols: number }) => [l.rows, l.cols])).toEqual([
      [64, 6],
      [6, 4],
    ]);
    expect(doc.layers[1].b).toEqual([0, 0, 0, 0]);
    // The transposed weight: W[i][j] of the model is fc1.weight[j][i].
    const g = readOnnxGraph(decodeOnnx(encode(spec), 's'), 's');
    const w = Buffer.from(doc.layers[0].w, 'base64');
    expect(w.readFloatLE(4 * (10 * 6 + 3))).toBe(Math.fround(g.layers[0].w[10 * 6 + 3]));
    // alpha = 0.5 halves the second layer's weights.
    const raw2 = tensorValues(inits[2], 'fc2.weight');
    expect(Buffer.from(doc.layers[1].w, 'base64').readFloatLE(4 * 5)).toBe(Math.fround(raw2[5] * 0.5));
  });

  it('--input-offset folds into the first bias: the model computes what the graph does on (pixel - offset) * scale', async () => {
    const spec = mlpSpec([784, 12, 10], 5);
    const [offset, scale] = [33.3285, 1 / (255 * 0.3081)];
    const r = await importCli(write(encode(spec)), ['--input-offset', String(offset), '--input-scale', String(scale)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`x = (pixel - ${offset}) * ${scale}`);
    const model = loadModel(fs.readFileSync(r.out, 'utf8'));
    const pixels = Float64Array.from({ length: 784 }, (_, i) => (i * 91) % 256);
    const want = specForward(
      spec,
      pixels.map((p) => (p - offset) * scale),
      1,
    );
    const got = forward(
      model,
      pixels.map((p) => p * scale),
    );
    got.forEach((p, j) => expect(Math.abs(p - want[j])).toBeLessThan(1e-13));
  });

  it('a flat input of another size is a vector of features (offset/scale per feature), or an image with --input image:WxH', async () => {
    const spec = mlpSpec([13, 8, 3], 7);
    const file = write(encode(spec));
    const offset = Array.from({ length: 13 }, (_, i) => 10 + i);
    const scale = Array.from({ length: 13 }, (_, i) => 1 / (1 + i));
    const vec = await importCli(file, ['--input-offset', offset.join(','), '--input-scale', scale.join(',')]);
    expect(vec.stderr).toBe('');
    expect(vec.code).toBe(0);
    expect(vec.stdout).toContain("input     'x' [batch, 13] as 13 features, x = (v - [13 values]) * [13 values]");
    const doc = JSON.parse(fs.readFileSync(vec.out, 'utf8'));
    expect(doc).toMatchObject({ version: 2, input: { kind: 'vector', size: 13, offset, scale } });
    const model = loadModel(fs.readFileSync(vec.out, 'utf8'));
    const v = Float64Array.from({ length: 13 }, (_, i) => 3 * i + 1);
    const want = specForward(
      spec,
      v.map((x, i) => (x - offset[i]) * scale[i]),
      1,
    );
    forwardValues(model, v).forEach((p, j) => expect(Math.abs(p - want[j])).toBeLessThan(1e-14));
    const wrong = await importCli(file, ['--input-scale', '1,2']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--input-scale: 2 numbers, expected 1 or 13 (one per feature)');
    const sq = write(encode(mlpSpec([100, 8, 3], 8)));
    const bad = await importCli(sq, ['--input', 'image:10x11']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('10x11x1 is not the graph');
    expect(fs.existsSync(bad.out)).toBe(false);
    const ok = await importCli(sq, ['--input', 'image:10x10', '--labels', write('["a","b","c"]', 'l.json')]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(ok.out, 'utf8'))).toMatchObject({
      version: 1,
      input: { width: 10, height: 10 },
      labels: ['a', 'b', 'c'],
    });
  });

  it('an RGB image input [N, 3, H, W] (channels first) becomes an interleaved 3-channel model; per-channel offsets fold', async () => {
    const [W, H] = [4, 3];
    const spec = mlpSpec([3 * W * H, 6, 2], 21);
    spec.inputs = [valueInfo('image', ['N', 3, H, W])];
    spec.nodes.unshift(node('Flatten', ['image'], ['x'], 'flatten', { axis: 1 }));
    const offset = [123.7, 116.3, 103.5];
    const scale = 0.0171;
    const r = await importCli(write(encode(spec)), [
      '--input-offset',
      offset.join(','),
      '--input-scale',
      String(scale),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`as a 4x3 RGB image (resize), x = (pixel - [3 values]) * ${scale}`);
    const doc = JSON.parse(fs.readFileSync(r.out, 'utf8'));
    expect(doc.input).toEqual({ kind: 'image', width: W, height: H, channels: 3, scale, preprocess: 'resize' });
    const model = loadModel(fs.readFileSync(r.out, 'utf8'));
    // Interleaved pixels for digitkit; the same image planar (CHW) for the graph.
    const pixels = Uint8Array.from({ length: 3 * W * H }, (_, i) => (i * 53) % 256);
    const planar = new Float64Array(3 * W * H);
    for (let p = 0; p < W * H; p++)
      for (let c = 0; c < 3; c++) planar[c * W * H + p] = (pixels[p * 3 + c] - offset[c]) * scale;
    const want = specForward(spec, planar, 1);
    forwardPixels(model, pixels).forEach((q, j) => expect(Math.abs(q - want[j])).toBeLessThan(1e-13));
  });

  it('Identity, Dropout, Cast to double and Constant-node weights are read through', async () => {
    const spec = mlpSpec([784, 8, 10], 9);
    // W0 becomes a Constant node; the input goes through Cast(double) and Identity; Dropout after the Relu.
    const w0 = spec.inits.shift()!;
    spec.nodes.unshift({
      op_type: 'Constant',
      name: 'const_W0',
      output: ['W0'],
      attribute: [{ name: 'value', type: 4, t: w0 }],
    });
    spec.nodes.unshift(
      node('Identity', ['x64'], ['x1'], 'identity'),
      node('Cast', ['x'], ['x64'], 'cast', { to: DataType.DOUBLE }),
    );
    const mm = spec.nodes.find((q) => q.name === 'dense_0/MatMul')!;
    mm.input![0] = 'x1';
    const relu = spec.nodes.find((q) => q.name === 'dense_0/Relu')!;
    relu.output = ['r0'];
    spec.nodes.splice(spec.nodes.indexOf(relu) + 1, 0, node('Dropout', ['r0'], ['a0'], 'dropout'));
    // The graph is not valid for onnxruntime (MatMul of double by float) but reads as the same MLP.
    const r = await importCli(write(encode(spec)));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('digitkit import: bad input is exit 3, one line naming the file and the problem, nothing written', () => {
  const good = encode(mlpSpec([784, 16, 10], 11));
  const previous = '{"keep": "this file"}\n';

  async function rejects(file: string, problem: string | RegExp, args: string[] = []) {
    const out = path.join(dir, `kept${n++}.json`);
    fs.writeFileSync(out, previous);
    const r = await importCli(file, args, out);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`digitkit import: ${args.includes('--labels') ? '' : file}`)).toBe(true);
    if (typeof problem === 'string') expect(lines[0]).toContain(problem);
    else expect(lines[0]).toMatch(problem);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(out, 'utf8')).toBe(previous);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    return lines[0];
  }

  it('a truncated ONNX file', async () => {
    await rejects(
      write(good.subarray(0, Math.floor(good.length * 0.6))),
      'is not an ONNX model (truncated or not protobuf',
    );
  });

  it('files that are not ONNX: a PNG, a JSON model, an empty file', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'white' } })
      .png()
      .toBuffer();
    await rejects(write(png), 'is not an ONNX model');
    await rejects(write(fs.readFileSync(path.join(ROOT, 'models/mnist-int8.json'))), 'is not an ONNX model');
    await rejects(write(new Uint8Array(0)), 'is not an ONNX model');
  });

  it('an unsupported op: a Sigmoid, a Conv; each named with its op', async () => {
    const sig = mlpSpec([784, 16, 10], 12);
    sig.nodes.find((q) => q.op_type === 'Relu')!.op_type = 'Sigmoid';
    await rejects(write(encode(sig)), "node 'dense_0/Relu' (Sigmoid) is not supported");
    const conv: Spec = {
      nodes: [
        node('Conv', ['image', 'k'], ['c'], 'conv1', { group: 1 }),
        node('Flatten', ['c'], ['f'], 'flatten'),
        node('Gemm', ['f', 'W'], ['y'], 'fc', { transB: 1 }),
      ],
      inits: [randomTensor('k', [4, 1, 3, 3], 1), randomTensor('W', [10, 2704], 2)],
      inputs: [valueInfo('image', ['N', 1, 28, 28])],
      outputs: [valueInfo('y', ['N', 10])],
    };
    await rejects(write(encode(conv)), "node 'conv1' (Conv) is not supported");
  });

  it('a graph with 3 inputs', async () => {
    const spec = mlpSpec([784, 16, 10], 13);
    spec.inputs.push(valueInfo('mask', ['batch', 784]), valueInfo('temperature', [1]));
    await rejects(write(encode(spec)), 'has 3 inputs (x, mask, temperature)');
  });

  it('a dynamic weight: a MatMul whose weight is a graph input, or is computed from the input', async () => {
    const spec = mlpSpec([784, 16, 10], 14);
    spec.inits = spec.inits.filter((t) => t.name !== 'W1');
    spec.inputs.push(valueInfo('W1', [16, 10]));
    await rejects(write(encode(spec)), "node 'dense_1/MatMul' (MatMul): its weight 'W1' is a graph input");
    const computed = mlpSpec([784, 16, 10], 15);
    computed.nodes.find((q) => q.name === 'dense_0/BiasAdd')!.input = ['m0', 'x'];
    // With one input, a weight computed from it is necessarily a second path from the input.
    await rejects(
      write(encode(computed)),
      "has a branch: value 'x' feeds 2 nodes (node 'dense_0/MatMul' (MatMul), node 'dense_0/BiasAdd' (Add))",
    );
  });

  it('branches: a value feeding two nodes', async () => {
    const spec = mlpSpec([784, 16, 10], 16);
    spec.nodes.push(node('Relu', ['m0'], ['extra'], 'side'));
    await rejects(
      write(encode(spec)),
      "has a branch: value 'm0' feeds 2 nodes (node 'dense_0/BiasAdd' (Add), node 'side' (Relu))",
    );
  });

  it('an output size that disagrees with --labels (the labels file is named)', async () => {
    const labels = write('zero\none\ntwo\n', 'three.txt');
    await rejects(write(good), `${labels}: 3 labels, but`, ['--labels', labels]);
    await rejects(write(good), `${labels}: 3 labels, but`, ['--labels', labels]);
    const blank = write('a\nb\n\nc\n', 'blank.txt');
    await rejects(write(good), `${blank}: line 3 is empty`, ['--labels', blank]);
  });

  it('weights in an external file, a non-float input, two layers with no Relu between them', async () => {
    const ext = mlpSpec([784, 16, 10], 17);
    ext.inits[0] = {
      name: 'W0',
      data_type: DataType.FLOAT,
      dims: [784, 16],
      data_location: 1,
      external_data: [{ key: 'location', value: 'w.bin' }],
    };
    await rejects(write(encode(ext)), "initializer 'W0' keeps its data in an external file");
    const ints = mlpSpec([784, 16, 10], 18);
    ints.inputs[0] = valueInfo('x', ['batch', 784], DataType.INT64);
    await rejects(write(encode(ints)), "input 'x' is tensor(int64), expected tensor(float) or tensor(double)");
    const linear = mlpSpec([784, 16, 10], 19);
    linear.nodes = linear.nodes.filter((q) => q.op_type !== 'Relu');
    linear.nodes.find((q) => q.name === 'dense_1/MatMul')!.input![0] = 'z0';
    await rejects(write(encode(linear)), "node 'dense_1/MatMul' (MatMul) follows a layer without a Relu");
    const wrong = mlpSpec([784, 16, 10], 20);
    wrong.inits[2] = rawTensor('W1', DataType.DOUBLE, [17, 10], float64Bytes(new Array(170).fill(0.1)));
    await rejects(
      write(encode(wrong)),
      "node 'dense_1/MatMul' (MatMul): weight has 17 rows, the previous layer gives 16 values",
    );
  });
});
