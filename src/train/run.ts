/**
 * `digitkit train` as a library call: resolve the configuration (defaults, flags, or a checkpoint to
 * resume), load the data (any source: data/open.ts), run the loop with a checkpoint after every epoch, and write the float32 model
 * atomically. Returns data; throws DigitkitError; never exits the process.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { standardise } from '../data/csv.js';
import { sizeOf, type DataInput, type Dataset } from '../data/dataset.js';
import { loadDataset, type DataOptions } from '../data/open.js';
import { invalidInput, OptionError } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { round6 } from '../format.js';
import { formatModel, type InputToWrite } from '../node/model-file.js';
import {
  DEFAULTS,
  defaultSchedule,
  defaultVal,
  defaultWarmup,
  KIND_DEFAULTS,
  layerSizes,
  RECIPES,
  stepsPerEpoch,
  trainCount,
  validateConfig,
  type DataKind,
  type TrainConfig,
} from './config.js';
import type { Engine, EngineOptions, SampleSet, TrainInput } from './engine.js';
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
  /** The data: an IDX directory, an image folder or a CSV/TSV file (data/open.ts). */
  data: string;
  /** How to read it (format, labels file, picture size, test source...). */
  dataOptions?: Omit<DataOptions, 'onProgress'>;
  /** While a folder's pictures are decoded. */
  onDataProgress?: (done: number, total: number) => void;
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
      data: {
        path: string;
        format: Dataset['format'];
        input: DataInput;
        labels: string[];
        skipped: Dataset['skipped'];
        split: Dataset['split'];
        testCount: number;
      };
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

/** Settings that make no sense for a kind of data: a usage error (the first one given), not a silent no-op. */
function refuseFlags(g: Partial<TrainConfig>, kind: DataKind, data: string): void {
  const bad: (keyof TrainConfig)[] = kind === 'vector' ? ['shift', 'rotate', 'zoom', 'flip'] : ['noise'];
  const k = bad.find((k) => g[k] !== undefined && !(k === 'flip' && g.flip === false));
  if (k === undefined) return;
  const what = kind === 'vector' ? 'feature vectors' : 'images';
  throw new OptionError(k, `${k === 'flip' ? 'is' : `${show(g[k])}:`} not for ${what} (${data} holds ${what})`);
}

/**
 * A new run's configuration: the flags given, else the named dataset's recipe, else the defaults of
 * its kind of data, else DEFAULTS (MNIST's). Keys only some kinds have (flip, noise) are present only
 * for those kinds, so MNIST's configuration, and its model's bytes, stay as they were.
 */
function freshConfig(
  g: Partial<TrainConfig>,
  available: number,
  kind: DataKind,
  recipe: Partial<TrainConfig> = {},
): TrainConfig {
  const d = { ...DEFAULTS, ...KIND_DEFAULTS[kind], ...recipe };
  const limit = g.limit ?? available;
  const epochs = g.epochs ?? d.epochs;
  const schedule = g.schedule ?? recipe.schedule ?? defaultSchedule(epochs);
  return {
    epochs,
    batch: g.batch ?? d.batch,
    lr: g.lr ?? d.lr,
    schedule,
    warmup: g.warmup ?? recipe.warmup ?? defaultWarmup(schedule, epochs),
    labelSmoothing: g.labelSmoothing ?? d.labelSmoothing,
    hidden: g.hidden ?? d.hidden,
    shift: g.shift ?? d.shift,
    rotate: g.rotate ?? d.rotate,
    zoom: g.zoom ?? d.zoom,
    ...(kind === 'image' && { flip: g.flip ?? d.flip ?? false }),
    ...(kind === 'vector' && { noise: g.noise ?? d.noise ?? 0 }),
    seed: g.seed ?? d.seed,
    limit,
    val: g.val ?? defaultVal(limit),
  };
}

function createEngine(kind: 'fast' | 'reference', o: EngineOptions, threads: number): Promise<Engine> {
  return kind === 'reference' ? Promise.resolve(createReferenceEngine(o)) : createFastEngine(o, threads);
}

/** The kind of data a dataset holds, for the recipe and the augmentation. */
export function dataKind(input: DataInput): DataKind {
  return input.kind === 'vector' ? 'vector' : input.preprocess === 'digit' ? 'digit' : 'image';
}

/** Standardised float32 features (x = (v - offset) * scale) of `count` rows. */
function standardised(values: Float64Array, count: number, offset: number[], scale: number[]): Float32Array {
  const size = offset.length;
  const x = new Float32Array(count * size);
  for (let i = 0; i < count * size; i++) x[i] = (values[i] - offset[i % size]) * scale[i % size];
  return x;
}

/** The model file's `input` for a dataset (and, for vectors, the standardisation of its training rows). */
function modelInput(ds: Dataset, vector?: { offset: number[]; scale: number[] }): InputToWrite {
  const i = ds.input;
  if (i.kind === 'vector')
    return { kind: 'vector', size: i.size, offset: vector!.offset, scale: vector!.scale, names: i.names };
  return {
    kind: 'image',
    width: i.width,
    height: i.height,
    channels: i.channels,
    scale: 1 / 255,
    preprocess: i.preprocess,
  };
}

/**
 * What the model's meta says about its data. An IDX directory: the SHA-256 of each file, as MNIST's
 * models always recorded it (the hashes name the dataset). A folder or a CSV file: its format, digest
 * and split, so `eval` and `fixtures` can find the test rows of the very same data again.
 */
function datasetMeta(ds: Dataset, labelColumn: string | undefined): Record<string, unknown> {
  if (ds.format === 'idx') return { sha256: ds.sha256 };
  return {
    format: ds.format,
    sha256: ds.sha256,
    split: ds.split,
    ...(ds.format === 'csv' && { labelColumn: labelColumn ?? 'label' }),
    ...(ds.skipped.length && { skipped: ds.skipped.length }),
  };
}

/**
 * Settle the configuration, load and check the data, and hand the samples to an engine. Kept apart
 * from runTrain so the loaded files can be garbage-collected once the engine has its own copy.
 */
async function prepare(o: TrainOptions, ck: Checkpoint | null) {
  const ds = await loadDataset(o.data, { ...o.dataOptions, onProgress: o.onDataProgress });
  const train = ds.train!;
  const test = ds.test!;
  const kind = dataKind(ds.input);
  if (!ck) refuseFlags(o.config, kind, o.data);
  const recipe = (ds.named && RECIPES[ds.named.name]) || {};
  const config = ck ? resumeConfig(o.config, ck, o.resume!) : freshConfig(o.config, train.count, kind, recipe);
  validateConfig(config, train.count);
  if (ck) {
    for (const [name, sha] of Object.entries(ck.dataset)) {
      if (ds.sha256[name] !== sha)
        throw invalidInput(
          `${ds.format === 'idx' ? path.join(o.data, name) : o.data} differs from the data ${o.resume} was trained on (sha256 ${ds.sha256[name]?.slice(0, 12) ?? 'none'}…, expected ${sha.slice(0, 12)}…)`,
        );
    }
  }
  const threads = o.threads ?? 1;
  const size = sizeOf(ds.input);
  let input: TrainInput;
  let trainSet: SampleSet;
  let testSet: SampleSet;
  let vector: { offset: number[]; scale: number[] } | undefined;
  if (ds.input.kind === 'vector') {
    // Statistics from the rows trained on (not the validation rows, not the test split).
    vector = standardise(train.inputs, trainCount(config), size);
    input = { kind: 'vector', size };
    const x = (s: typeof train, n: number) => standardised(s.inputs as Float64Array, n, vector!.offset, vector!.scale);
    trainSet = { inputs: x(train, config.limit), labels: train.labels.subarray(0, config.limit), count: config.limit };
    testSet = { inputs: x(test, test.count), labels: test.labels, count: test.count };
  } else {
    const { width, height, channels } = ds.input;
    input = { kind: 'image', width, height, channels };
    trainSet = {
      inputs: (train.inputs as Uint8Array).subarray(0, config.limit * size),
      labels: train.labels.subarray(0, config.limit),
      count: config.limit,
    };
    testSet = { inputs: test.inputs as Uint8Array, labels: test.labels, count: test.count };
  }
  const engine = await createEngine(
    o.engine ?? 'fast',
    {
      sizes: layerSizes(config, size, ds.labels.length),
      maxBatch: config.batch,
      smoothing: config.labelSmoothing,
      input,
      train: trainSet,
      test: testSet,
    },
    threads,
  );
  return {
    config,
    dataset: ds.sha256,
    testCount: test.count,
    engine,
    threads,
    model: { input: modelInput(ds, vector), labels: ds.labels, meta: datasetMeta(ds, o.dataOptions?.labelColumn) },
    data: ds,
  };
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
  const { config, dataset, testCount, engine, threads, model, data } = await prepare(o, ck);
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
      data: {
        path: o.data,
        format: data.format,
        input: data.input,
        labels: data.labels,
        skipped: data.skipped,
        split: data.split,
        testCount,
      },
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
      input: model.input,
      labels: model.labels,
      meta: {
        trainer: 'digitkit train',
        config: rest,
        seed,
        dataset: model.meta,
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
