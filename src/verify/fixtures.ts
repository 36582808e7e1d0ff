/**
 * `digitkit fixtures`: choose test images deterministically, compute their expected probabilities
 * with the float64 reference, and write docs/contracts/fixtures-format.md.
 */
import { createHash } from 'node:crypto';
import type { DataFormat, Split } from '../data/dataset.js';
import { loadTestSet } from '../data/open.js';
import { DEFAULT_DATA_DIR, DEFAULT_FIXTURES, defaultModel } from '../node/paths.js';
import { invalidInput, OptionError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { describeInput, readModelFile, type ModelFile } from '../node/model-file.js';
import { classifyBatch } from '../infer/batch.js';
import { CONTRACT_TOLERANCE, encodeValues, FIXTURES_FORMAT, formatFixtures, type Fixtures } from './fixtures-file.js';
import { referenceProbs } from './reference.js';

export const DEFAULT_TOLERANCE = CONTRACT_TOLERANCE;
export const DEFAULT_CASES = 100;

/**
 * Which test images become cases (indices, ascending). A fifth of them (at most count - classes)
 * are the images the model is least sure about (smallest top-1 minus top-2 probability; ties by
 * index): there the probabilities are far from 0 and 1, so arithmetic errors show the most. The
 * rest are spread evenly over every class, evenly through each class's images in file order (a class
 * with too few images leaves its share to the next least sure ones).
 */
export function chooseCases(
  labels: ArrayLike<number>,
  margin: ArrayLike<number>,
  count: number,
  classes: number,
): number[] {
  const n = labels.length;
  const hardCount = Math.max(0, Math.min(Math.floor(count / 5), count - classes));
  const byMargin = Array.from({ length: n }, (_, i) => i).sort((a, b) => margin[a] - margin[b] || a - b);
  const chosen = new Set(byMargin.slice(0, hardCount));
  const rest = count - chosen.size;
  for (let c = 0; c < classes; c++) {
    const pool: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === c && !chosen.has(i)) pool.push(i);
    const quota = Math.min(pool.length, Math.floor(rest / classes) + (c < rest % classes ? 1 : 0));
    for (let k = 0; k < quota; k++) chosen.add(pool[Math.floor(((k + 0.5) * pool.length) / quota)]);
  }
  // A class with too few samples left its quota short: the next least sure samples fill it up.
  for (const i of byMargin) {
    if (chosen.size >= count) break;
    chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** A test split as fixtures take it: an MNIST-style split (images, rows x cols pixels) or any Split. */
export type FixtureSamples =
  { images: Uint8Array; labels: Uint8Array; count: number; rows: number; cols: number } | Split;

/** The case count's rule (exit 2): at least one case per class, at most one per test sample. */
export function validateCount(count: number, classes: number, samples: number, noun = 'images'): void {
  if (!Number.isInteger(count) || count < classes)
    throw new OptionError('count', `${count}: need at least ${classes}, one case per class`);
  if (count > samples) throw new OptionError('count', `${count}: the test set has ${samples} ${noun}`);
}

/** Build the fixtures for a model on a test split (nothing is written). */
export function makeFixtures(
  model: ModelFile,
  samples: FixtureSamples,
  count = DEFAULT_CASES,
  modelPath = model.path,
): Fixtures {
  const classes = model.raw.labels.length;
  const test =
    'images' in samples
      ? { inputs: samples.images, labels: samples.labels, count: samples.count, id: (i: number) => `t10k-${i}` }
      : samples;
  const size = model.raw.input.size;
  const vector = model.raw.input.kind === 'vector';
  if (
    ('images' in samples && (vector || samples.rows * samples.cols !== size)) ||
    test.inputs.length !== test.count * size ||
    vector !== test.inputs instanceof Float64Array
  ) {
    const has =
      'images' in samples
        ? `${samples.rows}x${samples.cols} images`
        : `${test.inputs.length / test.count} values a sample`;
    throw invalidInput(`${model.path}: input is ${describeInput(model.raw.input)}, the test samples are ${has}`);
  }
  let maxLabel = 0;
  for (let i = 0; i < test.count; i++) maxLabel = Math.max(maxLabel, test.labels[i]);
  if (maxLabel >= classes)
    throw invalidInput(`${model.path}: has ${classes} labels, the test set has class ${maxLabel}`);
  validateCount(count, classes, test.count, vector ? 'rows' : 'images');
  const { margin } = classifyBatch(model.model, test.inputs);
  const cases = chooseCases(test.labels, margin, count, classes).map((i) => {
    const input = test.inputs.subarray(i * size, (i + 1) * size);
    return {
      id: test.id(i),
      label: test.labels[i],
      ...(vector
        ? { values: encodeValues(input) }
        : { pixels: Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('base64') }),
      probs: referenceProbs(model.raw, input),
    };
  });
  return {
    format: FIXTURES_FORMAT,
    version: 1,
    model: { path: modelPath.split('\\').join('/'), sha256: model.sha256 },
    tolerance: DEFAULT_TOLERANCE,
    reference: 'float64',
    cases,
  };
}

export interface FixturesOptions {
  model?: string;
  out?: string;
  /** Cases (default 100, or every test sample when there are fewer). */
  count?: number;
  /** Where the cases come from: an IDX directory's t10k files, an image folder or a CSV file (data/open.ts). */
  data?: string;
  format?: DataFormat;
  labelColumn?: string;
}

export interface FixturesReport {
  out: { path: string; bytes: number; sha256: string };
  model: { path: string; sha256: string };
  cases: number;
  /** Cases per class, indexed by class. */
  perClass: number[];
  /** Cases whose reference argmax equals the label. */
  correct: number;
  tolerance: number;
}

export async function runFixtures(opts: FixturesOptions = {}): Promise<FixturesReport> {
  const modelPath = defaultModel(opts.model);
  const out = opts.out ?? DEFAULT_FIXTURES;
  await checkOutput(out);
  const model = await readModelFile(modelPath);
  const set = await loadTestSet(opts.data ?? DEFAULT_DATA_DIR, model.raw, modelPath, {
    format: opts.format,
    labelColumn: opts.labelColumn,
  });
  const test = set.dataset.test!;
  const fixtures = makeFixtures(model, test, opts.count ?? Math.min(DEFAULT_CASES, test.count));
  const text = formatFixtures(fixtures);
  await writeFileAtomic(out, text);
  const perClass = model.raw.labels.map(() => 0);
  let correct = 0;
  for (const c of fixtures.cases) {
    perClass[c.label]++;
    if (c.probs.indexOf(Math.max(...c.probs)) === c.label) correct++;
  }
  return {
    out: { path: out, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') },
    model: fixtures.model,
    cases: fixtures.cases.length,
    perClass,
    correct,
    tolerance: fixtures.tolerance,
  };
}
