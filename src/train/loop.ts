/**
 * The training loop: epochs of shuffled mini-batches, fresh augmentation per sample, a per-step
 * learning rate, validation after each epoch. Everything random comes from ONE PRNG in a fixed order
 * (initialisation, then per epoch: the shuffle, then per sample of each batch: its augmentation
 * draws, augment.ts), so the model depends only on the seed, the data and the config. The loop's whole state is
 * `TrainProgress` plus the engine's arrays, which is exactly what a checkpoint holds: stopping after
 * any step and resuming gives the same bytes as never stopping.
 */
import { round6 } from '../format.js';
import { drawAugment } from './augment.js';
import { scheduleOf, stepsPerEpoch, trainCount, type TrainConfig } from './config.js';
import type { Engine } from './engine.js';
import { heInit, layerViews } from './params.js';
import { Rng, type RngState } from './rng.js';
import { learningRate } from './schedule.js';

export interface History {
  loss: number[];
  trainAccuracy: number[];
  valAccuracy: number[];
  lr: number[];
}

export interface TrainProgress {
  /** Completed epochs. */
  epoch: number;
  /** True once the current epoch's order is drawn (then `order` is part of the state). */
  orderDrawn: boolean;
  /** Steps completed in the current epoch. */
  stepInEpoch: number;
  /** Optimizer steps completed in total (Adam's t). */
  step: number;
  rng: RngState;
  /** Sums over the current epoch so far. */
  epochLoss: number;
  epochCorrect: number;
  epochSeen: number;
  history: History;
}

export interface StepInfo {
  epoch: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Running means over the epoch so far. */
  loss: number;
  accuracy: number;
  lr: number;
}

export interface EpochRecord {
  epoch: number;
  epochs: number;
  loss: number;
  trainAccuracy: number;
  valAccuracy: number | null;
  lr: number;
  /** Wall-clock seconds of this epoch's steps in this process (not stored in the model). */
  seconds: number;
  imagesPerSecond: number;
}

export interface LoopHooks {
  /** Checked between steps; when aborted the loop returns 'aborted' with the state after the last whole step. */
  signal?: AbortSignal;
  onStep?(info: StepInfo): void;
  /** After each epoch (validation done, progress advanced): the place to write a checkpoint. */
  onEpoch?(record: EpochRecord): Promise<void> | void;
}

/** Fresh state: He-initialised parameters, zero moments, epoch 0. */
export function initialProgress(c: TrainConfig, engine: Engine): TrainProgress {
  const rng = Rng.fromSeed(c.seed);
  engine.state.fill(0);
  heInit(engine.params, engine.layout, rng);
  engine.paramsChanged();
  return {
    epoch: 0,
    orderDrawn: false,
    stepInEpoch: 0,
    step: 0,
    rng: rng.state(),
    epochLoss: 0,
    epochCorrect: 0,
    epochSeen: 0,
    history: { loss: [], trainAccuracy: [], valAccuracy: [], lr: [] },
  };
}

const YIELD_MS = 40;
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Run until all epochs are done ('done') or the signal aborts ('aborted'); `p` is updated in place. */
export async function trainLoop(
  engine: Engine,
  c: TrainConfig,
  p: TrainProgress,
  hooks: LoopHooks = {},
): Promise<'done' | 'aborted'> {
  const nTrain = trainCount(c);
  const spe = stepsPerEpoch(c);
  const schedule = scheduleOf(c);
  const rng = Rng.fromState(p.rng);
  const { order, aug } = engine;
  let lastYield = performance.now();
  let lr = learningRate(schedule, Math.max(0, p.step - 1));
  const info: StepInfo = { epoch: 0, stepInEpoch: 0, stepsPerEpoch: spe, loss: 0, accuracy: 0, lr: 0 };
  const aborted = () => {
    p.rng = rng.state();
    return 'aborted' as const;
  };

  while (p.epoch < c.epochs) {
    if (hooks.signal?.aborted) return aborted();
    if (!p.orderDrawn) {
      for (let i = 0; i < nTrain; i++) order[i] = i;
      rng.shuffle(order, nTrain);
      p.orderDrawn = true;
    }
    const t0 = performance.now();
    const seenAtStart = p.epochSeen;
    while (p.stepInEpoch < spe) {
      const from = p.stepInEpoch * c.batch;
      const n = Math.min(c.batch, nTrain - from);
      for (let r = 0; r < n; r++) drawAugment(rng, c, aug, r * engine.augStride, engine.input);
      lr = learningRate(schedule, p.step);
      const res = engine.trainStep(from, n, lr, p.step + 1);
      p.step++;
      p.stepInEpoch++;
      p.epochLoss += res.loss;
      p.epochCorrect += res.correct;
      p.epochSeen += n;
      if (hooks.onStep) {
        info.epoch = p.epoch + 1;
        info.stepInEpoch = p.stepInEpoch;
        info.loss = p.epochLoss / p.epochSeen;
        info.accuracy = p.epochCorrect / p.epochSeen;
        info.lr = lr;
        hooks.onStep(info);
      }
      if (performance.now() - lastYield > YIELD_MS) {
        await yieldToEvents(); // lets Ctrl-C and the progress bar through
        lastYield = performance.now();
      }
      if (hooks.signal?.aborted && p.stepInEpoch < spe) return aborted();
    }
    const seconds = (performance.now() - t0) / 1000;
    const valAccuracy = c.val > 0 ? engine.evaluate('train', nTrain, c.val) / c.val : null;
    const record: EpochRecord = {
      epoch: p.epoch + 1,
      epochs: c.epochs,
      loss: p.epochLoss / p.epochSeen,
      trainAccuracy: p.epochCorrect / p.epochSeen,
      valAccuracy,
      lr,
      seconds,
      imagesPerSecond: (p.epochSeen - seenAtStart) / Math.max(seconds, 1e-9),
    };
    p.history.loss.push(round6(record.loss));
    p.history.trainAccuracy.push(round6(record.trainAccuracy));
    if (valAccuracy !== null) p.history.valAccuracy.push(round6(valAccuracy));
    p.history.lr.push(round6(lr));
    p.epoch++;
    p.orderDrawn = false;
    p.stepInEpoch = 0;
    p.epochLoss = 0;
    p.epochCorrect = 0;
    p.epochSeen = 0;
    p.rng = rng.state();
    await hooks.onEpoch?.(record);
  }
  return 'done';
}

/** Named float32 views of the trained parameters, for writing the model. */
export function trainedLayers(engine: Engine) {
  return layerViews(engine.params, engine.layout);
}
