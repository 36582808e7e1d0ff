// Where a training epoch's time goes (used by train.bench.mjs; `node bench/phases.mjs` runs it alone).
//
// One thread replays the fast engine's step through the same exported kernels, category by category over
// the whole batch (the engine interleaves them image by image), so each category's time is measured on
// its own: the augmentation draws (JS), the augmentation transform and sparse input (`extract`), each
// layer's forward pass, the loss, the backward pass, then phase B's parts: the first layer's weight
// gradient's per-pixel lists (firstLayerColumns), the other layers' gradients, Adam over every parameter,
// and the first layer's gradient multiply-adds as the rest of the real phaseB() (with the refresh of the
// transposed copies, a few thousand floats). The replay computes exactly
// what the engine computes (phaseB() updates the real parameters), so it trains the same model.
// Then the real engine on 1 and 2 threads over the same data: the replay's sum against the 1-thread
// step time shows what the replay's own JS calls add; 2 threads against half of 1 thread is the cost of
// sharing the work (waiting at the barriers, uneven last work items, waking the worker).
import os from 'node:os';
import { loadMnist } from '../dist/data/load.js';
import { drawAugment } from '../dist/train/augment.js';
import { createFastEngine, sampleShape } from '../dist/train/fast-engine.js';
import { MNIST_INPUT } from '../dist/train/engine.js';
import { planMemory, writeDescriptor } from '../dist/train/memory-plan.js';
import { heInit, paramLayout } from '../dist/train/params.js';
import { Rng } from '../dist/train/rng.js';
import { instantiate, kernelModule, WA } from '../dist/train/wasm-loader.js';
import * as ABI from '../dist/train/wasm-abi.js';
import { adamCorrections } from '../dist/train/adam.js';
import { trainData } from './setup.mjs';

const SIZES = [784, 128, 64, 10];
/** The replay's clock: this process's CPU time in ms (one thread; a busy machine's preemption does not count). */
const now = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const BATCH = 128;

/** Recipes: the yardstick's work (60,000 images, no augmentation) and the default recipe's (55,000, augmented). */
export const RECIPES = {
  same: {
    label: 'same work as NumPy (60,000 images, no augmentation)',
    count: 60000,
    shift: 0,
    rotate: 0,
    zoom: 0,
    smoothing: 0,
  },
  default: {
    label: 'default recipe (55,000 images, augmented)',
    count: 55000,
    shift: 1,
    rotate: 10,
    zoom: 0.1,
    smoothing: 0.05,
  },
};

const CATEGORIES = [
  ['draws', 'augmentation draws (JS, main thread)', 'A'],
  ['extract', 'augmentation transform + sparse input (extract)', 'A'],
  ['fwd1', 'layer 1 forward (nonzero pixels x 128)', 'A'],
  ['fwd23', 'layers 2-3 forward (ReLU, nonzero units)', 'A'],
  ['loss', 'softmax cross-entropy, argmax', 'A'],
  ['bwd', 'backward to the hidden deltas (through Wᵀ)', 'A'],
  ['sort', 'layer 1: per-pixel lists of the batch (one bucket pass)', 'B'],
  ['grad1', 'layer 1 weight gradient (multiply-adds) and Wᵀ refresh', 'B'],
  ['grad23', 'layers 2-3 weight and all bias gradients', 'B'],
  ['adam', 'Adam over all 109,386 parameters', 'B'],
];

/** The replay on one thread: seconds per category for one epoch of `recipe` (after `warm` warm-up epochs). */
export async function replayEpoch(recipe, { epochs = 2 } = {}) {
  const { train } = await loadMnist(trainData(), ['train']);
  const n = recipe.count;
  const layout = paramLayout(SIZES);
  const sample = sampleShape(MNIST_INPUT);
  const module = kernelModule();
  const probe = instantiate(module, new WA.Memory({ initial: 1, maximum: 1, shared: true }));
  const plan = planMemory({
    layout,
    sample,
    maxBatch: BATCH,
    trainCount: n,
    testCount: 0,
    threads: 1,
    smoothing: recipe.smoothing,
    scratchBytes: probe.scratchBytes(BATCH, 128, 784, 28),
  });
  // the replay's own lists after the plan's memory
  const EXTRA = plan.bytes;
  const P = layout.count;
  const H_IDX = EXTRA,
    H_VAL = H_IDX + 4096,
    TMP = H_VAL + 4096,
    PAD = TMP + 4096,
    G_ROW = PAD + 4096,
    IDENT = G_ROW + 4096,
    ONES = IDENT + 4096,
    L_R = ONES + 4096,
    L_V = L_R + BATCH * 784 * 4,
    COPY = L_V + BATCH * 784 * 4,
    ZERO_G = COPY + 3 * P * 4,
    END = ZERO_G + P * 4;
  const pages = Math.ceil(END / 65536);
  const memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
  const buf = memory.buffer;
  writeDescriptor(memory, plan, layout);
  new Uint8Array(buf, plan.trainImg, n * 784).set(train.images.subarray(0, n * 784));
  new Uint8Array(buf, plan.trainLbl, n).set(train.labels.subarray(0, n));
  const k = instantiate(module, memory);
  k.setup(plan.desc, 0);
  k.computeBoxes(plan.trainImg, n, plan.trainBox);
  const f32 = new Float32Array(buf);
  const i32 = new Int32Array(buf);
  const ctl = new Int32Array(buf, plan.ctrl, ABI.CTRL_BYTES / 4);
  const ctlF = new Float32Array(buf, plan.ctrl, ABI.CTRL_BYTES / 4);
  const state = new Float32Array(buf, plan.state, 3 * P);
  const rng = Rng.fromSeed(1);
  heInit(state.subarray(0, P), layout, rng);
  k.syncTransposed();
  for (let r = 0; r < BATCH; r++) {
    i32[IDENT / 4 + r] = r;
    f32[ONES / 4 + r] = 1;
  }
  const order = new Int32Array(buf, plan.order, n);
  const aug = new Float64Array(buf, plan.aug, BATCH * ABI.AUG_STRIDE);
  const lbl = new Uint8Array(buf, plan.trainLbl, n);
  const L = layout.layers;
  const W = (l) => plan.state + 4 * L[l].w;
  const B = (l) => plan.state + 4 * L[l].b;
  const acts = (l, r) => plan.layers[l].acts + r * 4 * SIZES[l + 1];
  const deltas = (l, r) => plan.layers[l].deltas + r * 4 * SIZES[l + 1];
  const spIdx = (r) => plan.spIdx + r * 4 * 784;
  const spVal = (r) => plan.spVal + r * 4 * 784;
  const rowStarts = ABI.SIDE + 1;

  const sums = Object.fromEntries(CATEGORIES.map(([key]) => [key, 0]));
  let phaseBTotal = 0;
  let t = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const last = epoch === epochs - 1;
    for (let i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order, n);
    for (let from = 0; from < n; from += BATCH) {
      const m = Math.min(BATCH, n - from);
      const time = {};
      let t0 = now();
      const mark = (key) => {
        const t1 = now();
        time[key] = (time[key] ?? 0) + (t1 - t0);
        t0 = t1;
      };
      for (let r = 0; r < m; r++) drawAugment(rng, recipe, aug, r * ABI.AUG_STRIDE);
      mark('draws');
      const nnz = new Int32Array(m);
      for (let r = 0; r < m; r++) {
        const img = order[from + r];
        nnz[r] = k.extract(
          spIdx(r),
          spVal(r),
          plan.rowStart + r * 4 * rowStarts,
          plan.trainImg + img * 784,
          plan.trainBox + img * 4,
          plan.aug + r * 8 * ABI.AUG_STRIDE,
          PAD,
        );
      }
      mark('extract');
      for (let r = 0; r < m; r++) k.combineRows(acts(0, r), B(0), W(0), spIdx(r), spVal(r), nnz[r], 128);
      mark('fwd1');
      for (let r = 0; r < m; r++) {
        k.relu(acts(0, r), 128);
        let c = k.nonzeros(H_IDX, H_VAL, acts(0, r), 128);
        k.combineRows(acts(1, r), B(1), W(1), H_IDX, H_VAL, c, 64);
        k.relu(acts(1, r), 64);
        c = k.nonzeros(H_IDX, H_VAL, acts(1, r), 64);
        k.combineRows(acts(2, r), B(2), W(2), H_IDX, H_VAL, c, 10);
      }
      mark('fwd23');
      for (let r = 0; r < m; r++) {
        k.softmaxXent(deltas(2, r), acts(2, r), lbl[order[from + r]], 10, recipe.smoothing, 1 / m, TMP);
        k.argmax(acts(2, r), 10);
      }
      mark('loss');
      for (let r = 0; r < m; r++) {
        for (let l = 2; l >= 1; l--) {
          const c = k.nonzeros(H_IDX, H_VAL, deltas(l, r), SIZES[l + 1]);
          k.combineRows(deltas(l - 1, r), 0, plan.layers[l].wT, H_IDX, H_VAL, c, SIZES[l]);
          k.reluMask(deltas(l - 1, r), acts(l - 1, r), SIZES[l]);
        }
      }
      mark('bwd');
      t0 = now();
      for (let y = 0; y < ABI.SIDE; y++) k.firstLayerColumns(y, m);
      mark('sort');
      // the same for the rows of layers 2 and 3: per input unit, the images where it is positive
      const rowLists = [];
      let at = 0;
      for (let l = 1; l <= 2; l++) {
        for (let i = 0; i < SIZES[l]; i++) {
          const start = at;
          for (let r = 0; r < m; r++) {
            const h = f32[acts(l - 1, r) / 4 + i];
            if (h > 0) {
              i32[L_R / 4 + at] = r;
              f32[L_V / 4 + at] = h;
              at++;
            }
          }
          rowLists.push([l, start, at - start]);
        }
      }
      t0 = now();
      for (const [l, start, c] of rowLists)
        k.combineRows(G_ROW, 0, plan.layers[l].deltas, L_R + 4 * start, L_V + 4 * start, c, SIZES[l + 1]);
      for (let l = 0; l <= 2; l++) k.combineRows(G_ROW, 0, plan.layers[l].deltas, IDENT, ONES, m, SIZES[l + 1]);
      mark('grad23');
      // Adam over a copy of the state (the real step comes next)
      f32.copyWithin(COPY / 4, plan.state / 4, plan.state / 4 + 3 * P);
      t++;
      const [c1, c2] = adamCorrections(t);
      const lr = 1e-3;
      t0 = now();
      k.adamRow(COPY, COPY + 4 * P, COPY + 8 * P, ZERO_G, P, lr / c1, 1 / c2);
      mark('adam');
      ctl[ABI.C_N] = m;
      ctl[ABI.C_FROM] = from;
      ctlF[ABI.C_LRC1] = lr / c1;
      ctlF[ABI.C_INVC2] = 1 / c2;
      ctl[ABI.C_QB] = 0;
      t0 = now();
      k.phaseB();
      mark('phaseB');
      if (!last) continue;
      for (const [key, v] of Object.entries(time)) if (key !== 'phaseB') sums[key] += v / 1000;
      phaseBTotal += time.phaseB / 1000;
    }
  }
  sums.grad1 = phaseBTotal - sums.sort - sums.grad23 - sums.adam;
  return sums;
}

/** The real engine (through train's loop, like `digitkit train`) on `threads`: seconds of the last epoch, split into steps and the rest. */
export async function engineEpoch(recipe, threads, { epochs = 2 } = {}) {
  const { train } = await loadMnist(trainData(), ['train']);
  const { trainLoop, initialProgress } = await import('../dist/train/loop.js');
  const engine = await createFastEngine(
    {
      sizes: SIZES,
      maxBatch: BATCH,
      smoothing: recipe.smoothing,
      input: MNIST_INPUT,
      train: { inputs: train.images, labels: train.labels, count: recipe.count },
    },
    threads,
  );
  const config = {
    epochs,
    batch: BATCH,
    lr: 1e-3,
    schedule: 'constant',
    warmup: 0,
    labelSmoothing: recipe.smoothing,
    hidden: [128, 64],
    shift: recipe.shift,
    rotate: recipe.rotate,
    zoom: recipe.zoom,
    seed: 1,
    limit: recipe.count,
    val: 0,
  };
  const step = engine.trainStep.bind(engine);
  let stepTime = 0;
  let cpu0 = now();
  engine.trainStep = (...a) => {
    const t0 = performance.now();
    const r = step(...a);
    stepTime += performance.now() - t0;
    return r;
  };
  const progress = initialProgress(config, engine);
  let last = { seconds: 0, steps: 0, cpu: 0 };
  await trainLoop(engine, config, progress, {
    onEpoch: (r) => {
      last = { seconds: r.seconds, steps: stepTime / 1000, cpu: (now() - cpu0) / 1000 };
      stepTime = 0;
      cpu0 = now();
    },
  });
  await engine.close();
  return last;
}

/** The breakdown as a Markdown table, with the real engine's epochs beside it. */
export async function phaseReport(recipe) {
  const load = () => os.loadavg()[0].toFixed(2);
  const loadAt = load();
  const replay = await replayEpoch(recipe);
  const one = await engineEpoch(recipe, 1);
  const two = await engineEpoch(recipe, 2);
  const total = Object.values(replay).reduce((a, b) => a + b, 0);
  const lines = [];
  lines.push(`\nwhere an epoch's time goes, ${recipe.label} (one thread, load ${loadAt}-${load()}):\n`);
  lines.push('| phase | part | s/epoch | share |');
  lines.push('|---|---|---|---|');
  for (const [key, label, phase] of CATEGORIES)
    lines.push(`| ${phase} | ${label} | ${replay[key].toFixed(3)} | ${((100 * replay[key]) / total).toFixed(1)}% |`);
  lines.push(`| | replayed total (one thread) | ${total.toFixed(3)} | 100% |`);
  lines.push(`| | the engine, 1 thread: CPU time of the epoch | ${one.cpu.toFixed(3)} | |`);
  lines.push(`| | the engine, 2 threads: CPU time of the epoch (both threads) | ${two.cpu.toFixed(3)} | |`);
  lines.push(
    `\nwall clock: 1 thread ${one.seconds.toFixed(3)} s/epoch (steps ${one.steps.toFixed(3)}), 2 threads ${two.seconds.toFixed(3)} s (steps ${two.steps.toFixed(3)})`,
  );
  const ideal = one.steps / 2;
  lines.push(
    `\nsharing the work between 2 threads: ${two.steps.toFixed(3)} s of steps against ${ideal.toFixed(3)} s for a perfect split of the 1-thread steps (${((100 * (two.steps - ideal)) / two.steps).toFixed(0)}% of the 2-thread steps is waiting and hand-over)`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv.slice(2);
  for (const name of which.length ? which : Object.keys(RECIPES)) console.log(await phaseReport(RECIPES[name]));
}
