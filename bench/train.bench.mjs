// Training speed, in one report: the NumPy yardstick (../shared/yardstick/numpy_mlp.py, OpenBLAS on both
// cores and on one) against `digitkit train` doing the same work (full 60k, 3 epochs, augmentation
// off, constant lr 1e-3, no label smoothing, no validation split), in interleaved rounds; then the
// default recipe's epoch time and augmentation's share of it; peak RSS; images/s.
// Every figure carries the 1-minute load average seen when it was taken: on a shared machine the
// timings (NumPy's especially) move with it.
//   env: DIGITKIT_BENCH_ROUNDS (default 3), DIGITKIT_YARDSTICK (path to numpy_mlp.py)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMnist } from '../dist/data/load.js';
import { instantiate, kernelModule, WA } from '../dist/train/wasm-loader.js';
import { drawAugment } from '../dist/train/augment.js';
import { int } from '../dist/format.js';
import { Rng } from '../dist/train/rng.js';
import { benchTemp, ROOT, trainData } from './setup.mjs';

const DATA = trainData();
const YARDSTICK = process.env.DIGITKIT_YARDSTICK ?? path.resolve(ROOT, '../shared/yardstick/numpy_mlp.py');
const ROUNDS = Number(process.env.DIGITKIT_BENCH_ROUNDS ?? 3);
const TMP = benchTemp('digitkit-bench-');

const load = () => os.loadavg()[0].toFixed(2);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 3) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

// ---- the yardstick ----
function yardstickEnv(threads) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  delete env.OPENBLAS_NUM_THREADS;
  delete env.OMP_NUM_THREADS;
  if (threads === 1) env.OPENBLAS_NUM_THREADS = '1';
  return { ...env, MNIST_DIR: DATA };
}
function numpyAvailable() {
  if (!fs.existsSync(YARDSTICK)) return `the yardstick ${YARDSTICK} is missing`;
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (r.error) return 'python3 is not installed';
  if (r.status !== 0) return 'python3 has no numpy';
  return null;
}
function runYardstick(threads) {
  const loadAt = load();
  const r = spawnSync('python3', [YARDSTICK, '3'], {
    cwd: ROOT,
    env: yardstickEnv(threads),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`yardstick failed: ${r.stderr || r.stdout}`);
  const res = JSON.parse(line.slice(7));
  return { s: res.median_epoch_s, rss: res.peak_rss_MiB, acc: res.test_acc, load: loadAt, numpy: res.numpy };
}

// ---- digitkit, as a child process running the real CLI, reporting its own peak RSS ----
const WRAP = path.join(TMP, 'digitkit-rss.mjs');
fs.writeFileSync(
  WRAP,
  `
const { main } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/cli/main.js')).href)});
process.on('exit', () => process.stderr.write('\\nPEAK_RSS_KB ' + process.resourceUsage().maxRSS + '\\n'));
await main(process.argv);`,
);
const SAME_WORK = [
  '--epochs',
  '3',
  '--val',
  '0',
  '--shift',
  '0',
  '--rotate',
  '0',
  '--zoom',
  '0',
  '--schedule',
  'constant',
  '--lr',
  '0.001',
  '--label-smoothing',
  '0',
];

function runDigitkit(flags) {
  const loadAt = load();
  const args = ['train', '--data', DATA, '--out', path.join(TMP, 'model.json'), '--json', ...flags];
  const r = spawnSync(process.execPath, [WRAP, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`digitkit train ${flags.join(' ')} failed: ${r.stderr || r.stdout}`);
  const recs = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const epochs = recs.filter((x) => x.type === 'epoch');
  const summary = recs.find((x) => x.type === 'summary');
  const later = epochs.length > 1 ? epochs.slice(1) : epochs; // like the yardstick: epochs 2..N
  const rss = Number(/PEAK_RSS_KB (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  return {
    s: median(later.map((e) => e.seconds)),
    ips: median(later.map((e) => e.imagesPerSecond)),
    rss,
    acc: summary.testAccuracy,
    load: loadAt,
  };
}

// ---- the augmentation transform alone, one thread, over the training images ----
async function augmentOnly() {
  const { train } = await loadMnist(DATA, ['train']);
  const n = 55000;
  const memory = new WA.Memory({ initial: 1024, maximum: 1024, shared: true });
  const k = instantiate(kernelModule(), memory);
  const IMG = 65536,
    BOX = IMG + n * 784,
    T = BOX + n * 4,
    IDX = T + 64,
    VAL = IDX + 784 * 4,
    RS = VAL + 784 * 4,
    PAD = RS + 29 * 4;
  new Uint8Array(memory.buffer, IMG, n * 784).set(train.images.subarray(0, n * 784));
  k.computeBoxes(IMG, n, BOX);
  const t = new Float64Array(memory.buffer, T, 4);
  const rng = Rng.fromSeed(1);
  const times = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      drawAugment(rng, { shift: 1, rotate: 10, zoom: 0.1 }, t, 0);
      k.extract(IDX, VAL, RS, IMG + i * 784, BOX + i * 4, T, PAD);
    }
    times.push((performance.now() - t0) / 1000);
  }
  return { s: median(times), load: load() };
}

// ---- the report ----
console.log(
  `digitkit train speed: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, load average at start ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const missing = numpyAvailable();
if (missing) console.log(`NumPy yardstick skipped: ${missing}; reporting digitkit alone.`);
const rows = { np2: [], np1: [], dk2: [], dk1: [] };
for (let round = 1; round <= ROUNDS; round++) {
  if (!missing) {
    rows.np2.push(runYardstick(2));
    rows.np1.push(runYardstick(1));
  }
  rows.dk2.push(runDigitkit([...SAME_WORK, '--threads', '2']));
  rows.dk1.push(runDigitkit([...SAME_WORK, '--threads', '1']));
  const last = (k) => rows[k].at(-1);
  console.log(
    `  round ${round}: NumPy ${missing ? '-' : `${fmt(last('np2').s)} s (load ${last('np2').load}) / 1 thread ${fmt(last('np1').s)} s`}; digitkit ${fmt(last('dk2').s)} s (load ${last('dk2').load}) / 1 thread ${fmt(last('dk1').s)} s`,
  );
}
// the default recipe with and without augmentation, interleaved like the rounds above
const defRuns = [];
const noAugRuns = [];
for (let round = 1; round <= ROUNDS; round++) {
  defRuns.push(runDigitkit(['--epochs', '3']));
  noAugRuns.push(runDigitkit(['--epochs', '3', '--shift', '0', '--rotate', '0', '--zoom', '0']));
}
const pick = (runs) => ({
  s: median(runs.map((r) => r.s)),
  ips: median(runs.map((r) => r.ips)),
  rss: Math.max(...runs.map((r) => r.rss)),
  load: runs.map((r) => r.load).join('/'),
});
const def = pick(defRuns);
const noAug = pick(noAugRuns);
const aug = await augmentOnly();

const med = (k, f = 's') => (rows[k].length ? median(rows[k].map((r) => r[f])) : NaN);
const loads = (k) => rows[k].map((r) => r.load).join('/');
const base = med('np2');
const ratio = (s) => (missing ? '-' : `${fmt(s / base, 2)}×`);
const epochsPerSec = (s, n) => int(n / s);
console.log(
  '\n| run (60,000-image epoch, median of epochs 2-3 over rounds) | s/epoch | images/s | vs NumPy 2 threads | load avg |',
);
console.log('|---|---|---|---|---|');
if (!missing) {
  console.log(
    `| NumPy yardstick (numpy ${rows.np2[0].numpy}), OpenBLAS 2 threads | ${fmt(base)} | ${epochsPerSec(base, 60000)} | 1.00× | ${loads('np2')} |`,
  );
  console.log(
    `| NumPy yardstick, OPENBLAS_NUM_THREADS=1 | ${fmt(med('np1'))} | ${epochsPerSec(med('np1'), 60000)} | ${ratio(med('np1'))} | ${loads('np1')} |`,
  );
}
console.log(
  `| digitkit same work, 2 threads | ${fmt(med('dk2'))} | ${int(med('dk2', 'ips'))} | ${ratio(med('dk2'))} | ${loads('dk2')} |`,
);
console.log(
  `| digitkit same work, 1 thread | ${fmt(med('dk1'))} | ${int(med('dk1', 'ips'))} | ${ratio(med('dk1'))} | ${loads('dk1')} |`,
);
console.log(
  `| digitkit default recipe (55,000 images + augmentation), 2 threads | ${fmt(def.s)} | ${int(def.ips)} | ${ratio(def.s)} | ${def.load} |`,
);
console.log(
  `| digitkit default recipe without augmentation, 2 threads | ${fmt(noAug.s)} | ${int(noAug.ips)} | ${ratio(noAug.s)} | ${noAug.load} |`,
);
const share = (def.s - noAug.s) / def.s;
console.log(
  `\naugmentation: ${(100 * share).toFixed(0)}% of the default recipe's epoch (${fmt(def.s)} s with, ${fmt(noAug.s)} s without); the transform itself takes ${fmt(aug.s)} s per 55,000 images on one thread (load ${aug.load}), the rest is the extra nonzero pixels its bilinear blur feeds the first layer`,
);
const rss = Math.max(...[...rows.dk2, ...rows.dk1, def, noAug].map((r) => r.rss));
console.log(
  `peak RSS: digitkit ${rss.toFixed(0)} MiB (target <= 300)${missing ? '' : `, NumPy ${Math.max(...rows.np2.map((r) => r.rss)).toFixed(0)} MiB`}`,
);
if (!missing) {
  const r = med('dk2') / base;
  const perRound = median(rows.dk2.map((d, i) => d.s / rows.np2[i].s));
  console.log(
    `digitkit / NumPy (2 threads each): ${fmt(r, 2)} (median of per-round ratios ${fmt(perRound, 2)}); target <= 1.0, limit 2.0: ${r <= 1 ? 'met' : r <= 2 ? 'within the limit, target missed' : 'LIMIT MISSED'}`,
  );
}
console.log(
  `same-work test accuracy after 3 epochs: digitkit ${fmt(rows.dk2[0].acc, 4)}${missing ? '' : `, NumPy ${fmt(rows.np2[0].acc, 4)}`}`,
);
console.log(
  `load average at end ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}${os.loadavg()[0] > 0.5 ? " (not a quiet machine: timings are inflated, NumPy's most)" : ''}`,
);
