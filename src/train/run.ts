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
import { invalidInput, OptionError, usageError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { round6 } from '../format.js';
import { formatModel, shortestFloat32, type InputToWrite } from '../node/model-file.js';
import {
  DEFAULTS,
  defaultSchedule,
  defaultVal,
  defaultWarmup,
  DISTILL_DEFAULTS,
  KIND_DEFAULTS,
  layerSizes,
  QAT_DEFAULTS,
  RECIPES,
  stepsPerEpoch,
  trainCount,
  validateConfig,
  type DataKind,
  type QatConfig,
  type QatScales,
  type TeacherConfig,
  type TrainConfig,
} from './config.js';
import type { Engine, EngineOptions, SampleSet, TrainInput } from './engine.js';
import { createFastEngine } from './fast-engine.js';
import { createReferenceEngine } from './reference-engine.js';
import { readInit, readTeacher, type LoadedWeights } from './model-inputs.js';
import { computeScales, exportQuantized } from './qat.js';
import { loadModel } from '../core/index.js';
import { accuracyOf, classifyBatch, type BatchInputs } from '../infer/batch.js';
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
  /** Distill from this model (its softened outputs at `temperature`, weighted by `alpha`, plus the labels). */
  teacher?: { file: string; temperature?: number; alpha?: number };
  /** Start from this model's weights instead of random ones (its shape must match `config.hidden`). */
  init?: string;
  /** Quantization-aware training: one width for every layer, or one per layer (0: float). */
  qat?: { bits: number | number[]; perChannel?: boolean | boolean[]; scales?: QatScales };
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
      /** Of the written model (for a QAT run: the quantized file, through the inference core). */
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
  if (given.qat && JSON.stringify(given.qat) !== JSON.stringify(c.qat))
    throw new OptionError(
      'qat',
      `does not match the ${c.qat ? `${c.qat.bits.map((b) => b || 32).join(',')} ${c.qat.scales}` : 'float training'} that ${file} was trained with (drop the flag to resume, or start a new run)`,
    );
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
    qat: g.qat,
    teacher: g.teacher,
    init: g.init,
  };
}

/** Frozen QAT scales from the weights the run starts from. */
function freezeScales(engine: Engine, qat: QatConfig): void {
  let s = 0;
  trainedLayers(engine).forEach((l, k) => {
    if (qat.bits[k]) computeScales(l.w, l.rows, l.cols, qat.bits[k], qat.perChannel[k], engine.qatScales[s++]);
  });
}

type QatViews = Parameters<typeof exportQuantized>[0];

/** A teacher or initial model must take the data's inputs and give its classes. */
function checkFits(w: LoadedWeights, role: string, file: string, size: number, classes: number): void {
  const [inputs, outputs] = [w.sizes[0], w.sizes[w.sizes.length - 1]];
  if (inputs !== size || outputs !== classes)
    throw invalidInput(
      `${file}: the ${role} model takes ${inputs} inputs and gives ${outputs} classes; the data has ${size} values per sample and ${classes} classes`,
    );
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
  if (test.count === 0 && 'fraction' in ds.split) {
    // Every class has a single sample, and a class's only sample is kept for training.
    const [noun, source] = kind === 'vector' ? ['rows', 'a test file'] : ['images', 'a test folder'];
    throw invalidInput(
      `${o.data}: the ${Math.round(ds.split.fraction * 100)}% test split is empty (${train.count} ${noun}, one per class); give each class more ${noun}, or ${source} with --test`,
    );
  }
  if (!ck) refuseFlags(o.config, kind, o.data);
  const recipe = (ds.named && RECIPES[ds.named.name]) || {};
  const size = sizeOf(ds.input);
  const classes = ds.labels.length;
  // The initial weights (a fresh run only: a resumed one has its own) set the shape when --hidden does not.
  const init =
    o.init && !ck
      ? await readInit(o.init, o.config.hidden && layerSizes({ hidden: o.config.hidden }, size, classes))
      : undefined;
  if (init) checkFits(init, 'initial', o.init!, size, classes);
  const given: Partial<TrainConfig> = init
    ? { ...o.config, hidden: init.sizes.slice(1, -1), init: init.ref }
    : { ...o.config };
  if (o.qat) {
    const layers =
      (given.hidden ?? (ck ? ck.config.hidden : { ...DEFAULTS, ...KIND_DEFAULTS[kind], ...recipe }.hidden)).length + 1;
    given.qat = {
      bits: typeof o.qat.bits === 'number' ? Array(layers).fill(o.qat.bits) : o.qat.bits,
      perChannel: Array.isArray(o.qat.perChannel) ? o.qat.perChannel : Array(layers).fill(Boolean(o.qat.perChannel)),
      scales: o.qat.scales ?? (ck?.config.qat?.scales || QAT_DEFAULTS.scales),
    };
  }
  const config = ck ? resumeConfig(given, ck, o.resume!) : freshConfig(given, train.count, kind, recipe);
  // The teacher: read again when resuming (from the checkpoint's record of where it was), and checked.
  let teacher: Awaited<ReturnType<typeof readTeacher>> | undefined;
  const teacherFile = o.teacher?.file ?? (ck?.config.teacher && ck.files?.teacher);
  if (ck && o.teacher && !ck.config.teacher)
    throw usageError(`--teacher: ${o.resume} was trained without one (drop the flag to resume, or start a new run)`);
  if (ck?.config.teacher && !teacherFile)
    throw invalidInput(`${o.resume}: was distilled from a teacher but does not say where it is; pass --teacher FILE`);
  if (teacherFile) {
    const was = ck?.config.teacher;
    const t: { temperature?: number; alpha?: number } = o.teacher ?? {};
    teacher = await readTeacher(
      teacherFile,
      t.temperature ?? was?.temperature ?? DISTILL_DEFAULTS.temperature,
      t.alpha ?? was?.alpha ?? DISTILL_DEFAULTS.alpha,
    );
    checkFits(
      { ...teacher.config, ref: teacher.config, params: teacher.params },
      'teacher',
      teacherFile,
      size,
      classes,
    );
    if (was) {
      if (teacher.config.sha256 !== was.sha256)
        throw invalidInput(
          `${teacherFile} differs from the teacher ${o.resume} was distilled from (sha256 ${teacher.config.sha256.slice(0, 12)}…, expected ${was.sha256.slice(0, 12)}…)`,
        );
      if (teacher.config.temperature !== was.temperature || teacher.config.alpha !== was.alpha)
        throw usageError(
          `--temperature/--alpha do not match the ${was.temperature}/${was.alpha} that ${o.resume} was trained with (drop the flags to resume)`,
        );
    }
    config.teacher = teacher.config;
  }
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
      qat: config.qat && {
        bits: config.qat.bits,
        perChannel: config.qat.perChannel,
        frozen: config.qat.scales === 'frozen',
      },
      teacher: teacher && {
        sizes: teacher.config.sizes,
        params: teacher.params,
        temperature: teacher.config.temperature,
        alpha: teacher.config.alpha,
      },
    },
    threads,
  );
  // The held-out samples and the test set as the data holds them (raw pixels or feature values), for
  // measuring a quantized model through the core.
  const from = config.limit - config.val;
  const held = {
    val: {
      inputs: train.inputs.slice(from * size, config.limit * size),
      labels: train.labels.slice(from, config.limit),
    },
    test: { inputs: test.inputs, labels: test.labels },
  };
  return {
    config,
    dataset: ds.sha256,
    testCount: test.count,
    engine,
    threads,
    init,
    teacherFile,
    held,
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
  if (o.teacher)
    validateConfig({
      teacher: {
        temperature: o.teacher.temperature ?? DISTILL_DEFAULTS.temperature,
        alpha: o.teacher.alpha ?? DISTILL_DEFAULTS.alpha,
      } as TeacherConfig,
    });
  const ckptPath = o.checkpoint ?? defaultCheckpointPath(o.out);
  // Where the model and the checkpoints go is checked before the data is read, not after the training.
  await checkOutput(o.out);
  await checkOutput(ckptPath);
  const ck = o.resume ? await readCheckpoint(o.resume) : null;
  const { config, dataset, testCount, engine, threads, model, data, init, teacherFile, held } = await prepare(o, ck);
  const sizes = engine.layout.sizes;
  const frozen = config.qat?.scales === 'frozen';
  try {
    let progress: TrainProgress;
    if (ck) {
      if (ck.paramCount !== engine.layout.count || (ck.order && ck.order.length !== trainCount(config))) {
        throw invalidInput(
          `${o.resume}: holds ${ck.paramCount} parameters, the network ${sizes.join('-')} has ${engine.layout.count}; not a usable checkpoint`,
        );
      }
      engine.state.set(ck.state);
      if (frozen) {
        if (
          ck.qatScales?.length !== engine.qatScales.length ||
          ck.qatScales.some((s, i) => s.length !== engine.qatScales[i].length)
        )
          throw invalidInput(`${o.resume}: lacks the frozen QAT scales of its layers; not a usable checkpoint`);
        ck.qatScales.forEach((s, i) => engine.qatScales[i].set(s));
      }
      engine.paramsChanged();
      if (ck.order) engine.order.set(ck.order);
      progress = ck.progress;
    } else {
      progress = initialProgress(config, engine);
      if (init) engine.params.set(init.params);
      // Frozen QAT scales come from the weights the run starts from.
      if (frozen) freezeScales(engine, config.qat!);
      if (init || frozen) engine.paramsChanged();
    }
    const save = () =>
      writeCheckpoint(ckptPath, {
        config,
        dataset,
        paramCount: engine.layout.count,
        progress,
        state: engine.state,
        order: progress.orderDrawn ? engine.order.subarray(0, trainCount(config)) : undefined,
        ...(teacherFile && { files: { teacher: path.resolve(teacherFile) } }),
        ...(frozen && { qatScales: engine.qatScales.map((s) => Array.from(s)) }),
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
    const hist = progress.history;
    let valAccuracy = hist.valAccuracy.length ? hist.valAccuracy[hist.valAccuracy.length - 1] : null;
    let testAccuracy: number;
    const { seed, ...rest } = config;
    const meta = (accuracies: Record<string, unknown>) => ({
      trainer: 'digitkit train',
      config: rest,
      seed,
      dataset: model.meta,
      history: config.val > 0 ? hist : { loss: hist.loss, trainAccuracy: hist.trainAccuracy, lr: hist.lr },
      ...accuracies,
    });
    let text: string;
    if (config.qat) {
      // The quantized model as the file stores it, measured through the inference core (what ships).
      const scales = frozen
        ? engine.qatScales
        : trainedLayers(engine).flatMap((l, k) =>
            config.qat!.bits[k]
              ? [computeScales(l.w, l.rows, l.cols, config.qat!.bits[k], config.qat!.perChannel[k])]
              : [],
          );
      const layers = exportQuantized(trainedLayers(engine) as QatViews, config.qat.bits, scales, shortestFloat32);
      const shipped = loadModel(formatModel({ layers, input: model.input, labels: model.labels }), o.out);
      const acc = (s: { inputs: BatchInputs; labels: Uint8Array }) =>
        accuracyOf(classifyBatch(shipped, s.inputs), s.labels);
      valAccuracy = config.val > 0 ? round6(acc(held.val)) : null;
      testAccuracy = acc(held.test);
      text = formatModel({
        layers,
        input: model.input,
        labels: model.labels,
        meta: {
          ...meta({ valAccuracy, testAccuracy: round6(testAccuracy) }),
          quantization: {
            scheme:
              'quantization-aware training: scale = float32(max|w|/Q) per layer or per column (written as its shortest decimal), q = clamp(round(w/scale), -Q, Q), Q = 127 (int8) or 7 (int4)',
            layers: config.qat.bits.map((b, k) =>
              b ? `int${b}${config.qat!.perChannel[k] ? ' per-channel' : ''}` : 'float32',
            ),
            rounding: 'half away from zero',
            scales: config.qat.scales,
          },
        },
      });
    } else {
      testAccuracy = engine.evaluate('test', 0, testCount) / testCount;
      text = formatModel({
        dtype: 'float32',
        layers: trainedLayers(engine).map((l) => ({ rows: l.rows, cols: l.cols, w: l.w, b: l.b })),
        input: model.input,
        labels: model.labels,
        meta: meta({ valAccuracy, testAccuracy: round6(testAccuracy) }),
      });
    }
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
