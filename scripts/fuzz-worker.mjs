// The fuzz suite's worker thread: builds valid inputs of every kind through the library (dist/), then
// for each case index mutates one (seeded: the same index always gives the same bytes) and runs it
// through the library function the CLI uses, reporting the outcome. The main thread watches time
// and memory (scripts/fuzz.mjs), so a hang or a heap blow-up here is seen, not suffered.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import * as dk from '../dist/index.js';
import { parseIdx } from '../dist/data/idx.js';

const { seed } = workerData;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-fuzz-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** mulberry32, as the tests' helper: uniform in [0, 1). */
function rng(s) {
  s >>>= 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// ---- valid inputs of every kind, made through the real writers ----
const r0 = rng(seed);
const layer = (rows, cols, dtype) => {
  const b = Float32Array.from({ length: cols }, () => (r0() - 0.5) * 0.2);
  if (dtype === 'float32')
    return { rows, cols, dtype, w: Float32Array.from({ length: rows * cols }, () => (r0() * 2 - 1) * 0.2), b };
  const Q = dtype === 'int4' ? 7 : 127;
  return {
    rows,
    cols,
    dtype,
    w: Int8Array.from({ length: rows * cols }, () => Math.round((r0() * 2 - 1) * Q)),
    scale: 0.01,
    b,
  };
};
const models = [
  dk.formatModel({
    layers: [layer(784, 12, 'int8'), layer(12, 10, 'int8')],
    meta: { seed, history: { loss: [1, 0.5] } },
  }),
  dk.formatModel({ layers: [layer(784, 8, 'float32'), layer(8, 10, 'float32')], meta: { seed } }),
  dk.formatModel({ layers: [layer(784, 8, 'int4'), layer(8, 10, 'int8')] }),
  dk.formatModel({
    layers: [layer(4, 6, 'int8'), layer(6, 3, 'int8')],
    input: { kind: 'vector', size: 4, offset: [1, 2, 3, 4], scale: [0.5, 0.5, 0.5, 0.5], names: ['a', 'b', 'c', 'd'] },
    labels: ['x', 'y', 'z'],
  }),
];
const imageModel = dk.loadModel(models[0], 'seed-model.json');
const pixels = Uint8Array.from({ length: 784 }, (_, i) => (((i % 28) - 14) ** 2 + ((i / 28) | 0) < 60 ? 255 : 0));
const fixturesText = dk.formatFixtures({
  format: 'digitkit-fixtures',
  version: 1,
  model: { path: 'seed-model.json', sha256: 'a'.repeat(64) },
  tolerance: 1e-6,
  reference: 'float64',
  cases: [0, 1].map((k) => ({
    id: `case-${k}`,
    label: k,
    pixels: Buffer.from(pixels).toString('base64'),
    probs: Array.from(dk.classifyPixels(imageModel, pixels).probs),
  })),
});
const idxImages = Buffer.concat([
  Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]),
  Buffer.from(pixels),
  Buffer.from(pixels),
]);
const idxLabels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 3, 7]);
const png = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
  .negate()
  .png()
  .toBuffer();
const csv = 'a,b,c,d,label\n1,2,3,4,x\n2.5,1,0,-1,y\n0,0,1e3,2,z\n3,3,3,3,x\n1,1,1,1,y\n0,1,0,1,z\n';
const onnx = Buffer.from(dk.modelToOnnx(dk.parseRawModel(models[0], 'seed-model.json')).bytes);
export const SEEDS = {
  model: models,
  fixtures: [fixturesText],
  idx: [idxImages, idxLabels],
  image: [png],
  csv: [csv],
  onnx: [onnx],
};

// ---- mutations ----
const INTERESTING = ['[', ']', '{', '}', '"', ',', ':', '-', '0', '9', 'e', '.', '\\', '\u0000', '\u00ff'];
const NUMBERS = [
  '1e308',
  '-1e308',
  '1e-400',
  '-0',
  '0',
  '4294967296',
  '-1',
  '2147483648',
  '1.5',
  '99999999999999999999',
];
function mutate(bytes, r, text) {
  let b = Buffer.from(bytes);
  const structured = r() < 0.4;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * b.length);
    // Text inputs: two cases in five only swap numbers for extreme ones, so the JSON stays valid and the
    // checks behind the parser are reached.
    const op = text && structured ? 7 : Math.floor(r() * (text ? 9 : 6));
    if (op === 0) b[at] ^= 1 << Math.floor(r() * 8);
    else if (op === 1) b[at] = Math.floor(r() * 256);
    else if (op === 2) b = b.subarray(0, at);
    else if (op === 3) {
      const len = Math.floor(r() * 64);
      b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    } else if (op === 4) {
      const from = Math.floor(r() * b.length);
      b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + Math.floor(r() * 256)), b.subarray(at)]);
    } else if (op === 5 && b.length >= 4)
      b.writeUInt32BE(Math.floor(r() * 2 ** 32), Math.min(at, Math.max(0, b.length - 4)) & ~3);
    else if (op === 6) b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)].charCodeAt(0) & 255;
    else if (op === 7) {
      // A number replaced by an extreme one.
      const s = b.toString('latin1');
      const m = /-?\d+(\.\d+)?(e-?\d+)?/g;
      m.lastIndex = at;
      const hit = m.exec(s);
      if (hit)
        b = Buffer.from(
          s.slice(0, hit.index) + NUMBERS[Math.floor(r() * NUMBERS.length)] + s.slice(hit.index + hit[0].length),
          'latin1',
        );
    } else {
      // Deep nesting or a huge array spliced in.
      const depth = [10, 70, 5000][Math.floor(r() * 3)];
      b = Buffer.concat([b.subarray(0, at), Buffer.from('['.repeat(depth) + ']'.repeat(depth)), b.subarray(at)]);
    }
    if (b.length === 0) break;
  }
  return b;
}

export const KINDS = ['model', 'fixtures', 'idx', 'image', 'csv', 'onnx'];
/** The mutated bytes of case `index`, and its kind and base input. */
export function caseOf(index) {
  const r = rng(seed * 1_000_003 + index);
  const kind = KINDS[index % KINDS.length];
  const seeds = SEEDS[kind];
  const which = Math.floor(r() * seeds.length);
  const base = seeds[which];
  const text = typeof base === 'string';
  return { kind, which, bytes: mutate(text ? Buffer.from(base) : base, r, text) };
}

const finite = (probs) => {
  let sum = 0;
  for (const p of probs) {
    if (!Number.isFinite(p) || p < 0 || p > 1) return false;
    sum += p;
  }
  return Math.abs(sum - 1) < 1e-6;
};

/** Run one case through the library; returns what a wrong success would be, or throws. */
async function runCase(kind, which, file) {
  if (kind === 'model') {
    const m = await dk.readModelFile(file);
    const c =
      m.model.input.kind === 'vector'
        ? dk.classifyValues(
            m.model,
            Array.from({ length: m.model.input.size }, (_, i) => i - 1),
          )
        : dk.classifyPixels(
            m.model,
            Uint8Array.from({ length: m.model.input.size }, (_, i) => pixels[i % 784]),
          );
    return finite(c.probs) ? null : 'NaN or invalid probabilities';
  }
  if (kind === 'fixtures') {
    const f = await dk.readFixturesFile(file);
    for (const c of f.cases) {
      if (!c.pixels) continue;
      const px = dk.decodeBase64(c.pixels);
      if (px && px.length === 784 && !finite(dk.classifyPixels(imageModel, px).probs)) return 'NaN probabilities';
    }
    return null;
  }
  if (kind === 'idx') {
    const idx = parseIdx(fs.readFileSync(file), file, which === 0 ? 2051 : 2049);
    const expect = idx.dims.reduce((a, b) => a * b, 1);
    return idx.data.length === expect ? null : `data ${idx.data.length} bytes for dims ${idx.dims}`;
  }
  if (kind === 'image') {
    const c = await dk.classifyImage(fs.readFileSync(file), imageModel, { name: file });
    const probs = dk.classifyPixels(imageModel, c.pixels).probs;
    const ok = finite(probs) && Number.isFinite(c.probability) && c.top.every((t) => Number.isFinite(t.p));
    return ok ? null : 'NaN probabilities';
  }
  if (kind === 'csv') {
    const rows = await dk.readCsvRows(file, 'label');
    return rows.values && Array.from(rows.values).some((v) => !Number.isFinite(v)) ? 'non-finite feature value' : null;
  }
  const out = file + '.json';
  await dk.runImport({ onnx: file, out });
  const m = await dk.readModelFile(out);
  const c =
    m.model.input.kind === 'vector'
      ? dk.classifyValues(m.model, new Array(m.model.input.size).fill(0.5))
      : dk.classifyPixels(m.model, new Uint8Array(m.model.input.size).fill(128));
  return finite(c.probs) ? null : 'NaN probabilities from the imported model';
}

const EXT = { model: '.json', fixtures: '.json', idx: '', image: '.png', csv: '.csv', onnx: '.onnx' };
parentPort.on('message', async ({ index, keep }) => {
  const { kind, which, bytes } = caseOf(index);
  const file = path.join(tmp, `case-${index}${EXT[kind]}`);
  fs.writeFileSync(file, bytes);
  let result;
  try {
    const wrong = await runCase(kind, which, file);
    result = wrong ? { outcome: 'wrong success', detail: wrong } : { outcome: 'ok' };
  } catch (err) {
    if (err instanceof dk.DigitkitError && [2, 3, 4, 5].includes(err.code)) {
      const oneLine = !/[\n\r]/.test(err.message);
      const named = err.message.includes(path.basename(file));
      result = {
        outcome: 'clean error',
        code: err.code,
        message: err.message.slice(0, 300),
        // A clean error is one line naming the file: anything else is counted apart.
        unclear: !(oneLine && named),
      };
    } else result = { outcome: 'crash', detail: `${err?.name}: ${String(err?.message).slice(0, 300)}` };
  }
  for (const f of [file, file + '.json']) fs.rmSync(f, { force: true });
  parentPort.postMessage({ index, kind, which, ...result, ...(keep && { bytes }) });
});
// The seeds the CLI sample needs beside each mutated file.
parentPort.postMessage({ ready: true, model: models[0], png, idxImages, idxLabels });
