/**
 * `digitkit train` as a library call: resolve the configuration (defaults, flags, or a checkpoint to
 * resume), load MNIST, run the loop with a checkpoint after every epoch, and write the float32 model
 * atomically. Returns data; throws DigitkitError; never exits the process.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { loadMnist } from '../data/load.js';
import { invalidInput, OptionError, usageError } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { round6 } from '../format.js';
import { formatModel, shortestFloat32 } from '../node/model-file.js';
import {
  DEFAULTS,
  defaultSchedule,
  defaultVal,
  defaultWarmup,
  DISTILL_DEFAULTS,
  layerSizes,
  QAT_DEFAULTS,
  stepsPerEpoch,
  trainCount,
  validateConfig,
  type QatConfig,
  type QatScales,
  type TeacherConfig,
  type TrainConfig,
} from './config.js';
import { CLASSES } from './config.js';
import { inputSizeOf, type Engine, type EngineOptions, type TrainInput } from './engine.js';
import { createFastEngine } from './fast-engine.js';
import { createReferenceEngine } from './reference-engine.js';
import { readInit, readTeacher } from './model-inputs.js';
import { computeScales, exportQuantized } from './qat.js';
import { loadModel } from '../core/index.js';
import { accuracyOf, classifyBatch } from '../infer/batch.js';
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
  // The initial weights (a fresh run only: a resumed one has its own) set the shape when --hidden does not.
  const init =
    o.init && !ck ? await readInit(o.init, o.config.hidden && layerSizes({ hidden: o.config.hidden })) : undefined;
  const given: Partial<TrainConfig> = init
    ? { ...o.config, hidden: init.sizes.slice(1, -1), init: init.ref }
    : { ...o.config };
  if (o.qat) {
    const layers = (given.hidden ?? (ck ? ck.config.hidden : DEFAULTS.hidden)).length + 1;
    given.qat = {
      bits: typeof o.qat.bits === 'number' ? Array(layers).fill(o.qat.bits) : o.qat.bits,
      perChannel: Array.isArray(o.qat.perChannel) ? o.qat.perChannel : Array(layers).fill(Boolean(o.qat.perChannel)),
      scales: o.qat.scales ?? (ck?.config.qat?.scales || QAT_DEFAULTS.scales),
    };
  }
  const config = ck ? resumeConfig(given, ck, o.resume!) : freshConfig(given, train.count);
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
  const slice = (images: Uint8Array, labels: Uint8Array, from: number, count: number) => ({
    images: images.slice(from * size, (from + count) * size),
    labels: labels.slice(from, from + count),
  });
  return {
    config,
    dataset: mnist.sha256,
    engine,
    threads,
    init,
    teacherFile,
    /** The held-out images and the test set, for measuring a quantized model through the core. */
    held: { val: slice(train.images, train.labels, config.limit - config.val, config.val), test },
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
  const ck = o.resume ? await readCheckpoint(o.resume) : null;
  const { config, dataset, engine, threads, init, teacherFile, held } = await prepare(o, ck);
  const testCount = held.test.count;
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
      dataset: { sha256: dataset },
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
      const model = loadModel(formatModel({ layers }), o.out);
      const acc = (s: { images: Uint8Array; labels: Uint8Array }) =>
        accuracyOf(classifyBatch(model, s.images), s.labels);
      valAccuracy = config.val > 0 ? round6(acc(held.val)) : null;
      testAccuracy = acc(held.test);
      text = formatModel({
        layers,
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
