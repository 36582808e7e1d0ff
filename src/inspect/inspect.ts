/**
 * `digitkit inspect PATH`: what a dataset holds before training on it, read exactly as `train` would
 * read it (same loader, same flags): its format, the input shape, how many samples each split and
 * class has, the files skipped, for feature vectors each feature's range, and for images a contact
 * sheet (a PNG of the first samples of every class, as the model will see them).
 */
import path from 'node:path';
import { describeDataInput, sizeOf, type Dataset, type Split } from '../data/dataset.js';
import { loadDataset, type DataOptions } from '../data/open.js';
import { OptionError } from '../errors.js';
import { checkOutput, writeFileAtomic, WriteError } from '../node/atomic.js';
import { renderSheet } from './sheet.js';

export const INSPECT_FORMAT = 'digitkit-inspect';

export interface ClassCount {
  label: string;
  train: number;
  test: number;
}

export interface FeatureRange {
  name: string;
  min: number;
  mean: number;
  max: number;
}

export interface InspectReport {
  format: typeof INSPECT_FORMAT;
  path: string;
  source: Dataset['format'];
  /** The named dataset its bytes match ("fashion-mnist"), if any. */
  named?: string;
  input: Dataset['input'];
  /** In words: "28x28 gray images", "13 features". */
  shape: string;
  classes: ClassCount[];
  train: number;
  test: number;
  /** Where the test split comes from: files of its own, or a seeded stratified fraction. */
  split: Dataset['split'];
  sha256: Record<string, string>;
  skipped: Dataset['skipped'];
  /** Vectors: every feature's range over the training split. */
  features?: FeatureRange[];
  /** The contact sheet written (--sheet). */
  sheet?: { path: string; perClass: number };
}

export interface InspectOptions extends Omit<DataOptions, 'onProgress'> {
  /** Write a contact sheet PNG here (images only). */
  sheet?: string;
  /** Samples per class on the sheet (default 10). */
  perClass?: number;
  onProgress?: (done: number, total: number) => void;
}

function counts(s: Split | undefined, classes: number): number[] {
  const n = new Array<number>(classes).fill(0);
  if (s) for (let i = 0; i < s.count; i++) n[s.labels[i]]++;
  return n;
}

function ranges(ds: Dataset): FeatureRange[] {
  const input = ds.input;
  if (input.kind !== 'vector' || !ds.train) return [];
  const { count, inputs } = ds.train;
  return input.names.map((name, j) => {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let r = 0; r < count; r++) {
      const v = inputs[r * input.size + j];
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    return { name, min, mean: sum / count, max };
  });
}

export async function runInspect(p: string, o: InspectOptions = {}): Promise<InspectReport> {
  if (o.perClass !== undefined && !(Number.isInteger(o.perClass) && o.perClass >= 1 && o.perClass <= 100))
    throw new OptionError('perClass', `${o.perClass}: expected an integer from 1 to 100`);
  if (o.sheet !== undefined)
    await checkOutput(o.sheet).catch((err: unknown) => {
      throw err instanceof WriteError ? new OptionError('sheet', `${o.sheet}: cannot write: ${err.why}`) : err;
    });
  const ds = await loadDataset(p, o);
  if (o.sheet !== undefined && ds.input.kind !== 'image')
    throw new OptionError('sheet', `${o.sheet}: ${p} holds feature vectors, not pictures`);
  const train = counts(ds.train, ds.labels.length);
  const test = counts(ds.test, ds.labels.length);
  const report: InspectReport = {
    format: INSPECT_FORMAT,
    path: p,
    source: ds.format,
    ...(ds.named && { named: ds.named.name }),
    input: ds.input,
    shape: describeDataInput(ds.input),
    classes: ds.labels.map((label, c) => ({ label, train: train[c], test: test[c] })),
    train: ds.train?.count ?? 0,
    test: ds.test?.count ?? 0,
    split: ds.split,
    sha256: ds.sha256,
    skipped: ds.skipped,
    ...(ds.input.kind === 'vector' && { features: ranges(ds) }),
  };
  if (o.sheet !== undefined && ds.input.kind === 'image') {
    const perClass = o.perClass ?? 10;
    const split = ds.train ?? ds.test!;
    const size = sizeOf(ds.input);
    const picks: number[][] = ds.labels.map(() => []);
    for (let i = 0; i < split.count; i++) if (picks[split.labels[i]].length < perClass) picks[split.labels[i]].push(i);
    const png = await renderSheet(
      `${path.basename(path.resolve(p))}: ${perClass} ${ds.train ? 'training' : 'test'} samples per class, as the model sees them (${report.shape})`,
      ds.labels.map((label, c) => ({
        label,
        pictures: picks[c].map((i) => split.inputs.subarray(i * size, (i + 1) * size) as Uint8Array),
      })),
      { ...ds.input, invert: ds.input.preprocess === 'digit' },
      perClass,
    );
    await writeFileAtomic(o.sheet, png).catch((err: unknown) => {
      if (!(err instanceof WriteError)) throw err;
      throw new OptionError('sheet', `${o.sheet}: cannot write: ${err.why}`);
    });
    report.sheet = { path: o.sheet, perClass };
  }
  return report;
}
