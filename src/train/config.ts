/**
 * The training configuration: every setting that changes the trained model (and nothing that does
 * not, like thread counts or paths). It is recorded in the model's meta and in checkpoints, and a
 * resumed run must match it exactly.
 */
import { OptionError } from '../errors.js';
import { PIXELS } from './augment.js';
import type { Schedule, ScheduleName } from './schedule.js';

export interface TrainConfig {
  epochs: number;
  batch: number;
  lr: number;
  schedule: ScheduleName;
  /** Linear warm-up length, in epochs (may be fractional). */
  warmup: number;
  labelSmoothing: number;
  hidden: number[];
  shift: number;
  rotate: number;
  zoom: number;
  /** Images: mirror half of them horizontally (absent: never; MNIST's runs leave it out). */
  flip?: boolean;
  /** Vectors: Gaussian noise of this standard deviation on each standardised feature (absent: none). */
  noise?: number;
  seed: number;
  /** Training images used: the first `limit` of the training file ... */
  limit: number;
  /** ... of which the last `val` are held out for validation. */
  val: number;
  /** Quantization-aware training (absent: a float model). */
  qat?: QatConfig;
  /** Distillation from a teacher model (absent: labels only). */
  teacher?: TeacherConfig;
  /** The model whose weights the run starts from instead of random ones (absent: He initialisation). */
  init?: ModelRef;
}

/** A model file a run depends on, by name and content (the path itself is not a setting). */
export interface ModelRef {
  /** The file's base name, for people reading the meta. */
  file: string;
  sha256: string;
}

/** Quantization-aware training: the forward pass sees the weights as the exported integers will be. */
export interface QatConfig {
  /** Per layer: 4 (int4), 8 (int8), or 0 for a layer kept float32. */
  bits: number[];
  /** Per layer: one scale per output column instead of one for the layer. */
  perChannel: boolean[];
  /** Scales recomputed from the weights every step, or fixed from the weights the run starts from. */
  scales: QatScales;
}
export type QatScales = 'step' | 'frozen';

export interface TeacherConfig extends ModelRef {
  /** The teacher's layer sizes. */
  sizes: number[];
  temperature: number;
  /** Weight of the teacher's softened outputs in the loss; 1 - alpha weighs the labels. */
  alpha: number;
}

/**
 * Distillation and QAT defaults, chosen by measurement on the validation split (see the README's
 * compress section and `npm run bench -- compress`).
 */
export const DISTILL_DEFAULTS = { temperature: 1, alpha: 0.5 };
export const QAT_DEFAULTS = { scales: 'frozen' as QatScales };

/** MNIST's ten digits: the classes of the default data. */
export const CLASSES = 10;

/**
 * The default recipe: the variant with the best validation accuracy of those tried (how it was
 * chosen, with the figures: README, "Accuracy"; `npm run bench -- train-accuracy` re-measures it).
 */
export const DEFAULTS = {
  epochs: 60,
  batch: 128,
  lr: 0.002,
  schedule: 'cosine' as ScheduleName,
  labelSmoothing: 0.05,
  hidden: [128, 64],
  shift: 1,
  rotate: 10,
  zoom: 0.1,
  seed: 1,
  val: 5000,
};

/**
 * What kind of data a run trains on decides its augmentation and recipe: "digit" images (MNIST-style,
 * centred strokes: DEFAULTS, shift/rotate/zoom), other images (whole pictures: a shift only, a
 * horizontal flip when asked) and feature vectors (no augmentation; Gaussian noise when asked).
 */
export type DataKind = 'digit' | 'image' | 'vector';

/** How each kind departs from DEFAULTS (measured: see the README's dataset table). */
export const KIND_DEFAULTS: Record<DataKind, Partial<TrainConfig>> = {
  digit: {},
  image: { rotate: 0, zoom: 0, flip: false },
  // Tabular data: a few hundred rows, so small batches and more epochs; no augmentation.
  vector: { epochs: 100, batch: 32, lr: 0.001, labelSmoothing: 0, shift: 0, rotate: 0, zoom: 0, noise: 0 },
};

/**
 * Recipes of named datasets, chosen on their validation split (README, "Datasets": the recipes tried).
 * Fashion-MNIST: no augmentation and stronger label smoothing for 30 epochs had the best validation
 * accuracy over seeds 1-3 of the variants tried (shift, flip, longer runs, other rates and batches).
 */
export const RECIPES: Record<string, Partial<TrainConfig>> = {
  'fashion-mnist': { epochs: 30, shift: 0, labelSmoothing: 0.1 },
};

/** `--fast`: fewer epochs for a quick model (the schedule still anneals to 0). */
export const FAST_EPOCHS = 10;

/**
 * The schedule when none is given: cosine (warm-up, then decay to 0) from 3 epochs on; a shorter run
 * has too few steps to spend half of them at low rates, so it runs at a constant rate (it reaches a
 * higher accuracy that way: README, "Accuracy").
 */
export function defaultSchedule(epochs: number): ScheduleName {
  return epochs >= 3 ? DEFAULTS.schedule : 'constant';
}

/**
 * Warm-up defaults to one epoch under cosine (a tenth of the run when that is shorter than 10 epochs),
 * none under a constant rate (so `--schedule constant` is plain Adam, like the NumPy yardstick).
 */
export function defaultWarmup(schedule: ScheduleName, epochs: number): number {
  return schedule === 'cosine' ? Math.min(1, epochs / 10) : 0;
}

/** Validation split when --val is not given: 5000 of 60000, i.e. 1/12 of a smaller --limit. */
export function defaultVal(limit: number): number {
  return Math.min(DEFAULTS.val, Math.floor(limit / 12));
}

/** The network's widths: the input's size, the hidden layers, one output per class (default: MNIST's). */
export const layerSizes = (c: Pick<TrainConfig, 'hidden'>, inputSize = PIXELS, classes = CLASSES): number[] => [
  inputSize,
  ...c.hidden,
  classes,
];

/** Images trained on each epoch: the first `limit` minus the `val` held out. */
export const trainCount = (c: TrainConfig) => c.limit - c.val;
export const stepsPerEpoch = (c: TrainConfig) => Math.ceil(trainCount(c) / c.batch);

/** The learning-rate schedule a configuration asks for, in optimizer steps. */
export function scheduleOf(c: TrainConfig): Schedule {
  const spe = stepsPerEpoch(c);
  return { name: c.schedule, base: c.lr, warmupSteps: Math.round(c.warmup * spe), totalSteps: c.epochs * spe };
}

/** The largest values the trainer accepts (beyond them a run is a mistake, not a recipe). */
export const LIMITS = {
  epochs: 100_000,
  batch: 8192,
  lr: 10,
  hiddenLayers: 8,
  width: 4096,
  shift: 8,
  rotate: 180,
  zoom: 0.5,
};

/**
 * The one place training settings are range-checked (the CLI's parsers check only that a value is a
 * number). Checks every setting present in `c`, the relations between those present, and, given
 * `available` (training images in the data), that `limit` fits it. Throws an OptionError naming the
 * setting and describing the value (exit 2).
 */
export function validateConfig(c: Partial<TrainConfig>, available?: number): void {
  const check = <K extends keyof TrainConfig>(key: K, ok: (v: TrainConfig[K]) => boolean, expected: string) => {
    const v = c[key];
    if (v !== undefined && !ok(v as TrainConfig[K]))
      throw new OptionError(key, `${Array.isArray(v) ? v.join(',') : String(v)}: ${expected}`);
  };
  const int = (lo: number, hi: number) => (v: number) => Number.isInteger(v) && v >= lo && v <= hi;
  const within = (lo: number, hi: number) => (v: number) => v >= lo && v <= hi;
  check('epochs', int(1, LIMITS.epochs), `expected an integer from 1 to ${LIMITS.epochs}`);
  check('batch', int(1, LIMITS.batch), `expected an integer from 1 to ${LIMITS.batch}`);
  check('lr', (v) => v > 0 && v <= LIMITS.lr, `expected a number > 0 and at most ${LIMITS.lr}`);
  check('schedule', (v) => v === 'cosine' || v === 'constant', 'expected cosine or constant');
  check('warmup', (v) => v >= 0 && Number.isFinite(v), 'expected a number of epochs >= 0');
  check('labelSmoothing', (v) => v >= 0 && v < 1, 'expected a number in [0, 1)');
  check(
    'hidden',
    (v) => Array.isArray(v) && v.length >= 1 && v.length <= LIMITS.hiddenLayers && v.every(int(1, LIMITS.width)),
    `expected 1 to ${LIMITS.hiddenLayers} layer widths, each an integer from 1 to ${LIMITS.width}`,
  );
  check('shift', int(0, LIMITS.shift), `expected an integer from 0 to ${LIMITS.shift} pixels`);
  check('rotate', within(0, LIMITS.rotate), `expected a number of degrees from 0 to ${LIMITS.rotate}`);
  check('zoom', within(0, LIMITS.zoom), `expected a number from 0 to ${LIMITS.zoom}`);
  check('flip', (v) => typeof v === 'boolean', 'expected a switch (true or false)');
  check('noise', (v) => v! >= 0 && v! <= 10, 'expected a number from 0 to 10 (standard deviations)');
  check('seed', int(0, 0xffffffff), 'expected an integer from 0 to 4294967295');
  check('limit', int(2, Number.MAX_SAFE_INTEGER), 'expected an integer >= 2');
  check('val', int(0, Number.MAX_SAFE_INTEGER), 'expected an integer >= 0');
  const { epochs, limit } = c;
  if (epochs !== undefined) check('warmup', (v) => v <= epochs, `is longer than the ${epochs} epoch(s) of the run`);
  if (limit !== undefined) check('val', (v) => v < limit, `leaves none of the ${limit} images (limit) to train on`);
  if (available !== undefined)
    check('limit', (v) => v <= available, `is more than the ${available} training images available`);
  // Quantization-aware training and distillation (relations with the network's depth when both are given).
  const q = c.qat;
  if (q) {
    const b = q.bits;
    if (b.some((x) => x !== 0 && x !== 4 && x !== 8))
      throw new OptionError('qat', `${b.map((x) => x || 32).join(',')}: expected 4, 8 or 32 (float) per layer`);
    if (b.every((x) => x === 0))
      throw new OptionError('qat', `${b.map(() => 32).join(',')}: keeps every layer float32, nothing to quantize`);
    if (c.hidden !== undefined && b.length !== c.hidden.length + 1)
      throw new OptionError(
        'qat',
        `lists ${b.length} width${b.length === 1 ? '' : 's'}, the network ${layerSizes({ hidden: c.hidden }).join('-')} has ${c.hidden.length + 1} layers`,
      );
    if (q.perChannel.length !== b.length)
      throw new OptionError('perChannel', `flags for ${q.perChannel.length} layers, --qat lists ${b.length}`);
    if (q.scales !== 'step' && q.scales !== 'frozen')
      throw new OptionError('qatScales', `${String(q.scales)}: expected step or frozen`);
  }
  if (c.teacher) {
    const { temperature: t, alpha: a } = c.teacher;
    if (!(t > 0 && t <= 100)) throw new OptionError('temperature', `${t}: expected a number > 0 and at most 100`);
    if (!(a >= 0 && a <= 1)) throw new OptionError('alpha', `${a}: expected a number from 0 to 1`);
  }
}
