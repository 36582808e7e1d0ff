/**
 * `digitkit eval` as a library call: run one model (and optionally a second) over the MNIST test
 * set through the shipped core, compute every number, optionally write the PNG report.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { MAX_MODEL_BYTES, type ModelInfo } from '../core/index.js';
import type { DataFormat, Dataset, Split } from '../data/dataset.js';
import { checkFits, loadTestSet } from '../data/open.js';
import { invalidInput } from '../errors.js';
import { describeInput, readModelFile, type ModelFile } from '../node/model-file.js';
import { defaultModel } from '../node/paths.js';
import { checkJsonShape, readInputFileSync } from '../node/input-file.js';
import { readHistory, type History } from './curves-chart.js';
import { loadRawModel } from '../core-wasm/index.js';
import { classifyBatch, type BatchPredictions } from '../infer/batch.js';
import { agreement, classStats, confusionMatrix, correctCount, type ClassStats } from './metrics.js';
import { ensureReportDir, writeReport, type ReportFiles } from './report.js';

export const EVAL_FORMAT = 'digitkit-eval';

/** A misclassified test sample. Classes are indices into the model's labels (the digit itself for MNIST). */
export interface EvalError {
  /** Position in the test set (0-based). */
  index: number;
  /** Where the sample comes from, for data other than IDX ("cat/003.png", "line-18"). */
  id?: string;
  label: number;
  predicted: number;
  /** The model's probability for its (wrong) prediction. */
  probability: number;
  /** The model's probability for the true class. */
  trueProbability: number;
}

export interface ModelEval {
  path: string;
  sha256: string;
  bytes: number;
  dtype: ModelInfo['dtype'];
  /** `meta.testAccuracy` as the trainer recorded it, when present. */
  metaTestAccuracy?: number;
  count: number;
  correct: number;
  accuracy: number;
  classes: ClassStats[];
  /** `confusion[true][predicted]` counts. */
  confusion: number[][];
  /** Every misclassified digit, in test-set order. */
  errors: EvalError[];
  /** `meta.history` (per-epoch loss/accuracy) when the model has one; non-numbers become null. */
  history?: History;
  /** Where `history` came from when it is not the model's own: the float model it was quantized from. */
  historyFrom?: string;
}

export interface Disagreement {
  index: number;
  label: number;
  a: { predicted: number; probability: number };
  b: { predicted: number; probability: number };
}

export interface EvalReport {
  format: typeof EVAL_FORMAT;
  version: 1;
  /**
   * The test data: an IDX directory's t10k files (split "t10k"), or a folder or CSV file (its `format`,
   * and which of its samples: all of them, or the test split the model was trained with).
   */
  data: {
    dir: string;
    split: string;
    count: number;
    sha256: Record<string, string>;
    format?: DataFormat;
    /** The kind of sample: images, or rows of a CSV (vector models; their errors are listed as rows). */
    samples?: 'images' | 'rows';
  };
  model: ModelEval;
  compare?: {
    model: ModelEval;
    agreement: { count: number; agree: number; rate: number };
    /** Every digit where the two models' predictions differ, in test-set order. */
    disagreements: Disagreement[];
  };
  report?: ReportFiles;
  /** Things the user should know (e.g. no font to draw text with); printed on stderr. */
  warnings: string[];
}

export interface EvalOptions {
  /** Default: models/mnist-int8.json, or the copy digitkit ships when the working directory has none. */
  model?: string;
  /** An IDX directory (its t10k files), an image folder or a CSV file (data/open.ts loadTestSet). */
  data: string;
  format?: DataFormat;
  labelColumn?: string;
  compare?: string;
  report?: string;
  /** Called after each chunk of images, per model. */
  onProgress?: (model: string, done: number, total: number) => void;
}

/** Probabilities are written with 6 decimals: plenty for a report, and keeps report.json readable. */
const sixDecimals = (p: number) => Math.round(p * 1e6) / 1e6;

/** A second model must take the same inputs and give the same classes as the first, to be compared on the same data. */
function checkComparable(a: ModelFile, b: ModelFile): void {
  const same =
    JSON.stringify({ ...a.model.input, offset: 0, scale: 0 }) ===
    JSON.stringify({ ...b.model.input, offset: 0, scale: 0 });
  if (!same)
    throw invalidInput(
      `${b.path}: input is ${describeInput(b.model.input)}, ${a.path}'s is ${describeInput(a.model.input)}; they cannot be compared on the same data`,
    );
  if (b.model.labels.join('\n') !== a.model.labels.join('\n'))
    throw invalidInput(
      `${b.path}: its classes (${b.model.labels.join(', ')}) are not ${a.path}'s (${a.model.labels.join(', ')})`,
    );
}

/**
 * The training history to show for a model. An int8 model keeps only part of it (its file has a size
 * budget), so when its meta names the float model it came from, and that file sits beside it with the
 * recorded sha256, the float model's full history is used instead.
 */
function trainingHistory(m: ModelFile): { history: History; from?: string } | null {
  const meta = m.raw.meta as
    { history?: unknown; quantization?: { source?: { file?: unknown; sha256?: unknown } } } | undefined;
  const own = readHistory(meta);
  const src = meta?.quantization?.source;
  if (src && typeof src.file === 'string' && typeof src.sha256 === 'string') {
    const file = path.join(path.dirname(m.path), path.basename(src.file));
    try {
      // Named by the model's meta: only a regular file beside it, within the model size limit.
      const bytes = readInputFileSync(file, { kind: 'model', limit: MAX_MODEL_BYTES });
      if (createHash('sha256').update(bytes).digest('hex') === src.sha256) {
        checkJsonShape(bytes, file);
        const full = readHistory((JSON.parse(bytes.toString('utf8')) as { meta?: unknown }).meta);
        const count = (h: History | null) => (h ? Object.values(h).filter((v) => v?.some(Number.isFinite)).length : 0);
        if (full && count(full) > count(own)) return { history: full, from: file };
      }
    } catch {
      // No usable source model: fall back to the model's own history.
    }
  }
  return own ? { history: own } : null;
}

function summarize(m: ModelFile, split: Split, p: BatchPredictions, ids: boolean): ModelEval {
  const confusion = confusionMatrix(split.labels, p.predicted, p.classes);
  const correct = correctCount(confusion);
  const errors: EvalError[] = [];
  for (let i = 0; i < split.count; i++) {
    const label = split.labels[i];
    const predicted = p.predicted[i];
    if (predicted === label) continue;
    errors.push({
      index: i,
      ...(ids && { id: split.id(i) }),
      label,
      predicted,
      probability: sixDecimals(p.probs[i * p.classes + predicted]),
      trueProbability: sixDecimals(p.probs[i * p.classes + label]),
    });
  }
  const meta = m.raw.meta as Record<string, unknown> | undefined;
  const metaTest = meta && typeof meta === 'object' ? meta.testAccuracy : undefined;
  const history = trainingHistory(m);
  return {
    path: m.path,
    sha256: m.sha256,
    bytes: m.bytes.length,
    dtype: m.raw.dtype,
    ...(typeof metaTest === 'number' ? { metaTestAccuracy: metaTest } : {}),
    count: split.count,
    correct,
    accuracy: correct / split.count,
    classes: classStats(confusion, m.model.labels),
    confusion,
    errors,
    ...(history ? { history: history.history } : {}),
    ...(history?.from ? { historyFrom: history.from } : {}),
  };
}

export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  // Models first: a bad model path is reported before the (larger) data set is read.
  const a = await readModelFile(
    defaultModel(opts.model),
    'no such model file (train one with `digitkit train`, or name one with --model)',
  );
  const b =
    opts.compare === undefined
      ? undefined
      : await readModelFile(opts.compare, 'no such model file (the file given to --compare)');
  // An unusable report directory is reported before the work, not after it.
  if (opts.report !== undefined) await ensureReportDir(opts.report);
  const set = await loadTestSet(opts.data, a.raw, a.path, { format: opts.format, labelColumn: opts.labelColumn });
  const test = set.dataset.test!;
  if (b) checkFits(b.raw, b.path, set.dataset);
  if (b) checkComparable(a, b);
  const ids = set.dataset.format !== 'idx';

  const run = (m: ModelFile) =>
    // On digitkit/core-wasm: its kernel where the runtime has wasm SIMD (the portable core otherwise).
    classifyBatch(loadRawModel(m.raw), test.inputs, {
      onProgress: (done, total) => opts.onProgress?.(m.path, done, total),
    });
  const pa = run(a);
  const report: EvalReport = {
    format: EVAL_FORMAT,
    version: 1,
    data: {
      dir: opts.data,
      split: set.dataset.format === 'idx' ? 't10k' : set.note,
      count: test.count,
      sha256: set.dataset.sha256,
      ...(ids && { format: set.dataset.format, samples: a.model.input.kind === 'vector' ? 'rows' : 'images' }),
    },
    model: summarize(a, test, pa, ids),
    warnings: [],
  };
  if (b) {
    const pb = run(b);
    const ag = agreement(pa.predicted, pb.predicted);
    const C = pa.classes;
    report.compare = {
      model: summarize(b, test, pb, ids),
      agreement: { count: ag.count, agree: ag.agree, rate: ag.rate },
      disagreements: ag.disagree.map((i) => ({
        index: i,
        label: test.labels[i],
        a: { predicted: pa.predicted[i], probability: sixDecimals(pa.probs[i * C + pa.predicted[i]]) },
        b: { predicted: pb.predicted[i], probability: sixDecimals(pb.probs[i * C + pb.predicted[i]]) },
      })),
    };
  }
  if (opts.report !== undefined) {
    await writeReport(opts.report, report, test, set.dataset, a.model);
  }
  return report;
}
