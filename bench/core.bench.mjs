// Inference, side by side in one run on the real t10k digits: the portable core as shipped
// (dist/core/index.js), the WebAssembly SIMD core (dist/core-wasm/index.js) and onnxruntime-node on
// the same model (exported to a minimal ONNX graph here, float32 weights = q * scale). Module sizes,
// load time, single-image latency, batch throughput on 1 and 2 threads, a page's classification of a
// drawing, and each path's max |Δp| against the float64 reference.
//
// Model: $DIGITKIT_BENCH_MODEL, else models/mnist-int8.json, else random weights of the shipped shape
// (speed barely depends on values); models/mnist-f32.json too when it is there.
//
// Noise: every round records how much of the machine other processes took meanwhile (bench/noise.mjs);
// a round during which they took more than 5% is run again (up to 4 times). Engines alternate round by
// round, so a burst that gets through hits them alike.
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as core from '../dist/core/index.js';
import * as wasm from '../dist/core-wasm/index.js';
import { loadMnist } from '../dist/data/load.js';
import { embeddedMnistDir } from '../dist/data/mnist.js';
import { formatModel } from '../dist/node/model-file.js';
import { referenceProbs } from '../dist/verify/reference.js';
import { median, Rounds } from './noise.mjs';
import { onnxFromRaw } from './onnx-graph.mjs';
import { wasmThreads } from './wasm-threads.mjs';

const CORE = new URL('../dist/core/index.js', import.meta.url);
const CORE_WASM = new URL('../dist/core-wasm/index.js', import.meta.url);
const ROUNDS = 7;
/** A batch round repeats the batch until it has run this long (so /proc/stat's 10 ms ticks resolve it). */
const ROUND_MS = 250;

function randomModel() {
  let s = 1;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const layer = (rows, cols) => ({
    rows,
    cols,
    w: Int8Array.from({ length: rows * cols }, () => Math.round(rand() * 127)),
    scale: Math.sqrt(6 / rows) / 127,
    b: new Array(cols).fill(0.01),
  });
  return formatModel({ dtype: 'int8', layers: [layer(784, 128), layer(128, 64), layer(64, 10)], meta: {} });
}

let ort = null;
try {
  ort = createRequire(import.meta.url)('onnxruntime-node');
} catch (e) {
  console.log(`onnxruntime-node: not installed (${e.message.split('\n')[0]}); its columns are left out`);
}
const ortVersion = () => {
  try {
    return createRequire(import.meta.url)('onnxruntime-node/package.json').version;
  } catch {
    return '?';
  }
};

const file =
  process.env.DIGITKIT_BENCH_MODEL ?? (fs.existsSync('models/mnist-int8.json') ? 'models/mnist-int8.json' : null);
const text = file ? fs.readFileSync(file, 'utf8') : randomModel();
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const sizes = (url) => {
  const js = fs.readFileSync(url);
  return `${fmt(js.length)} bytes, ${fmt(gzipSync(js, { level: 9 }).length)} gzipped`;
};

console.log(`core module (dist/core/index.js): ${sizes(CORE)}`);
console.log(`core-wasm module (dist/core-wasm/index.js, kernel inline): ${sizes(CORE_WASM)}`);
console.log(`model: ${file ?? 'random int8 weights (784-128-64-10)'}, ${fmt(Buffer.byteLength(text))} bytes`);
console.log(
  `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, Node ${process.versions.node}, ` +
    `onnxruntime-node ${ort ? ortVersion() : '-'}, wasm SIMD ${wasm.wasmSimd ? 'yes' : 'NO (core-wasm runs the core)'}, ` +
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);

const { test } = await loadMnist(embeddedMnistDir(), ['t10k']);
const n = test.count;
const size = 784;
const image = (i) => test.images.subarray(i * size, (i + 1) * size);

// ---- load ----
const loads = { core: [], wasm: [] };
let coreModel, wasmModel;
for (let r = 0; r < 20; r++) {
  let t = performance.now();
  coreModel = core.loadModel(text, file ?? 'random');
  loads.core.push(performance.now() - t);
  t = performance.now();
  wasmModel = wasm.loadModel(text, file ?? 'random');
  loads.wasm.push(performance.now() - t);
}
console.log(
  `load (parse, validate, lay out): core ${median(loads.core).toFixed(2)} ms, core-wasm ${median(loads.wasm).toFixed(2)} ms (median of 20)`,
);

// The same model for onnxruntime: float32 inputs prepared once (its best case: no conversion timed).
const raw = core.parseRawModel(text);
const xs32 = Float32Array.from(test.images, (p) => p * raw.input.scale);
const sessions = {};
if (ort) {
  const onnx = onnxFromRaw(raw);
  for (const threads of [1, 2])
    sessions[threads] = await ort.InferenceSession.create(onnx, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
}
const ortRun = async (session, start, count) =>
  (
    await session.run({
      x: new ort.Tensor('float32', xs32.subarray(start * size, (start + count) * size), [count, size]),
    })
  ).probs.data;

// ---- parity: max |Δp| against the float64 reference, 1,000 digits, and the argmax agreement on all ----
{
  const m = 1000;
  const worst = { core: 0, wasm: 0, onnxruntime: 0 };
  const pc = core.forwardPixels(coreModel, test.images);
  const pw = wasm.forwardPixels(wasmModel, test.images);
  const po = ort ? await ortRun(sessions[1], 0, n) : null;
  for (let i = 0; i < m; i++) {
    const ref = referenceProbs(raw, image(i));
    for (let j = 0; j < 10; j++) {
      worst.core = Math.max(worst.core, Math.abs(pc[i * 10 + j] - ref[j]));
      worst.wasm = Math.max(worst.wasm, Math.abs(pw[i * 10 + j] - ref[j]));
      if (po) worst.onnxruntime = Math.max(worst.onnxruntime, Math.abs(po[i * 10 + j] - ref[j]));
    }
  }
  let same = 0;
  for (let i = 0; i < n; i++) {
    let a = 0,
      b = 0;
    for (let j = 1; j < 10; j++) {
      if (pc[i * 10 + j] > pc[i * 10 + a]) a = j;
      if (pw[i * 10 + j] > pw[i * 10 + b]) b = j;
    }
    same += +(a === b);
  }
  console.log(
    `max |Δp| vs the float64 reference (${m} t10k digits): core ${worst.core.toExponential(2)}, core-wasm ${worst.wasm.toExponential(2)}` +
      (ort ? `, onnxruntime (float32) ${worst.onnxruntime.toExponential(2)}` : '') +
      `; core-wasm and core agree on ${same}/${n} argmaxes`,
  );
}

// ---- single image: one call timed at a time over t10k, engines alternating per run ----
const single = new Rounds();
const lat = { core: [], wasm: [], onnxruntime: [] };
const SINGLE_N = 2000; // digits per run (onnxruntime's calls are slow: fewer of them)
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of [
    ['core', (px) => core.classifyPixels(coreModel, px)],
    ['wasm', (px) => wasm.classifyPixels(wasmModel, px)],
  ]) {
    const times = await single.round(() => {
      const t = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const px = image(i);
        const t0 = performance.now();
        fn(px);
        t[i] = performance.now() - t0;
      }
      return t.sort();
    });
    if (r > 0) lat[name].push(times); // run 0 warms up
  }
  if (ort) {
    const times = await single.round(async () => {
      const t = new Float64Array(SINGLE_N);
      for (let i = 0; i < SINGLE_N; i++) {
        const t0 = performance.now();
        await ortRun(sessions[1], i, 1);
        t[i] = performance.now() - t0;
      }
      return t.sort();
    });
    if (r > 0) lat.onnxruntime.push(times);
  }
}
const pct = (runs, q) => median(runs.map((s) => s[Math.floor(q * (s.length - 1))])) * 1000;
const singleRow = {};
for (const name of Object.keys(lat)) {
  if (!lat[name].length) continue;
  singleRow[name] = { p50: pct(lat[name], 0.5), p99: pct(lat[name], 0.99) };
}
console.log(`single image (classifyPixels; onnxruntime: session.run on [1, 784], awaited), ${ROUNDS - 1} runs:`);
for (const [name, { p50, p99 }] of Object.entries(singleRow))
  console.log(`  ${name.padEnd(12)} p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`);
console.log(`  noise: ${single.summary()}`);

// ---- batch: all 10,000 digits per call, repeated for ROUND_MS per round ----
const batch = new Rounds();
async function rate(fn, k) {
  return batch.round(async () => {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) await fn();
    return (n * k) / ((performance.now() - t0) / 1000);
  });
}
const out = new Float64Array(n * 10);
const sharedPixels = new Uint8Array(new SharedArrayBuffer(test.images.length));
sharedPixels.set(test.images);
const sharedOut = new Float64Array(new SharedArrayBuffer(n * 10 * 8));
const two = wasm.wasmSimd ? await wasmThreads(CORE_WASM.href, text, 2, sharedPixels, sharedOut, n) : null;
const engines = {
  'core, 1 thread': () => core.forwardPixels(coreModel, test.images, out),
  'core-wasm, 1 thread': () => wasm.forwardPixels(wasmModel, test.images, out),
  ...(ort ? { 'onnxruntime, 1 thread': () => ortRun(sessions[1], 0, n) } : {}),
  ...(two ? { 'core-wasm, 2 threads': () => two.run() } : {}),
  ...(ort ? { 'onnxruntime, 2 threads': () => ortRun(sessions[2], 0, n) } : {}),
};
const batchRates = {};
const k = {};
for (const [name, fn] of Object.entries(engines)) {
  await fn(); // warm up
  const t0 = performance.now();
  await fn();
  k[name] = Math.max(1, Math.ceil(ROUND_MS / (performance.now() - t0)));
  batchRates[name] = [];
}
for (let r = 0; r < ROUNDS; r++)
  for (const [name, fn] of Object.entries(engines)) batchRates[name].push(await rate(fn, k[name]));
console.log(
  `batch (forwardPixels on raw pixels; onnxruntime: run on prepared float32 inputs), ${n} digits per call, median of ${ROUNDS} rounds:`,
);
const batchMedian = {};
for (const [name, rates] of Object.entries(batchRates)) {
  batchMedian[name] = median(rates);
  console.log(`  ${name.padEnd(24)} ${fmt(batchMedian[name]).padStart(9)} images/s (best ${fmt(Math.max(...rates))})`);
}
console.log(`  noise: ${batch.summary()}`);
if (two) {
  // The two threads' results are the one thread's, image for image.
  two.run();
  wasm.forwardPixels(wasmModel, test.images, out);
  const same = out.every((v, i) => v === sharedOut[i]);
  console.log(`  core-wasm on 2 threads gives the 1-thread probabilities exactly: ${same ? 'yes' : 'NO'}`);
  await two.close();
}
// forwardBatch takes input vectors already scaled (x = pixel * input.scale), prepared once.
{
  const xs = Float64Array.from(test.images, (p) => p * raw.input.scale);
  const f = () => core.forwardBatch(coreModel, xs, n, out);
  f();
  const rates = [];
  for (let r = 0; r < 3; r++) rates.push(await rate(f, 1));
  console.log(`  (core forwardBatch on scaled float inputs: ${fmt(median(rates))} images/s)`);
}

// ---- the float32 model (models/mnist-f32.json): its first layer is float64 in core-wasm, not integers ----
if (fs.existsSync('models/mnist-f32.json') && !process.env.DIGITKIT_BENCH_MODEL) {
  const f32text = fs.readFileSync('models/mnist-f32.json', 'utf8');
  const f32raw = core.parseRawModel(f32text);
  const cm = core.loadModel(f32text),
    wm = wasm.loadModel(f32text);
  const s = ort
    ? await ort.InferenceSession.create(onnxFromRaw(f32raw), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      })
    : null;
  const fe = {
    core: () => core.forwardPixels(cm, test.images, out),
    'core-wasm': () => wasm.forwardPixels(wm, test.images, out),
    ...(s ? { onnxruntime: () => ortRun(s, 0, n) } : {}),
  };
  const r = Object.fromEntries(Object.keys(fe).map((k) => [k, []]));
  for (const f of Object.values(fe)) await f();
  for (let round = 0; round < 5; round++)
    for (const [name, f] of Object.entries(fe)) r[name].push(await rate(f, name == 'core' ? 1 : 5));
  console.log(
    `float32 model, batch on 1 thread: ` +
      Object.entries(r)
        .map(([name, v]) => `${name} ${fmt(median(v))} images/s`)
        .join(', '),
  );
}

// ---- a page classifying a drawing: toGray + preprocess + classifyPixels on a 280x280 RGBA pad ----
const pads = [];
for (let i = 0; i < 50; i++) {
  // A t10k digit drawn 10x larger in dark ink on white, as the page's pad holds it.
  const rgba = new Uint8ClampedArray(280 * 280 * 4);
  const px = image(i);
  for (let y = 0; y < 280; y++)
    for (let x = 0; x < 280; x++) {
      const v = 255 - px[((y / 10) | 0) * 28 + ((x / 10) | 0)];
      rgba.set([v, v, v, 255], (y * 280 + x) * 4);
    }
  pads.push(rgba);
}
const page = new Rounds();
const pageTimes = { core: [], wasm: [] };
for (let r = 0; r < ROUNDS; r++)
  for (const [name, lib, model] of [
    ['core', core, coreModel],
    ['wasm', wasm, wasmModel],
  ]) {
    const t = await page.round(() => {
      const times = [];
      for (let rep = 0; rep < 4; rep++)
        for (const rgba of pads) {
          const t0 = performance.now();
          const pre = lib.preprocess(lib.toGray(rgba), 280, 280);
          lib.classifyPixels(model, pre.pixels);
          times.push(performance.now() - t0);
        }
      return median(times);
    });
    if (r > 0) pageTimes[name].push(t);
  }
console.log(
  `page: one drawing classified (toGray + preprocess + classifyPixels, 280x280 RGBA): core ${median(pageTimes.core).toFixed(3)} ms, ` +
    `core-wasm ${median(pageTimes.wasm).toFixed(3)} ms (median)   [target <= 1 ms]`,
);
console.log(`  noise: ${page.summary()}`);

// ---- the summary table, as the README's ----
const bw = batchMedian['core-wasm, 1 thread'],
  bo = batchMedian['onnxruntime, 1 thread'],
  bw2 = batchMedian['core-wasm, 2 threads'],
  bo2 = batchMedian['onnxruntime, 2 threads'];
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
console.log('\n| path | single image p50 / p99 | batch, 1 thread | batch, 2 threads |');
console.log('|---|---|---|---|');
const row = (name, s, b1, b2) =>
  console.log(
    `| ${name} | ${s ? `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} µs` : '-'} | ${b1 ? fmt(b1) : '-'} | ${b2 ? fmt(b2) : '-'} |`,
  );
row('digitkit core', singleRow.core, batchMedian['core, 1 thread'], null);
row('digitkit core-wasm', singleRow.wasm, bw, bw2);
if (ort) row(`onnxruntime-node ${ortVersion()}`, singleRow.onnxruntime, bo, bo2);
if (ort)
  console.log(
    `core-wasm vs onnxruntime: single image ${ratio(singleRow.onnxruntime?.p50, singleRow.wasm?.p50)} faster (p50; target >= 4x, <= 6 µs); ` +
      `batch ${ratio(bw, bo)} (1 thread), ${ratio(bw2, bo2)} (2 threads) of its throughput (target >= 1x)`,
  );
