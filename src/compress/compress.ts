/**
 * `digitkit compress --max-bytes N`: the most accurate model (on the validation split) whose file fits
 * N bytes. Candidates: the given model's own precision assignments (post-training quantization, then
 * quantization-aware fine-tuning of the best), and students of a few widths distilled from it, each
 * quantized to the assignment that fits with the least validation loss and fine-tuned quantization-aware.
 * Test accuracy is measured once, for the chosen model; then it is written with its parity fixtures and
 * verified through the shipped core. Trained stages are kept in a work directory, keyed by everything
 * they depend on, so an interrupted run (Ctrl-C) resumes where it stopped and runs for other budgets
 * reuse the float students.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  classifyPixels,
  loadModel,
  loadRawModel,
  parseRawModel,
  type Model,
  type RawLayer,
  type RawModel,
} from '../core/index.js';
import { loadMnist, type MnistSplit } from '../data/load.js';
import { DigitkitError, ExitCode, InterruptedError, invalidInput, OptionError, usageError } from '../errors.js';
import { round6 } from '../format.js';
import { accuracyOf, classifyBatch } from '../infer/batch.js';
import { writeFileAtomic } from '../node/atomic.js';
import { describeInput, formatModel, readModelFile, type LayerToWrite, type ModelFile } from '../node/model-file.js';
import { DEFAULT_DATA_DIR, DEFAULT_FLOAT_MODEL, DEFAULT_MODELS_DIR } from '../node/paths.js';
import { autoChoices, chooseAssignment, layerSensitivity } from '../quant/mixed.js';
import { describePrecision, quantizedMeta, quantizeModel, type LayerPrecision } from '../quant/quantize.js';
import { validationSplit } from '../quant/validation.js';
import type { StepInfo } from '../train/loop.js';
import { LIMITS, validateConfig } from '../train/config.js';
import { runTrain, validateThreads, type TrainEvent } from '../train/run.js';
import { runFixtures } from '../verify/fixtures.js';
import { runVerify, type VerifyReport } from '../verify/verify.js';
import { budgetTag, META_RESERVE, planStudents, RECIPE, smallestPossible } from './plan.js';

export interface CompressOptions {
  maxBytes: number;
  /** The float model to compress and to distil students from (default models/mnist-f32.json). */
  model?: string;
  data?: string;
  /** Default models/mnist-<budget>.json (64000 → mnist-64k.json). */
  out?: string;
  /** Default fixtures/mnist-<budget>.json. */
  fixtures?: string;
  /** Where trained stages are kept (default models/.compress/). */
  work?: string;
  seed?: number;
  threads?: number;
  /** Epochs of a student's distillation (default RECIPE.studentEpochs). */
  epochs?: number;
  /** Epochs of quantization-aware fine-tuning (default RECIPE.qatEpochs). */
  qatEpochs?: number;
  signal?: AbortSignal;
}

export type CandidateKind = 'ptq' | 'qat' | 'student';

export interface CandidateResult {
  id: string;
  kind: CandidateKind;
  /** "student 784-32-32-10", "mnist-f32.json, post-training". */
  label: string;
  sizes: number[];
  /** Each layer's storage: "int4 per-channel", "int8", ... */
  precision: string[];
  /** The file's size as compress writes it (meta included). */
  bytes: number;
  valAccuracy: number;
  /** Validation images on which it predicts what the given model predicts. */
  agreement: number;
  /** Median time of one classifyPixels call in the core (µs), on validation images (not in any file). */
  latencyUs: number;
  /** The candidate's model in the work directory. */
  file: string;
}

export type CompressEvent =
  | { type: 'plan'; candidates: { id: string; label: string }[]; budget: number; work: string }
  | {
      type: 'stage';
      id: string;
      label: string;
      stage: 'distill' | 'assign' | 'qat' | 'measure';
      cached: boolean;
      detail?: string;
    }
  | { type: 'candidate'; result: CandidateResult }
  | { type: 'skipped'; id: string; label: string; reason: string };

export interface CompressHooks {
  onEvent?(e: CompressEvent): void;
  onTrainEvent?(e: TrainEvent): void;
  onTrainStep?(s: StepInfo): void;
}

export interface CompressReport {
  budget: number;
  model: { path: string; sha256: string; bytes: number; sizes: number[]; valAccuracy: number };
  validation: { images: number; from: number; note?: string };
  candidates: CandidateResult[];
  skipped: { id: string; label: string; reason: string }[];
  chosen: CandidateResult & { testAccuracy: number; testAgreement: number };
  out: { path: string; bytes: number; sha256: string };
  fixtures: string;
  verify: VerifyReport;
  work: string;
}

/** Thrown on Ctrl-C: what finished is kept; the same command continues. */
export class CompressInterrupted extends InterruptedError {
  constructor(
    readonly finished: string[],
    readonly work: string,
    readonly during: string,
  ) {
    super(
      `interrupted while ${during}; ${finished.length} finished candidate${finished.length === 1 ? '' : 's'} kept in ${work}`,
    );
  }
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
/** Stand-ins with the most digits round6 gives: sizes measured with them hold for any accuracy. */
const PROBE = 0.123456;

/** The labels of a precision assignment, as meta and reports write them. */
const labelsOf = (p: readonly LayerPrecision[]) => p.map(describePrecision);

/** The fixed part of a compressed model's meta; accuracies as measured (or PROBE while sizing). */
function essentials(o: {
  budget: number;
  label: string;
  teacher: { file: string; sha256: string };
  seed: number;
  val: number;
  test: number;
  agreement: number;
  precision: string[];
}) {
  return {
    trainer: 'digitkit compress',
    compress: {
      budget: o.budget,
      candidate: o.label,
      layers: o.precision,
      teacher: o.teacher,
      agreement: round6(o.agreement),
    },
    seed: o.seed,
    valAccuracy: round6(o.val),
    testAccuracy: round6(o.test),
  };
}

/** Median microseconds of one classifyPixels call over up to 400 images (after a warm-up). */
function latencyOf(model: Model, split: MnistSplit): number {
  const n = Math.min(400, split.count);
  const img = (i: number) => split.images.subarray(i * 784, (i + 1) * 784);
  for (let i = 0; i < Math.min(100, n); i++) classifyPixels(model, img(i));
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    classifyPixels(model, img(i));
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return Number((t[n >> 1] * 1000).toFixed(1));
}

const exists = (f: string) => fs.existsSync(f);

export async function runCompress(o: CompressOptions, hooks: CompressHooks = {}): Promise<CompressReport> {
  const budget = o.maxBytes;
  // Settings first, before any file is read (the training ones by train's own rules).
  if (!Number.isInteger(budget) || budget < 1) throw new OptionError('maxBytes', `${budget}: expected an integer >= 1`);
  validateConfig({ seed: o.seed, epochs: o.epochs });
  const q = o.qatEpochs;
  if (q !== undefined && !(Number.isInteger(q) && q >= 1 && q <= LIMITS.epochs))
    throw new OptionError('qatEpochs', `${q}: expected an integer from 1 to ${LIMITS.epochs}`);
  validateThreads(o.threads);
  const tag = budgetTag(budget);
  const modelPath = o.model ?? DEFAULT_FLOAT_MODEL;
  const out = o.out ?? `${DEFAULT_MODELS_DIR}/mnist-${tag}.json`;
  const fixturesPath = o.fixtures ?? `fixtures/mnist-${tag}.json`;
  const work = o.work ?? `${DEFAULT_MODELS_DIR}/.compress`;
  const data = o.data ?? DEFAULT_DATA_DIR;
  const seed = o.seed ?? 1;
  const epochs = o.epochs ?? RECIPE.studentEpochs;
  const qatEpochs = o.qatEpochs ?? RECIPE.qatEpochs;
  if (path.resolve(out) === path.resolve(modelPath))
    throw usageError(`--out ${out} is the input model; choose another path`);

  const teacher: ModelFile = await readModelFile(modelPath);
  const traw = teacher.raw;
  if (traw.input.kind !== 'image' || traw.input.size !== 784 || traw.labels.length !== 10)
    throw invalidInput(
      `${modelPath}: takes ${describeInput(traw.input)} with ${traw.labels.length} classes; compress works on 28x28 digit models`,
    );
  const sizes = [traw.layers[0].rows, ...traw.layers.map((l) => l.cols)];
  const minBytes = smallestPossible(784, 10);
  if (budget < minBytes)
    throw usageError(
      `--max-bytes ${budget}: the smallest model compress can make is about ${minBytes} bytes (784-16-16-10, int4); give at least that`,
    );

  const mnist = await loadMnist(data);
  const train = mnist.train!;
  const test = mnist.test!;
  const val = validationSplit(traw.meta, train);
  const teacherVal = classifyBatch(teacher.model, val.split.images);
  const teacherValAcc = accuracyOf(teacherVal, val.split.labels);
  const teacherRef = { file: path.basename(modelPath), sha256: teacher.sha256 };

  /** Bytes of a model file as compress writes it, with its meta at the stand-in accuracies. */
  const finalBytes = (layers: LayerToWrite[], label: string, precision: string[]) =>
    Buffer.byteLength(
      formatModel({
        layers,
        meta: essentials({
          budget,
          label,
          teacher: teacherRef,
          seed,
          val: PROBE,
          test: PROBE,
          agreement: PROBE,
          precision,
        }),
      }),
    );
  /** The assignment of a float model (the given one, or a student) that fits with the least validation loss. */
  const assign = (raw: RawModel, label: string, source: string) => {
    const floatVal = accuracyOf(classifyBatch(loadRawModel(raw), val.split.images), val.split.labels);
    const sensitivity = layerSensitivity(
      raw,
      val.split,
      floatVal,
      raw.layers.map(() => autoChoices(false)),
    );
    return chooseAssignment(raw, val.split, {
      maxBytes: budget,
      sensitivity,
      bytesOf: (p) => finalBytes(quantizeModel(raw, p).layers, label, labelsOf(p)),
      source,
    }).best;
  };

  // The key of a trained stage: everything its bytes depend on.
  const key = (parts: unknown) =>
    sha256(
      JSON.stringify({
        parts,
        teacher: teacher.sha256,
        data: [mnist.sha256['train-images-idx3-ubyte'], mnist.sha256['train-labels-idx1-ubyte']],
        seed,
        split: [val.from, val.split.count],
      }),
    ).slice(0, 10);
  const limit = val.from + val.split.count;
  const trainConfig = { seed, limit, val: val.split.count };
  const students = planStudents(budget, 784, 10, sizes[1]);
  const plans: { id: string; label: string; kind: CandidateKind; sizes: number[] }[] = [
    ...(traw.dtype === 'float32'
      ? [
          { id: 'ptq', label: `${teacherRef.file}, post-training`, kind: 'ptq' as const, sizes },
          { id: 'qat', label: `${teacherRef.file}, quantization-aware`, kind: 'qat' as const, sizes },
        ]
      : []),
    ...students.map((s) => ({
      id: `student-${s.sizes.join('-')}`,
      label: `student ${s.sizes.join('-')}`,
      kind: 'student' as const,
      sizes: s.sizes,
    })),
  ];
  hooks.onEvent?.({ type: 'plan', candidates: plans.map(({ id, label }) => ({ id, label })), budget, work });

  const results: CandidateResult[] = [];
  const skipped: CompressReport['skipped'] = [];
  const skip = (id: string, label: string, reason: string) => {
    skipped.push({ id, label, reason });
    hooks.onEvent?.({ type: 'skipped', id, label, reason });
  };
  const stage = (
    id: string,
    label: string,
    s: 'distill' | 'assign' | 'qat' | 'measure',
    cached: boolean,
    detail?: string,
  ) => hooks.onEvent?.({ type: 'stage', id, label, stage: s, cached, detail });

  /** `assign`, or null (the candidate left out) when nothing of it fits. */
  const tryAssign = (raw: RawModel, c: { id: string; label: string }, source: string) => {
    try {
      const best = assign(raw, c.label, source);
      stage(c.id, c.label, 'assign', false, best.label);
      return best;
    } catch (err) {
      if (!(err instanceof DigitkitError && err.code === ExitCode.usage)) throw err;
      skip(c.id, c.label, 'no precision assignment of it fits');
      return null;
    }
  };

  /** Train (or reuse, or resume) one stage into `file`; throws CompressInterrupted on Ctrl-C. */
  const trained = async (
    file: string,
    what: string,
    opts: Omit<Parameters<typeof runTrain>[0], 'data' | 'out' | 'checkpoint' | 'resume' | 'signal' | 'threads'>,
  ) => {
    if (exists(file)) return true;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const ckpt = file.replace(/\.json$/, '.ckpt');
    const r = await runTrain({
      ...opts,
      data,
      out: file,
      checkpoint: ckpt,
      resume: exists(ckpt) ? ckpt : undefined,
      signal: o.signal,
      threads: o.threads,
      onEvent: hooks.onTrainEvent,
      onStep: hooks.onTrainStep,
    });
    if (r.status === 'interrupted')
      throw new CompressInterrupted(
        results.map((c) => c.label),
        work,
        `${what} (epoch ${r.epoch + 1}, step ${r.stepInEpoch}/${r.stepsPerEpoch}; its checkpoint is ${r.checkpoint})`,
      );
    return false;
  };

  /** Measure a candidate's quantized model; it counts only if its file fits. */
  const measure = (id: string, kind: CandidateKind, label: string, file: string) => {
    const text = fs.readFileSync(file, 'utf8');
    const raw = parseRawModel(text, file);
    const model = loadRawModel(raw);
    const precision = raw.layers.map(describeLayer);
    const layers = layersOf(raw);
    const bytes = finalBytes(layers, label, precision);
    stage(id, label, 'measure', false);
    if (bytes > budget) return skip(id, label, `its file is ${bytes} bytes, over the budget`);
    const p = classifyBatch(model, val.split.images);
    let agree = 0;
    for (let i = 0; i < p.count; i++) if (p.predicted[i] === teacherVal.predicted[i]) agree++;
    const result: CandidateResult = {
      id,
      kind,
      label,
      sizes: [model.layers[0].rows, ...model.layers.map((l) => l.cols)],
      precision,
      bytes,
      valAccuracy: accuracyOf(p, val.split.labels),
      agreement: agree / p.count,
      latencyUs: latencyOf(model, val.split),
      file,
    };
    results.push(result);
    hooks.onEvent?.({ type: 'candidate', result });
  };

  for (const c of plans) {
    // A student's float stage depends on its distillation only; a quantized stage also on its assignment
    // and fine-tuning (so other budgets and QAT settings reuse the float students).
    const distill = { temperature: RECIPE.temperature, alpha: RECIPE.alpha };
    const dir = path.join(work, `${c.id}-${key(c.kind === 'student' ? { c: c.id, epochs, distill } : { c: c.id })}`);
    const qatKey = (label: string) =>
      sha256(JSON.stringify({ label, qatEpochs, lr: RECIPE.qatLr, scales: RECIPE.qatScales, distill })).slice(0, 10);
    if (c.kind === 'ptq' || c.kind === 'qat') {
      const best = tryAssign(traw, c, modelPath);
      if (!best) continue;
      const file = path.join(
        dir,
        `${c.kind}-${c.kind === 'ptq' ? sha256(best.label).slice(0, 10) : qatKey(best.label)}.json`,
      );
      if (c.kind === 'ptq') {
        if (!exists(file)) {
          fs.mkdirSync(dir, { recursive: true });
          await writeFileAtomic(file, formatModel({ layers: quantizeModel(traw, best.precision).layers, meta: {} }));
        }
      } else {
        const cached = await trained(file, `fine-tuning ${c.label}`, {
          config: { ...trainConfig, epochs: qatEpochs, lr: RECIPE.qatLr },
          init: modelPath,
          teacher: { file: modelPath, temperature: RECIPE.temperature, alpha: RECIPE.alpha },
          qat: qatOf(best.precision),
        });
        stage(c.id, c.label, 'qat', cached, best.label);
      }
      measure(c.id, c.kind, c.label, file);
      continue;
    }
    // A student: distilled in float, assigned its precision on validation, fine-tuned quantization-aware.
    const floatFile = path.join(dir, 'float.json');
    const cached = await trained(floatFile, `distilling ${c.label}`, {
      config: { ...trainConfig, epochs, hidden: c.sizes.slice(1, -1) },
      teacher: { file: modelPath, temperature: RECIPE.temperature, alpha: RECIPE.alpha },
    });
    stage(c.id, c.label, 'distill', cached);
    const student = await readModelFile(floatFile);
    const best = tryAssign(student.raw, c, floatFile);
    if (!best) continue;
    const qatFile = path.join(dir, `qat-${qatKey(best.label)}.json`);
    const qcached = await trained(qatFile, `fine-tuning ${c.label} quantization-aware`, {
      config: { ...trainConfig, epochs: qatEpochs, lr: RECIPE.qatLr },
      init: floatFile,
      teacher: { file: modelPath, temperature: RECIPE.temperature, alpha: RECIPE.alpha },
      qat: qatOf(best.precision),
    });
    stage(c.id, c.label, 'qat', qcached, best.label);
    measure(c.id, c.kind, c.label, qatFile);
  }

  if (!results.length)
    throw usageError(
      `--max-bytes ${budget}: no candidate fits (${skipped.map((s) => `${s.label}: ${s.reason}`).join('; ')}); the smallest model compress can make is about ${minBytes} bytes`,
    );
  // The choice, on validation only (ties: the smaller file, then the order tried).
  const chosenC = [...results].sort((a, b) => b.valAccuracy - a.valAccuracy || a.bytes - b.bytes)[0];
  // Test accuracy: once, for the chosen model.
  const chosenText = fs.readFileSync(chosenC.file, 'utf8');
  const chosenRaw = parseRawModel(chosenText, chosenC.file);
  const chosenModel = loadRawModel(chosenRaw);
  const tp = classifyBatch(chosenModel, test.images);
  const testAccuracy = accuracyOf(tp, test.labels);
  const teacherTest = classifyBatch(teacher.model, test.images);
  let agreeTest = 0;
  for (let i = 0; i < tp.count; i++) if (tp.predicted[i] === teacherTest.predicted[i]) agreeTest++;
  const layers = layersOf(chosenRaw);
  const ess = essentials({
    budget,
    label: chosenC.label,
    teacher: teacherRef,
    seed,
    val: chosenC.valAccuracy,
    test: testAccuracy,
    agreement: chosenC.agreement,
    precision: chosenC.precision,
  });
  const meta = quantizedMeta(
    JSON.parse(chosenText).meta,
    ess,
    (m) => Buffer.byteLength(formatModel({ layers, meta: m })),
    budget,
  );
  const text = formatModel({ layers, meta });
  if (Buffer.byteLength(text) > budget) throw new Error(`internal: ${out} would be ${Buffer.byteLength(text)} bytes`);
  await writeFileAtomic(out, text);
  await runFixtures({ model: out, out: fixturesPath, data });
  const verify = await runVerify({ model: out, fixtures: fixturesPath });
  return {
    budget,
    model: { path: modelPath, sha256: teacher.sha256, bytes: teacher.bytes.length, sizes, valAccuracy: teacherValAcc },
    validation: { images: val.split.count, from: val.from, ...(val.note && { note: val.note }) },
    candidates: results,
    skipped,
    chosen: { ...chosenC, testAccuracy, testAgreement: agreeTest / tp.count },
    out: { path: out, bytes: Buffer.byteLength(text), sha256: sha256(text) },
    fixtures: fixturesPath,
    verify,
    work,
  };
}

/** QAT settings for an assignment: each layer's width (0 keeps it float) and granularity. */
function qatOf(p: readonly LayerPrecision[]) {
  return {
    bits: p.map((l) => (l.bits === 32 ? 0 : l.bits)),
    perChannel: p.map((l) => l.perChannel),
    scales: RECIPE.qatScales,
  };
}

/** "int4 per-channel", "int8", "float32": how a layer is stored. */
const describeLayer = (l: RawLayer) =>
  l.dtype === 'float32' ? 'float32' : `${l.dtype}${Array.isArray(l.scale) ? ' per-channel' : ''}`;

/**
 * A model's layers as formatModel takes them again: the same bytes for the same file (biases and scales
 * read back from their shortest decimals print as the same decimals).
 */
function layersOf(raw: RawModel): LayerToWrite[] {
  return raw.layers.map((l) => ({
    rows: l.rows,
    cols: l.cols,
    dtype: l.dtype,
    w: l.dtype === 'float32' ? Float32Array.from(l.q) : Int8Array.from(l.q),
    ...(l.scale !== undefined && { scale: l.scale }),
    b: l.b.every((v) => Math.fround(v) === v) ? Float32Array.from(l.b) : l.b,
  }));
}
