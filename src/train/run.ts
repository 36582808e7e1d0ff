/**
 * `digitkit train` as a library call: resolve the configuration (defaults, flags, or a checkpoint to
 * resume), load MNIST, run the loop with a checkpoint after every epoch, and write the float32 model
 * atomically. Returns data; throws DigitkitError; never exits the process.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadMnist } from '../data/load.js';
import { invalidInput, OptionError } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { round6 } from '../format.js';
import { formatModel } from '../node/model-file.js';
import {
  DEFAULTS,
  defaultSchedule,
  defaultVal,
  defaultWarmup,
  layerSizes,
  stepsPerEpoch,
  trainCount,
  validateConfig,
  type TrainConfig,
} from './config.js';
import { CLASSES } from './config.js';
import { inputSizeOf, type Engine, type EngineOptions, type TrainInput } from './engine.js';
import { createFastEngine } from './fast-engine.js';
import { createReferenceEngine } from './reference-engine.js';
import {
  initialProgress,
  trainedLayers,
  trainLoop,
  type EpochRecord,
  type StepInfo,
  type TrainProgress,
} from './loop.js';

export interface TrainOptions {
  data: string;
  out: string;
  /** Default: beside `out` (models/mnist-f32.json → models/mnist-f32.ckpt). */
  checkpoint?: string;
  resume?: string;
  /** Worker threads for the fast engine; never changes the result. */
  threads?: number;
  /** The settings the user gave; the rest come from the defaults, or from the checkpoint when resuming. */
  config: Partial<TrainConfig>;
  signal?: AbortSignal;
  onEvent?(e: TrainEvent): void;
  /** After every optimizer step (the object is reused: copy what you keep). */
  onStep?(s: StepInfo): void;
  /** Which kernels run the maths (tests compare them); default 'fast'. */
  engine?: 'fast' | 'reference';
}

export type TrainEvent =
  | {
      type: 'start';
      config: TrainConfig;
      trainImages: number;
      valImages: number;
      stepsPerEpoch: number;
      resumed: { epoch: number; stepInEpoch: number } | null;
      checkpoint: string;
      threads: number;
    }
  | ({ type: 'epoch' } & EpochRecord);

export type TrainResult =
  | {
      status: 'done';
      out: string;
      bytes: number;
      sha256: string;
      checkpoint: string;
      config: TrainConfig;
      valAccuracy: number | null;
      testAccuracy: number;
      seconds: number;
      imagesPerSecond: number;
    }
  | { status: 'interrupted'; checkpoint: string; epoch: number; stepInEpoch: number; stepsPerEpoch: number };

export function defaultCheckpointPath(out: string): string {
  const ext = path.extname(out);
  return ext === '.json' ? out.slice(0, -ext.length) + '.ckpt' : out + '.ckpt';
}

const CONFIG_KEYS: (keyof TrainConfig)[] = [
  'epochs',
  'batch',
  'lr',
  'schedule',
  'warmup',
  'labelSmoothing',
  'hidden',
  'shift',
  'rotate',
  'zoom',
  'seed',
  'limit',
  'val',
];
/** Settings only some inputs have (absent from MNIST's configurations), and what their absence means. */
const OPTIONAL_KEYS: (keyof TrainConfig)[] = ['flip', 'noise'];
const OPTIONAL_DEFAULTS = { flip: false, noise: 0 };
const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** A resumed run takes the checkpoint's settings; a flag that contradicts one is a usage error. */
function resumeConfig(given: Partial<TrainConfig>, ck: Checkpoint, file: string): TrainConfig {
  const c = ck.config;
  for (const k of [...CONFIG_KEYS, ...OPTIONAL_KEYS]) {
    if (c[k] === undefined && CONFIG_KEYS.includes(k))
      throw invalidInput(`${file}: checkpoint config lacks "${k}"; not a usable checkpoint`);
    const g = given[k];
    if (g !== undefined && show(g) !== show(c[k] ?? OPTIONAL_DEFAULTS[k as keyof typeof OPTIONAL_DEFAULTS])) {
      throw new OptionError(
        k,
        `${show(g)} does not match the ${show(c[k])} that ${file} was trained with (leave it out to resume, or start a new run)`,
      );
    }
  }
  return { ...c, hidden: [...c.hidden] };
}

function freshConfig(g: Partial<TrainConfig>, available: number): TrainConfig {
  const limit = g.limit ?? available;
  const epochs = g.epochs ?? DEFAULTS.epochs;
  const schedule = g.schedule ?? defaultSchedule(epochs);
  return {
    epochs,
    batch: g.batch ?? DEFAULTS.batch,
    lr: g.lr ?? DEFAULTS.lr,
    schedule,
    warmup: g.warmup ?? defaultWarmup(schedule, epochs),
    labelSmoothing: g.labelSmoothing ?? DEFAULTS.labelSmoothing,
    hidden: g.hidden ?? DEFAULTS.hidden,
    shift: g.shift ?? DEFAULTS.shift,
    rotate: g.rotate ?? DEFAULTS.rotate,
    zoom: g.zoom ?? DEFAULTS.zoom,
    seed: g.seed ?? DEFAULTS.seed,
    limit,
    val: g.val ?? defaultVal(limit),
  };
}

function createEngine(kind: 'fast' | 'reference', o: EngineOptions, threads: number): Promise<Engine> {
  return kind === 'reference' ? Promise.resolve(createReferenceEngine(o)) : createFastEngine(o, threads);
}

/**
 * Settle the configuration, load and check the data, and hand the images to an engine. Kept apart
 * from runTrain so the loaded files can be garbage-collected once the engine has its own copy.
 */
async function prepare(o: TrainOptions, ck: Checkpoint | null) {
  const mnist = await loadMnist(o.data);
  const train = mnist.train!;
  const test = mnist.test!;
  const config = ck ? resumeConfig(o.config, ck, o.resume!) : freshConfig(o.config, train.count);
  validateConfig(config, train.count);
  if (ck) {
    for (const [name, sha] of Object.entries(ck.dataset)) {
      if (mnist.sha256[name] !== sha)
        throw invalidInput(
          `${path.join(o.data, name)} differs from the file ${o.resume} was trained on (sha256 ${mnist.sha256[name]?.slice(0, 12)}…, expected ${sha.slice(0, 12)}…)`,
        );
    }
  }
  const threads = o.threads ?? 1;
  const input: TrainInput = { kind: 'image', width: train.cols, height: train.rows, channels: 1 };
  const size = inputSizeOf(input);
  const engine = await createEngine(
    o.engine ?? 'fast',
    {
      sizes: layerSizes(config, size, CLASSES),
      maxBatch: config.batch,
      smoothing: config.labelSmoothing,
      input,
      train: {
        inputs: train.images.subarray(0, config.limit * size),
        labels: train.labels.subarray(0, config.limit),
        count: config.limit,
      },
      test: { inputs: test.images, labels: test.labels, count: test.count },
    },
    threads,
  );
  return { config, dataset: mnist.sha256, testCount: test.count, engine, threads };
}

/** Worker threads the fast engine may use. */
export const MAX_THREADS = 64;

/** The thread count's rule (exit 2). */
export function validateThreads(threads: number | undefined): void {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS))
    throw new OptionError('threads', `${threads}: expected an integer from 1 to ${MAX_THREADS}`);
}

export async function runTrain(o: TrainOptions): Promise<TrainResult> {
  // Settings first, before any file is read: a bad value fails at once.
  validateConfig(o.config);
  validateThreads(o.threads);
  const ckptPath = o.checkpoint ?? defaultCheckpointPath(o.out);
  const ck = o.resume ? await readCheckpoint(o.resume) : null;
  const { config, dataset, testCount, engine, threads } = await prepare(o, ck);
  const sizes = engine.layout.sizes;
  try {
    let progress: TrainProgress;
    if (ck) {
      if (ck.paramCount !== engine.layout.count || (ck.order && ck.order.length !== trainCount(config))) {
        throw invalidInput(
          `${o.resume}: holds ${ck.paramCount} parameters, the network ${sizes.join('-')} has ${engine.layout.count}; not a usable checkpoint`,
        );
      }
      engine.state.set(ck.state);
      engine.paramsChanged();
      if (ck.order) engine.order.set(ck.order);
      progress = ck.progress;
    } else {
      progress = initialProgress(config, engine);
    }
    const save = () =>
      writeCheckpoint(ckptPath, {
        config,
        dataset,
        paramCount: engine.layout.count,
        progress,
        state: engine.state,
        order: progress.orderDrawn ? engine.order.subarray(0, trainCount(config)) : undefined,
      });
    o.onEvent?.({
      type: 'start',
      config,
      trainImages: trainCount(config),
      valImages: config.val,
      stepsPerEpoch: stepsPerEpoch(config),
      resumed: ck ? { epoch: progress.epoch, stepInEpoch: progress.stepInEpoch } : null,
      checkpoint: ckptPath,
      threads,
    });
    let seconds = 0;
    let images = 0;
    const outcome = await trainLoop(engine, config, progress, {
      signal: o.signal,
      onStep: o.onStep,
      onEpoch: async (r) => {
        seconds += r.seconds;
        images += r.imagesPerSecond * r.seconds;
        await save();
        o.onEvent?.({ type: 'epoch', ...r });
      },
    });
    if (outcome === 'aborted') {
      await save();
      return {
        status: 'interrupted',
        checkpoint: ckptPath,
        epoch: progress.epoch,
        stepInEpoch: progress.stepInEpoch,
        stepsPerEpoch: stepsPerEpoch(config),
      };
    }
    const testAccuracy = engine.evaluate('test', 0, testCount) / testCount;
    const hist = progress.history;
    const valAccuracy = hist.valAccuracy.length ? hist.valAccuracy[hist.valAccuracy.length - 1] : null;
    const { seed, ...rest } = config;
    const text = formatModel({
      dtype: 'float32',
      layers: trainedLayers(engine).map((l) => ({ rows: l.rows, cols: l.cols, w: l.w, b: l.b })),
      meta: {
        trainer: 'digitkit train',
        config: rest,
        seed,
        dataset: { sha256: dataset },
        history: config.val > 0 ? hist : { loss: hist.loss, trainAccuracy: hist.trainAccuracy, lr: hist.lr },
        valAccuracy,
        testAccuracy: round6(testAccuracy),
      },
    });
    await writeFileAtomic(o.out, text);
    return {
      status: 'done',
      out: o.out,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      checkpoint: ckptPath,
      config,
      valAccuracy,
      testAccuracy,
      seconds,
      imagesPerSecond: seconds > 0 ? images / seconds : 0,
    };
  } finally {
    await engine.close();
  }
}
