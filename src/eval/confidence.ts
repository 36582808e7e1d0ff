/**
 * A confidence threshold: below it a prediction is "not sure" (predict lists it apart, the page says
 * so). The threshold is chosen on a labelled split the model did not train on (train's validation
 * split), never on the test set, by one stated rule: the largest candidate threshold that refuses at
 * most `maxRefused` (default 1%) of the split's samples. The table beside it says, for every
 * candidate, what share of samples it refuses and what share of the model's errors it avoids.
 */
import path from 'node:path';
import { loadRawModel } from '../core-wasm/index.js';
import { loadMnist } from '../data/load.js';
import { loadTestSet } from '../data/open.js';
import { OptionError } from '../errors.js';
import { classifyBatch, type BatchPredictions } from '../infer/batch.js';
import { int, pct } from '../format.js';
import { readModelFile } from '../node/model-file.js';
import { defaultModel } from '../node/paths.js';
import { validationSplit } from '../quant/validation.js';

/** Candidate thresholds: 0.01, 0.02, ... 0.99 (a top probability is at least 1/classes anyway). */
export const CANDIDATES: readonly number[] = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);

/** The rule's default: refuse at most 1 in 100 of the validation split's samples. */
export const MAX_REFUSED = 0.01;

/**
 * The threshold this rule chose for the shipped MNIST model (models/mnist-int8.json) on its
 * validation split (the last 5,000 training images, as train holds out): what the page uses for a
 * model whose meta carries no minConfidence. `digitkit eval --confidence` recomputes it; a test
 * checks that it still comes out so.
 */
export const MNIST_MIN_CONFIDENCE = 0.56;

export interface ConfidenceRow {
  threshold: number;
  /** Samples whose top probability is below the threshold. */
  refused: number;
  refusedShare: number;
  /** Errors (top class != label) among the refused ones. */
  errorsAvoided: number;
  /** errorsAvoided / all errors (0 when there are none). */
  errorsAvoidedShare: number;
  /** Accuracy on the samples kept (1 when none is kept). */
  keptAccuracy: number;
}

export interface ConfidenceTable {
  count: number;
  /** The model's errors on the split, before any refusal. */
  errors: number;
  rows: ConfidenceRow[];
}

/** The top probability of each sample. */
export function topProbabilities(p: BatchPredictions): Float64Array {
  const top = new Float64Array(p.count);
  for (let s = 0; s < p.count; s++) top[s] = p.probs[s * p.classes + p.predicted[s]];
  return top;
}

/** What refusing below `threshold` does on a labelled split. */
export function confidenceAt(p: BatchPredictions, labels: ArrayLike<number>, threshold: number): ConfidenceRow {
  return confidenceTable(p, labels, [threshold]).rows[0];
}

/** For each candidate threshold: the share of samples refused and the share of errors avoided. */
export function confidenceTable(
  p: BatchPredictions,
  labels: ArrayLike<number>,
  thresholds: readonly number[] = CANDIDATES,
): ConfidenceTable {
  if (labels.length !== p.count) throw new RangeError(`${labels.length} labels for ${p.count} predictions`);
  const top = topProbabilities(p);
  let errors = 0;
  for (let s = 0; s < p.count; s++) if (p.predicted[s] !== labels[s]) errors++;
  const rows = thresholds.map((threshold) => {
    let refused = 0;
    let errorsAvoided = 0;
    for (let s = 0; s < p.count; s++)
      if (top[s] < threshold) {
        refused++;
        if (p.predicted[s] !== labels[s]) errorsAvoided++;
      }
    const kept = p.count - refused;
    return {
      threshold,
      refused,
      refusedShare: p.count ? refused / p.count : 0,
      errorsAvoided,
      errorsAvoidedShare: errors ? errorsAvoided / errors : 0,
      keptAccuracy: kept ? (kept - (errors - errorsAvoided)) / kept : 1,
    };
  });
  return { count: p.count, errors, rows };
}

/**
 * The rule: the largest threshold of the table that refuses at most `maxRefused` of the samples
 * (null when even the smallest refuses more).
 */
export function chooseThreshold(table: ConfidenceTable, maxRefused = MAX_REFUSED): ConfidenceRow | null {
  let best: ConfidenceRow | null = null;
  for (const r of table.rows) if (r.refusedShare <= maxRefused && (!best || r.threshold > best.threshold)) best = r;
  return best;
}

export interface ConfidenceOptions {
  /** Default: models/mnist-int8.json, or the copy digitkit ships when the working directory has none. */
  model?: string;
  /** An IDX directory: its train files hold the validation split, its t10k files the test set. */
  data: string;
  /** The rule's bound on the share of validation samples refused (default 1%). */
  maxRefused?: number;
  /** Write a copy of the model carrying the chosen threshold as meta.minConfidence (never the model itself). */
  out?: string;
  onProgress?: (split: 'validation' | 'test', done: number, total: number) => void;
}

export interface ConfidenceReport {
  model: string;
  maxRefused: number;
  validation: ConfidenceTable & { from: number; note?: string };
  /** The rule's choice on the validation split (null: even 0.01 refuses more than maxRefused). */
  chosen: ConfidenceRow | null;
  /** What the chosen threshold does on the test set: measured once, after the choice. */
  test: { count: number; errors: number; atChosen: ConfidenceRow | null };
  /** The model copy written (opts.out). */
  out?: string;
}

/** Tabulate on the validation split, choose by the rule, and measure the choice on the test set. */
export async function runConfidence(opts: ConfidenceOptions): Promise<ConfidenceReport> {
  const maxRefused = opts.maxRefused ?? MAX_REFUSED;
  if (!(maxRefused >= 0 && maxRefused < 1))
    throw new OptionError('maxRefused', `${maxRefused}: expected a share in [0, 1) (0.01 = refuse at most 1%)`);
  const modelPath = defaultModel(opts.model);
  const m = await readModelFile(modelPath);
  // Loaded only for a run that writes (checked before any work: nothing half-done).
  const atomic = opts.out === undefined ? undefined : await import('../node/atomic.js');
  if (opts.out !== undefined) {
    if (path.resolve(opts.out) === path.resolve(modelPath))
      throw new OptionError('out', `${opts.out} is the model itself; write the copy to another file`);
    await atomic!.checkOutput(opts.out);
  }
  const set = await loadTestSet(opts.data, m.raw, modelPath);
  if (set.dataset.format !== 'idx')
    throw new OptionError(
      'confidence',
      `needs an IDX directory as --data (the threshold is chosen on the training images train held out); ${opts.data} is ${set.dataset.format} data`,
    );
  const val = validationSplit(m.raw.meta, (await loadMnist(opts.data, ['train'])).train!);
  const model = loadRawModel(m.raw);
  const pv = classifyBatch(model, val.split.images, {
    onProgress: (done, total) => opts.onProgress?.('validation', done, total),
  });
  const table = confidenceTable(pv, val.split.labels);
  const chosen = chooseThreshold(table, maxRefused);
  const t = set.dataset.test!;
  const pt = classifyBatch(model, t.inputs, { onProgress: (done, total) => opts.onProgress?.('test', done, total) });
  const atTest = confidenceTable(pt, t.labels, chosen ? [chosen.threshold] : []);
  if (opts.out !== undefined && chosen)
    await atomic!.writeFileAtomic(opts.out, withMinConfidence(m.bytes, chosen.threshold));
  return {
    model: modelPath,
    ...(opts.out !== undefined && chosen && { out: opts.out }),
    maxRefused,
    validation: { ...table, from: val.from, ...(val.note && { note: val.note }) },
    chosen,
    test: { count: atTest.count, errors: atTest.errors, atChosen: atTest.rows[0] ?? null },
  };
}

/** A model file's text with `meta.minConfidence` set (everything else as it was: compact JSON, same key order). */
export function withMinConfidence(bytes: Uint8Array, threshold: number): string {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { meta?: unknown };
  const meta = doc.meta !== null && typeof doc.meta === 'object' && !Array.isArray(doc.meta) ? doc.meta : {};
  doc.meta = { ...meta, minConfidence: threshold };
  return JSON.stringify(doc);
}

/** Thresholds the terminal table lists (the JSON has every candidate), plus the chosen one. */
const LISTED = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/** `digitkit eval --confidence` as text. */
export function formatConfidenceText(rep: ConfidenceReport): string[] {
  const v = rep.validation;
  const t = rep.chosen?.threshold;
  const out = [
    `model      ${rep.model}`,
    `validation training images ${int(v.from)}-${int(v.from + v.count - 1)} (${int(v.count)} samples, ${v.errors} errors)`,
    ...(v.note ? [`           (${v.note})`] : []),
    '',
  ];
  const rows = v.rows.filter((r) => LISTED.includes(r.threshold) || r.threshold === t);
  const cells = [
    ['threshold', 'refused', 'errors avoided', 'accuracy kept'],
    ...rows.map((r) => [
      r.threshold.toFixed(2) + (r.threshold === t ? ' *' : '  '),
      pct(r.refusedShare),
      `${r.errorsAvoided}/${v.errors} ${pct(r.errorsAvoidedShare, 1)}`,
      pct(r.keptAccuracy),
    ]),
  ];
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  for (const r of cells) out.push(r.map((cell, c) => cell.padStart(widths[c])).join('  '));
  out.push('');
  const rule = `rule       the largest threshold refusing at most ${pct(rep.maxRefused)} of the validation samples`;
  if (!rep.chosen) {
    out.push(rule, `           none: even 0.01 refuses more`);
    return out;
  }
  const c = rep.chosen;
  const at = rep.test.atChosen!;
  out.push(
    `${rule}: ${c.threshold.toFixed(2)}`,
    `           (validation: refuses ${pct(c.refusedShare)}, avoids ${c.errorsAvoided} of ${v.errors} errors)`,
    `test set   at ${c.threshold.toFixed(2)}: refuses ${pct(at.refusedShare)} of ${int(rep.test.count)} samples (${at.refused}), avoids ${at.errorsAvoided} of ${rep.test.errors} errors (${pct(at.errorsAvoidedShare, 1)}); accuracy on the rest ${pct(at.keptAccuracy)}`,
  );
  if (rep.out) out.push(`wrote      ${rep.out} (meta.minConfidence ${c.threshold.toFixed(2)})`);
  return out;
}
