// digitkit/core-wasm as it ships (dist/core-wasm/index.js): one file that imports nothing, runs in a
// realm with only the JavaScript built-ins and WebAssembly, computes the core's results within the
// fixtures' tolerance of the float64 reference (shipped fixtures, float32 and per-column int8 models,
// odd shapes), and falls back to the portable core where there is no WebAssembly.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { rolldown } from 'rolldown';
import { describe, expect, it } from 'vitest';
import * as core from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { formatModel, readModelFile, type LayerToWrite } from '../src/node/model-file.js';
import { readFixturesFile, type Fixtures } from '../src/verify/fixtures-file.js';
import { makeFixtures } from '../src/verify/fixtures.js';
import { referenceProbs } from '../src/verify/reference.js';
import { ROOT, runCli } from './helpers/cli.js';
import { randomLayers, randomModelText, rng, tempDir } from './helpers/random-model.js';
import { digitAt, LOOKS, renderDigit } from './helpers/render.js';

const MODULE = path.join(ROOT, 'dist/core-wasm/index.js');
const wasm: typeof import('../src/core-wasm/index.js') = await import(pathToFileURL(MODULE).href);
const run = promisify(execFile);

const { test: t10k } = await loadMnist(embeddedMnistDir(), ['t10k']);
const digits = (from: number, n: number) => t10k!.images.subarray(from * 784, (from + n) * 784);

/** The UCI wine measurements scikit-learn ships (178 rows, 13 features), and standardising statistics. */
function wine() {
  const rows = fs
    .readFileSync('/usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number).slice(0, 13));
  const mean = rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  const invStd = mean.map((m, j) => 1 / Math.sqrt(rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / rows.length));
  return { rows, mean, invStd };
}

/** The largest |p - expected| over a fixtures file's cases, run through core-wasm. */
function worstOnFixtures(model: ReturnType<typeof wasm.loadModel>, fixtures: Fixtures): number {
  let worst = 0;
  for (const c of fixtures.cases) {
    const probs = wasm.classifyPixels(model, wasm.decodeBase64(c.pixels!)!).probs;
    c.probs.forEach((p, j) => (worst = Math.max(worst, Math.abs(probs[j] - p))));
  }
  return worst;
}

/** The largest |p - reference| over `n` images of `size` pixels, and over every class. */
function worstVsReference(
  model: ReturnType<typeof wasm.loadModel>,
  raw: core.RawModel,
  images: Uint8Array,
  size: number,
) {
  const probs = wasm.forwardPixels(model, images);
  const classes = raw.labels.length;
  let worst = 0;
  for (let i = 0; i < images.length / size; i++) {
    const want = referenceProbs(raw, images.subarray(i * size, (i + 1) * size));
    for (let j = 0; j < classes; j++) worst = Math.max(worst, Math.abs(probs[i * classes + j] - want[j]));
  }
  return worst;
}

describe('the shipped core-wasm module', () => {
  it('is one file that imports nothing, and bundles for the browser with nothing left over', async () => {
    const js = fs.readFileSync(MODULE, 'utf8');
    for (const word of [/\bimport\b/, /\brequire\b/, /node:/, /\bprocess\b/, /\bBuffer\b/])
      expect(js).not.toMatch(word);
    const warnings: string[] = [];
    const bundle = await rolldown({
      input: MODULE,
      platform: 'browser',
      logLevel: 'warn',
      onLog: (_level, log) => {
        warnings.push(log.message);
      },
    });
    const { output } = await bundle.generate({ format: 'es' });
    await bundle.close();
    expect(warnings).toEqual([]);
    expect(output[0].imports).toEqual([]);
    expect(output[0].dynamicImports).toEqual([]);
    // The kernel is inline, and small: the whole module stays a modest download.
    expect(gzipSync(fs.readFileSync(MODULE), { level: 9 }).length).toBeLessThan(16 * 1024);
  });

  it('runs on its kernel where there is wasm SIMD, with the core API and the core’s errors', () => {
    expect(wasm.wasmSimd).toBe(true);
    const text = fs.readFileSync(path.join(ROOT, 'models/mnist-int8.json'), 'utf8');
    const model = wasm.loadModel(text, 'models/mnist-int8.json');
    expect(model.engine).toBe('wasm');
    expect(model.labels).toEqual(core.loadModel(text).labels);
    expect(model.layers.map((l) => [l.rows, l.cols])).toEqual([
      [784, 128],
      [128, 64],
      [64, 10],
    ]);
    const c = wasm.classifyPixels(model, digits(0, 1));
    expect(c.index).toBe(t10k!.labels[0]);
    expect(c.label).toBe(String(t10k!.labels[0]));
    expect(c.probability).toBe(c.probs[c.index]);
    expect(() => wasm.classifyPixels(model, digits(0, 2))).toThrow(new RangeError('1568 pixels, expected 784'));
    expect(() => wasm.forwardPixels(model, new Uint8Array(785))).toThrow(
      new RangeError('785 pixels, expected a multiple of 784'),
    );
    const bad = text.replace('"version":1', '"version":7');
    expect(() => wasm.loadModel(bad, 'x.json')).toThrow(/^x\.json: version is 7, this reader knows version/);
    expect(() => wasm.loadModel(bad, 'x.json')).toThrow(
      (() => {
        try {
          core.loadModel(bad, 'x.json');
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    );
  });
});

describe('core-wasm parity with the float64 reference', () => {
  it('passes the shipped fixtures (models/mnist-int8.json) within their tolerance, far inside it', async () => {
    const fixtures = await readFixturesFile(path.join(ROOT, 'fixtures/parity.json'));
    const model = wasm.loadModel(fs.readFileSync(path.join(ROOT, 'models/mnist-int8.json'), 'utf8'));
    const worst = worstOnFixtures(model, fixtures);
    expect(fixtures.cases.length).toBe(100);
    expect(worst).toBeLessThanOrEqual(fixtures.tolerance);
    // The first layer is exact integers, the rest float64: rounding noise only.
    expect(worst).toBeLessThan(1e-12);
  });

  it('passes fixtures made for the shipped float32 model and for an int4 model quantized from it', async () => {
    const dir = tempDir();
    const f32 = await readModelFile(path.join(ROOT, 'models/mnist-f32.json'));
    // int4 per output column by the contract's rule: scale = max|w| / 7, q = round(w / scale).
    const layers: LayerToWrite[] = f32.raw.layers.map((l) => {
      const scale = Array.from({ length: l.cols }, (_, j) => {
        let max = 0;
        for (let i = 0; i < l.rows; i++) max = Math.max(max, Math.abs(l.q[i * l.cols + j]));
        return max / 7 || 1;
      });
      const w = Int8Array.from(l.q, (v, i) => Math.round(v / scale[i % l.cols]));
      return { rows: l.rows, cols: l.cols, dtype: 'int4', w, scale, b: l.b };
    });
    fs.writeFileSync(path.join(dir, 'mnist-int4.json'), formatModel({ layers, meta: {} }));
    const int4 = await readModelFile(path.join(dir, 'mnist-int4.json'));
    expect(int4.raw.layers.map((l) => l.dtype)).toEqual(['int4', 'int4', 'int4']);
    for (const file of [f32, int4]) {
      const fixtures = makeFixtures(file, t10k!);
      const model = wasm.loadModel(file.bytes.toString('utf8'), file.path);
      expect(model.engine).toBe('wasm');
      const worst = worstOnFixtures(model, fixtures);
      expect(worst, file.path).toBeLessThanOrEqual(fixtures.tolerance);
      expect(worst, file.path).toBeLessThan(1e-12);
    }
  });

  it('matches the reference for version-2 models: int4, mixed dtypes, 3 channels, vector inputs', () => {
    const rgbInput = { width: 16, height: 12, channels: 3, scale: 1 / 255, preprocess: 'resize' as const };
    const rgb = Uint8Array.from({ length: 16 * 12 * 3 * 30 }, (_, i) => {
      // MNIST digits' pixels tinted per channel: real strokes, three different channels.
      const img = Math.floor(i / (16 * 12 * 3)),
        p = Math.floor((i % (16 * 12 * 3)) / 3);
      return Math.round(digits(img, 1)[(p % 16) + 6 + 28 * (Math.floor(p / 16) + 8)] * [1, 0.6, 0.3][i % 3]);
    });
    const cases: [string, string, Uint8Array, number][] = [
      ['int4', randomModelText({ dtype: 'int4', shape: [784, 32, 16, 10], seed: 8 }), digits(0, 200), 784],
      [
        'mixed',
        randomModelText({ dtypes: ['int4', 'int8', 'float32'], shape: [784, 32, 16, 10], seed: 9 }),
        digits(0, 200),
        784,
      ],
      [
        'mixed, float32 first',
        randomModelText({ dtypes: ['float32', 'int4', 'int8'], shape: [784, 24, 10], seed: 10 }),
        digits(0, 200),
        784,
      ],
      ...(['int8', 'int4', 'float32'] as const).map((dtype): [string, string, Uint8Array, number] => [
        `rgb ${dtype}`,
        randomModelText({ dtype, shape: [576, 24, 5], seed: 6, input: rgbInput, labels: ['a', 'b', 'c', 'd', 'e'] }),
        rgb,
        576,
      ]),
    ];
    for (const [name, text, images, size] of cases) {
      const model = wasm.loadModel(text);
      expect(model.engine, name).toBe('wasm');
      expect(worstVsReference(model, core.parseRawModel(text), images, size), name).toBeLessThan(1e-12);
    }
    const { rows, mean, invStd } = wine();
    for (const dtype of ['float32', 'int8', 'int4'] as const) {
      const text = randomModelText({
        dtype,
        shape: [13, 16, 8, 3],
        seed: 5,
        input: { kind: 'vector', size: 13, offset: mean, scale: invStd },
        labels: ['class_0', 'class_1', 'class_2'],
      });
      const model = wasm.loadModel(text);
      const raw = core.parseRawModel(text);
      const all = wasm.forwardValues(model, rows.flat());
      let worst = 0;
      rows.forEach((r, i) => {
        const want = referenceProbs(raw, r);
        const one = wasm.classifyValues(model, r).probs;
        for (let j = 0; j < 3; j++) {
          worst = Math.max(worst, Math.abs(one[j] - want[j]));
          expect(all[i * 3 + j]).toBe(one[j]);
        }
      });
      expect(worst, `vector ${dtype}`).toBeLessThan(1e-12);
    }
  });

  it('checks each input kind and count as the core does, and never gives NaN probabilities', () => {
    const { rows, mean, invStd } = wine();
    const vecText = randomModelText({
      dtype: 'float32',
      shape: [13, 16, 8, 3],
      seed: 5,
      input: { kind: 'vector', size: 13, offset: mean, scale: invStd },
      labels: ['a', 'b', 'c'],
    });
    const vec = wasm.loadModel(vecText);
    const img = wasm.loadModel(randomModelText({ dtype: 'int4', shape: [784, 32, 10], seed: 8 }));
    expect(() => wasm.classifyPixels(vec, new Uint8Array(13))).toThrow(
      new RangeError("the model's input kind is vector: it does not take pixels"),
    );
    expect(() => wasm.forwardValues(img, new Float64Array(784))).toThrow(
      new RangeError("the model's input kind is image: it does not take values"),
    );
    expect(() => wasm.classifyValues(vec, [1, 2, 3])).toThrow(new RangeError('3 values, expected 13'));
    // Values far outside the data: the same finite probabilities as the core, or the same RangeError.
    const coreVec = core.loadModel(vecText);
    for (const bad of [1e300, -1e300, Number.MAX_VALUE, NaN, Infinity, -Infinity, 1e6]) {
      const row = rows[0].slice();
      row[12] = bad;
      const outcome = (f: () => Float64Array) => {
        try {
          return Array.from(f());
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      };
      const got = outcome(() => wasm.classifyValues(vec, row).probs);
      const want = outcome(() => core.classifyValues(coreVec, row).probs);
      if (typeof want == 'string') expect(got, String(bad)).toBe(want);
      else {
        expect((got as number[]).every(Number.isFinite), String(bad)).toBe(true);
        (got as number[]).forEach((p, j) => expect(Math.abs(p - want[j])).toBeLessThan(1e-12));
      }
    }
  });

  it('matches the reference on 1,000 real digits for the shipped int8 and float32 models', () => {
    for (const name of ['mnist-int8', 'mnist-f32']) {
      const text = fs.readFileSync(path.join(ROOT, `models/${name}.json`), 'utf8');
      const worst = worstVsReference(wasm.loadModel(text), core.parseRawModel(text), digits(0, 1000), 784);
      expect(worst, name).toBeLessThan(1e-12);
    }
  });

  it('matches the reference for per-column int8 scales, float32, and shapes that fill no SIMD block', () => {
    const rand = rng(5);
    // 27x27 inputs (729: no multiple of 16), 7 / 13 / 3 columns (no multiple of 4), 4 layers.
    const shape = [729, 7, 13, 11, 3];
    for (const [dtype, perChannel] of [
      ['int8', false],
      ['int8', true],
      ['float32', false],
    ] as const) {
      const text = formatModel({
        dtype,
        input: { width: 27, height: 27, scale: 1 / 255 },
        labels: ['a', 'b', 'c'],
        layers: randomLayers({ dtype, perChannel, shape, seed: 9 }),
        meta: {},
      });
      const images = Uint8Array.from({ length: 729 * 40 }, (_, i) =>
        i < 729 ? 255 : rand() < 0.3 ? Math.floor(rand() * 256) : 0,
      );
      const model = wasm.loadModel(text);
      expect(model.engine).toBe('wasm');
      expect(worstVsReference(model, core.parseRawModel(text), images, 729), `${dtype} ${perChannel}`).toBeLessThan(
        1e-12,
      );
    }
  });

  it('gives one image the same probabilities alone or anywhere in a batch (blocks of 256 included)', () => {
    const text = randomModelText({ seed: 3, perChannel: true });
    const model = wasm.loadModel(text);
    const batch = wasm.forwardPixels(model, digits(100, 600));
    for (const i of [0, 1, 255, 256, 257, 511, 512, 599]) {
      const alone = wasm.classifyPixels(model, digits(100 + i, 1)).probs;
      expect(Array.from(batch.subarray(i * 10, (i + 1) * 10))).toEqual(Array.from(alone));
    }
    // Into a caller's buffer, as the core's forwardPixels.
    const out = new Float64Array(600 * 10);
    expect(wasm.forwardPixels(model, digits(100, 600), out)).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(batch));
    expect(wasm.forwardPixels(model, new Uint8Array(0))).toEqual(new Float64Array(0));
  });

  it('takes plain arrays, and pixels that are not integers 0..255 through the core (the same results)', () => {
    const text = randomModelText({ seed: 4 });
    const model = wasm.loadModel(text);
    const coreModel = core.loadModel(text);
    const px = digits(7, 1);
    expect(Array.from(wasm.classifyPixels(model, Array.from(px)).probs)).toEqual(
      Array.from(wasm.classifyPixels(model, px).probs),
    );
    for (const odd of [
      Array.from(px, (v) => v / 2),
      Array.from(px, (v) => (v ? v + 300 : 0)),
      Array.from(px, (v) => -v),
    ])
      expect(wasm.classifyPixels(model, odd).probs).toEqual(core.classifyPixels(coreModel, odd).probs);
  });
});

describe('core-wasm outside Node', () => {
  /** Runs the module in a vm realm holding only the JavaScript built-ins (WebAssembly among them, unless removed). */
  async function inRealm(withWasm: boolean, modelText: string, images: number[][]) {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({ modelText, images }));
    const script = path.join(dir, 'realm.mjs');
    fs.writeFileSync(
      script,
      `
      import fs from 'node:fs';
      import vm from 'node:vm';
      const [file, input, withWasm] = process.argv.slice(2);
      const context = vm.createContext({});
      if (withWasm !== 'yes') vm.runInContext('delete globalThis.WebAssembly', context);
      const names = vm.runInContext('Object.getOwnPropertyNames(globalThis).join()', context);
      const mod = new vm.SourceTextModule(fs.readFileSync(file, 'utf8'), { context, identifier: 'core-wasm' });
      await mod.link((spec) => { throw new Error('core-wasm imports ' + spec); });
      await mod.evaluate();
      context.cw = mod.namespace;
      context.input = fs.readFileSync(input, 'utf8');
      const out = vm.runInContext(\`
        const { modelText, images } = JSON.parse(input);
        const model = cw.loadModel(modelText, 'model.json');
        JSON.stringify({ engine: model.engine, simd: cw.wasmSimd, probs: images.map((px) => Array.from(cw.classifyPixels(model, px).probs)) });
      \`, context);
      process.stdout.write(JSON.stringify({ names, ...JSON.parse(out) }));
    `,
    );
    const { stdout } = await run(process.execPath, [
      '--experimental-vm-modules',
      '--no-warnings',
      script,
      MODULE,
      path.join(dir, 'input.json'),
      withWasm ? 'yes' : 'no',
    ]);
    return JSON.parse(stdout) as { names: string; engine: string; simd: boolean; probs: number[][] };
  }

  const modelText = randomModelText({ seed: 21 });
  const images = [0, 1, 2].map((i) => Array.from(digits(i, 1)));

  it('runs its kernel in a realm with only the JavaScript built-ins and WebAssembly', async () => {
    const got = await inRealm(true, modelText, images);
    for (const g of ['process', 'Buffer', 'require', 'atob', 'TextDecoder', 'fetch', 'window'])
      expect(got.names.split(',')).not.toContain(g);
    expect(got.engine).toBe('wasm');
    const model = wasm.loadModel(modelText);
    // The same kernel in both realms: the same bits.
    expect(got.probs).toEqual(images.map((px) => Array.from(wasm.classifyPixels(model, px).probs)));
  });

  it('falls back to the portable core, with the core’s exact results, in a realm without WebAssembly', async () => {
    const got = await inRealm(false, modelText, images);
    expect(got.names.split(',')).not.toContain('WebAssembly');
    expect(got.simd).toBe(false);
    expect(got.engine).toBe('core');
    const model = core.loadModel(modelText);
    expect(got.probs).toEqual(images.map((px) => Array.from(core.classifyPixels(model, px).probs)));
  });

  it('falls back to the portable core in a Node runtime without WebAssembly (--jitless)', async () => {
    const dir = tempDir();
    const modelFile = path.join(dir, 'model.json');
    fs.writeFileSync(modelFile, modelText);
    const { stdout } = await run(process.execPath, [
      '--jitless',
      '--no-warnings',
      '--input-type=module',
      '-e',
      `
      import fs from 'node:fs';
      const cw = await import(${JSON.stringify(pathToFileURL(MODULE).href)});
      const core = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/core/index.js')).href)});
      const text = fs.readFileSync(${JSON.stringify(modelFile)}, 'utf8');
      const images = ${JSON.stringify(images)};
      const m = cw.loadModel(text), c = core.loadModel(text);
      const same = images.every((px) => cw.classifyPixels(m, px).probs.every((p, j) => p === core.classifyPixels(c, px).probs[j]));
      console.log(JSON.stringify({ wasm: typeof WebAssembly, simd: cw.wasmSimd, engine: m.engine, same }));
      `,
    ]);
    expect(JSON.parse(stdout)).toEqual({ wasm: 'undefined', simd: false, engine: 'core', same: true });
  });
});

describe('core-wasm on threads', () => {
  it('runs one model from two threads on one copy of the weights, with the one-thread results', async () => {
    const dir = tempDir();
    const modelText = randomModelText({ seed: 8 });
    const worker = path.join(dir, 'worker.mjs');
    fs.writeFileSync(
      worker,
      `
      import { parentPort, workerData } from 'node:worker_threads';
      const cw = await import(workerData.url);
      const model = cw.attachModel(workerData.shared);
      parentPort.postMessage(Array.from(cw.forwardPixels(model, workerData.pixels)));
      `,
    );
    const main = path.join(dir, 'main.mjs');
    fs.writeFileSync(
      main,
      `
      import fs from 'node:fs';
      import { Worker } from 'node:worker_threads';
      const [url, modelFile, pixelsFile] = process.argv.slice(2);
      const cw = await import(url);
      const text = fs.readFileSync(modelFile, 'utf8');
      const pixels = new Uint8Array(fs.readFileSync(pixelsFile));
      const shared = cw.loadModel(text, 'model.json', { threads: 2 });
      const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { url, shared: cw.shareModel(shared, 1), pixels } });
      const message = new Promise((r) => w.once('message', r));
      // This thread runs its slot while the worker runs its own.
      let ours;
      for (let k = 0; k < 20; k++) ours = Array.from(cw.forwardPixels(shared, pixels));
      const theirs = await message;
      const alone = Array.from(cw.forwardPixels(cw.loadModel(text), pixels));
      console.log(JSON.stringify({ same: JSON.stringify(theirs) === JSON.stringify(alone) && JSON.stringify(ours) === JSON.stringify(alone), n: alone.length }));
      `,
    );
    fs.writeFileSync(path.join(dir, 'model.json'), modelText);
    fs.writeFileSync(path.join(dir, 'pixels.bin'), digits(0, 300));
    const { stdout } = await run(process.execPath, [
      main,
      pathToFileURL(MODULE).href,
      path.join(dir, 'model.json'),
      path.join(dir, 'pixels.bin'),
    ]);
    expect(JSON.parse(stdout)).toEqual({ same: true, n: 3000 });
    const model = wasm.loadModel(modelText);
    expect(() => wasm.shareModel(model, 1)).toThrow(/not loaded with threads > 1/);
  });
});

describe('predict and eval on core-wasm (as built)', () => {
  it('classify through the kernel, with the portable core’s answers', async () => {
    const dir = tempDir();
    const modelFile = path.join(ROOT, 'models/mnist-int8.json');
    const coreModel = core.loadModel(fs.readFileSync(modelFile, 'utf8'));
    // predict: 12 real t10k digits drawn on 200x200 canvases, dark ink on white.
    const files: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { bytes, ext } = await renderDigit(digitAt(t10k!, i).pixels, LOOKS['canvas 200x200'], rng(i + 1));
      files.push(path.join(dir, `d${i}.${ext}`));
      fs.writeFileSync(files[i], bytes);
    }
    const { runPredict } = await import(pathToFileURL(path.join(ROOT, 'dist/predict/predict.js')).href);
    const { classifyImage } = await import(pathToFileURL(path.join(ROOT, 'dist/predict/classify.js')).href);
    const report = await runPredict({ inputs: files, model: modelFile, threads: 1 });
    expect(report.engine).toBe('wasm');
    expect(report.rejected).toBe(0);
    for (const [i, r] of report.results.entries()) {
      const { pixels } = await classifyImage(
        fs.readFileSync(files[i]),
        wasm.loadModel(fs.readFileSync(modelFile, 'utf8')),
      );
      const want = core.classifyPixels(coreModel, pixels);
      expect(r.index).toBe(want.index);
      expect(r.label).toBe(want.label);
      expect(Math.abs(r.probability - want.probability)).toBeLessThan(1e-12);
      // The library's classifyImage still takes a core model (what loadModelFile returns).
      const viaCore = await classifyImage(fs.readFileSync(files[i]), coreModel);
      expect(viaCore.probability).toBe(want.probability);
    }
    // eval: every t10k digit, the same predictions and accuracy as the core's forward pass.
    const { runEval } = await import(pathToFileURL(path.join(ROOT, 'dist/eval/evaluate.js')).href);
    const ev = await runEval({ model: modelFile, data: embeddedMnistDir() });
    const probs = core.forwardPixels(coreModel, t10k!.images);
    let correct = 0;
    for (let i = 0; i < t10k!.count; i++) {
      let best = 0;
      for (let j = 1; j < 10; j++) if (probs[i * 10 + j] > probs[i * 10 + best]) best = j;
      correct += +(best === t10k!.labels[i]);
    }
    expect(ev.model.accuracy).toBe(correct / t10k!.count);
  });
});

describe('digitkit verify through core-wasm', () => {
  it('passes the shipped fixtures with --core dist/core-wasm/index.js (the kernel, not the fallback)', async () => {
    const r = await runCli(['verify', '--core', 'dist/core-wasm/index.js']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^core\s+dist\/core-wasm\/index\.js$/m);
    expect(r.stdout).toMatch(/^engine {4}wasm \(WebAssembly SIMD kernel\)$/m);
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK');
    expect(r.code).toBe(0);
  });

  // Bun (JavaScriptCore) has WebAssembly with SIMD; BUN_JSC_useWasmSIMD=0 turns SIMD off and leaves
  // WebAssembly on: a real runtime without wasm SIMD. verify passes the variable on to its Bun child.
  it('in a runtime without wasm SIMD (Bun with BUN_JSC_useWasmSIMD=0) core-wasm falls back to the core: verify says so and passes, with the core’s exact results', async () => {
    const run = async (env: Record<string, string>) => {
      const r = await runCli(['verify', '--runtime', 'bun', '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).rows as { module: string; engine?: string; max: { id: string; diff: number } }[];
    };
    const [withSimd, without] = [await run({}), await run({ BUN_JSC_useWasmSIMD: '0' })];
    expect(withSimd.map((x) => [x.module, x.engine])).toEqual([
      ['dist/core/index.js', undefined],
      ['dist/core-wasm/index.js', 'wasm'],
    ]);
    expect(without.map((x) => [x.module, x.engine])).toEqual([
      ['dist/core/index.js', undefined],
      ['dist/core-wasm/index.js', 'core'],
    ]);
    // The fallback is the core itself: the same worst case, to the bit.
    expect(without[1].max).toEqual(without[0].max);
    for (const row of [...withSimd, ...without]) expect(row.max.diff).toBeLessThanOrEqual(1e-6);
    const text = await runCli(['verify', '--runtime', 'bun', '--core', 'dist/core-wasm/index.js'], {
      env: { BUN_JSC_useWasmSIMD: '0' },
    });
    expect(text.stdout).toMatch(/^engine {4}core \(no wasm SIMD here: the portable core ran\)$/m);
    expect(text.stdout.trim().split('\n').pop()).toBe('PARITY OK');
  });
});

describe('core-wasm in Chromium', () => {
  it('runs its kernel in the browser (wasm SIMD there), with the bits Node computes, and passes verify', async () => {
    const { findChromium, launchChromium } = await import('../src/node/chromium.js');
    const { startStaticServer } = await import('../src/node/static-server.js');
    const modelText = fs.readFileSync(path.join(ROOT, 'models/mnist-int8.json'), 'utf8');
    const fixtures = await readFixturesFile(path.join(ROOT, 'fixtures/parity.json'));
    const server = await startStaticServer(
      new Map<string, string | Uint8Array>([
        ['/index.html', '<!doctype html><meta charset="utf-8"><title>core-wasm</title><link rel="icon" href="data:,">'],
        ['/core-wasm.js', fs.readFileSync(MODULE)],
        ['/model.json', modelText],
      ]),
    );
    const browser = await launchChromium(findChromium());
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      // A string, not a function: vitest would rewrite a function's import() for Node.
      const args = JSON.stringify({
        url: new URL('core-wasm.js', server.url).href,
        pixels: fixtures.cases.map((c) => c.pixels!),
      });
      const got: { simd: boolean; engine: string; probs: number[][] } = await page.evaluate(`(async () => {
        const { url, pixels } = ${args};
        const cw = await import(url);
        const model = cw.loadModel(await (await fetch('model.json')).text(), 'model.json');
        return {
          simd: cw.wasmSimd,
          engine: model.engine,
          probs: pixels.map((p) => Array.from(cw.classifyPixels(model, cw.decodeBase64(p)).probs)),
        };
      })()`);
      expect(got.simd).toBe(true);
      expect(got.engine).toBe('wasm');
      const model = wasm.loadModel(modelText);
      expect(got.probs).toEqual(
        fixtures.cases.map((c) => Array.from(wasm.classifyPixels(model, wasm.decodeBase64(c.pixels!)!).probs)),
      );
      let worst = 0;
      fixtures.cases.forEach((c, k) =>
        c.probs.forEach((p, j) => (worst = Math.max(worst, Math.abs(got.probs[k][j] - p)))),
      );
      expect(worst).toBeLessThan(1e-12);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
