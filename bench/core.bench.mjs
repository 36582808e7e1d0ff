// The inference core as shipped (dist/core/index.js) on the real t10k digits: module size, model
// load time, single-image latency and batch throughput. Model: $DIGITKIT_BENCH_MODEL, else
// models/mnist-int8.json, else random weights of the shipped shape (speed barely depends on values).
import fs from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import * as core from '../dist/core/index.js';
import { loadMnist } from '../dist/data/load.js';
import { embeddedMnistDir } from '../dist/data/mnist.js';
import { formatModel } from '../dist/node/model-file.js';

const CORE = new URL('../dist/core/index.js', import.meta.url);

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

const file =
  process.env.DIGITKIT_BENCH_MODEL ?? (fs.existsSync('models/mnist-int8.json') ? 'models/mnist-int8.json' : null);
const text = file ? fs.readFileSync(file, 'utf8') : randomModel();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const js = fs.readFileSync(CORE);
console.log(`core module: ${js.length} bytes, ${gzipSync(js, { level: 9 }).length} bytes gzipped`);
console.log(`model: ${file ?? 'random int8 weights (784-128-64-10)'}, ${Buffer.byteLength(text)} bytes`);
console.log(
  `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (timings are only as quiet as the machine)`,
);

const loads = [];
let model;
for (let r = 0; r < 20; r++) {
  const t = performance.now();
  model = core.loadModel(text, file ?? 'random');
  loads.push(performance.now() - t);
}
console.log(`load (parse + validate + dequantize): ${median(loads).toFixed(2)} ms (median of 20)`);

const { test } = await loadMnist(embeddedMnistDir(), ['t10k']);
const n = test.count;
const size = 784;
const xs = new Float64Array(n * size);
for (let i = 0; i < n; i++)
  core.pixelsToInput(model, test.images.subarray(i * size, (i + 1) * size), xs.subarray(i * size, (i + 1) * size));

// Single image: classifyPixels from raw 0..255 pixels (what predict and a browser call), one
// call timed at a time, over all of t10k; repeated, the median run reported.
const lat = new Float64Array(n);
const runs = [];
let correct = 0;
for (let r = 0; r < 6; r++) {
  correct = 0;
  for (let i = 0; i < n; i++) {
    const px = test.images.subarray(i * size, (i + 1) * size);
    const t = performance.now();
    const c = core.classifyPixels(model, px);
    lat[i] = performance.now() - t;
    if (c.index === test.labels[i]) correct++;
  }
  if (r > 0) runs.push(Float64Array.from(lat).sort()); // run 0 warms up
}
const pick = (q) => median(runs.map((s) => s[Math.floor(q * (n - 1))])) * 1000;
const mean = median(runs.map((s) => s.reduce((a, b) => a + b, 0) / n)) * 1000;
console.log(
  `single image (classifyPixels, ${n} t10k digits x ${runs.length} runs): mean ${mean.toFixed(1)} µs, p50 ${pick(0.5).toFixed(1)} µs, p99 ${pick(0.99).toFixed(1)} µs   [target <= 27 µs]`,
);
console.log(
  `  accuracy on t10k: ${((correct / n) * 100).toFixed(2)}%${file ? '' : ' (random weights: chance level is expected)'}`,
);

// The forward pass alone, on prepared inputs, one image per call; best run.
const probs = new Float64Array(10);
const fwd = [];
for (let r = 0; r < 6; r++) {
  const t = performance.now();
  for (let i = 0; i < n; i++) core.forward(model, xs.subarray(i * size, (i + 1) * size), probs);
  if (r > 0) fwd.push(((performance.now() - t) / n) * 1000);
}
console.log(
  `forward alone (prepared input, ${n} images x ${fwd.length} runs): best ${Math.min(...fwd).toFixed(1)} µs, median ${median(fwd).toFixed(1)} µs per image`,
);

// Batch, the natural API for images: forwardPixels over all of t10k's raw pixels (one call, as
// eval and a server classifying a block of images make it), repeated.
const out = new Float64Array(n * 10);
const batch = (fn) => {
  const rates = [];
  for (let r = 0; r < 8; r++) {
    const t = performance.now();
    fn();
    if (r > 0) rates.push(n / ((performance.now() - t) / 1000));
  }
  return `median ${Math.round(median(rates)).toLocaleString('en-US')} images/s, best ${Math.round(Math.max(...rates)).toLocaleString('en-US')}`;
};
console.log(
  `batch (forwardPixels, raw pixels, ${n} images x 7 runs): ${batch(() => core.forwardPixels(model, test.images, out))}   [target >= 75,000]`,
);
// forwardBatch takes input vectors already scaled (x = pixel * input.scale), prepared once above.
console.log(
  `batch (forwardBatch, scaled inputs, ${n} images x 7 runs): ${batch(() => core.forwardBatch(model, xs, n, out))}`,
);
