/**
 * Opening a data source by path, whatever it is: `loadDataset` for training (both splits, the inputs as
 * the flags say), `loadTestSet` for the commands that measure a model (quantize, fixtures, eval): the
 * samples the model is judged on, prepared the way the model takes them.
 */
import path from 'node:path';
import type { ModelInfo } from '../core/index.js';
import { describeInput } from '../node/model-file.js';
import { invalidInput, OptionError } from '../errors.js';
import { loadCsvDataset, readCsvRows } from './csv-dataset.js';
import {
  detectFormat,
  MAX_SIDE,
  pick,
  sizeOf,
  SPLIT_SEED,
  stratifiedSplit,
  type DataFormat,
  type DataInput,
  type Dataset,
} from './dataset.js';
import { loadFolderDataset, readImageFolder } from './folder.js';
import { loadIdxDataset } from './load.js';

export interface DataOptions {
  /** Force the format instead of detecting it from the path. */
  format?: DataFormat;
  /** Class names for integer labels (IDX, CSV), one per line. */
  labels?: string;
  /** Image folders: the size pictures are resized to (default 28x28), channels (default 1), preprocess (default "resize"). */
  size?: [number, number];
  channels?: 1 | 3;
  /** IDX and folders: how a picture becomes the model's pixels. */
  preprocess?: 'digit' | 'resize';
  /** CSV: the label column (default "label"). */
  labelColumn?: string;
  /** Folders and CSV: a test source of the same shape ... */
  test?: string;
  /** ... or this fraction of each class, seeded and stratified (default 0.2 when no test source is given). */
  testSplit?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The test fraction of a folder or CSV when neither --test nor --test-split is given. */
export const DEFAULT_TEST_SPLIT = 0.2;

/** Options that make no sense for a format: a usage error naming the first one given (ignoring it would surprise). */
function refuse(format: DataFormat, o: DataOptions, options: (keyof DataOptions)[], p: string): void {
  const given = options.find((f) => o[f] !== undefined);
  if (given !== undefined)
    throw new OptionError(
      given,
      `is not for ${format} data (${p} is ${format === 'idx' ? 'an IDX directory' : format === 'csv' ? 'a CSV file' : 'an image folder'})`,
    );
}

/** The range rules of the reading options (exit 2), checked before anything is read. */
export function validateDataOptions(o: DataOptions): void {
  if (o.test !== undefined && o.testSplit !== undefined)
    throw new OptionError('testSplit', `${o.testSplit}: give either it or test (${o.test}), not both`);
  if (o.testSplit !== undefined && !(o.testSplit > 0 && o.testSplit <= 0.9))
    throw new OptionError('testSplit', `${o.testSplit}: expected a fraction above 0 and at most 0.9`);
  if (o.size !== undefined && !o.size.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_SIDE))
    throw new OptionError('size', `${o.size.join('x')}: expected a width and height from 1 to ${MAX_SIDE} pixels`);
}

/** A data source for training: its training and test splits (see DataOptions). */
export async function loadDataset(p: string, o: DataOptions = {}): Promise<Dataset> {
  const format = o.format ?? detectFormat(p);
  validateDataOptions(o);
  if (format === 'idx') {
    refuse(format, o, ['size', 'channels', 'labelColumn', 'test', 'testSplit'], p);
    return loadIdxDataset(p, { labels: o.labels, preprocess: o.preprocess });
  }
  const testSplit = o.test === undefined ? (o.testSplit ?? DEFAULT_TEST_SPLIT) : undefined;
  if (format === 'folder') {
    refuse(format, o, ['labels', 'labelColumn'], p);
    const [width, height] = o.size ?? [28, 28];
    const input = {
      kind: 'image',
      width,
      height,
      channels: o.channels ?? 1,
      preprocess: o.preprocess ?? 'resize',
    } as const;
    return loadFolderDataset(p, { input, test: o.test, testSplit, onProgress: o.onProgress });
  }
  refuse(format, o, ['size', 'channels', 'preprocess'], p);
  return loadCsvDataset(p, { labelColumn: o.labelColumn, labels: o.labels, test: o.test, testSplit });
}

/** What a model's meta says about the data it was trained on (written by `train`). */
export interface TrainedOn {
  format?: DataFormat;
  sha256?: Record<string, string>;
  split?: { fraction?: number; seed?: number };
  labelColumn?: string;
}

export function trainedOn(meta: unknown): TrainedOn {
  const d = (meta as { dataset?: unknown } | undefined)?.dataset;
  return d && typeof d === 'object' && !Array.isArray(d) ? (d as TrainedOn) : {};
}

/** How a model takes its input, as a data source describes it. */
function modelInput(m: ModelInfo): DataInput {
  const i = m.input;
  if (i.kind === 'vector') return { kind: 'vector', size: i.size, names: i.names ?? [] };
  return {
    kind: 'image',
    width: i.width,
    height: i.height,
    channels: i.channels === 3 ? 3 : 1,
    preprocess: i.preprocess,
  };
}

export interface TestSet {
  dataset: Dataset;
  /** What was taken and why ("the 20% test split the model was trained with"), for reports. */
  note: string;
}

/**
 * Whether a model takes a dataset's samples as they are (the input's kind and size, its classes):
 * throws exit 3 naming the model file and what differs. A folder's pictures are prepared for the
 * model, so only the kind matters there; IDX images must be the model's size.
 */
export function checkFits(model: ModelInfo, modelFile: string, ds: Dataset): void {
  const want = modelInput(model);
  const has = ds.input;
  const what =
    ds.format === 'idx'
      ? `the ${ds.named?.title ?? 'IDX'} test ${want.kind === 'image' && want.preprocess === 'digit' ? 'digits' : 'images'} are`
      : `${ds.path} holds`;
  const size = (i: DataInput) =>
    i.kind === 'vector' ? `${i.size} features` : `${i.width}x${i.height}${i.channels > 1 ? `x${i.channels}` : ''}`;
  if (want.kind !== has.kind || (ds.format !== 'folder' && size(want) !== size(has)))
    throw invalidInput(`${modelFile}: input is ${describeInput(model.input)}, ${what} ${size(has)}`);
  const over = ds.test ? ds.test.labels.findIndex((l) => l >= model.labels.length) : -1;
  if (over >= 0)
    throw invalidInput(
      `${modelFile}: has ${model.labels.length} classes, the test sample ${ds.test!.id(over)} of ${ds.path} is of class ${ds.test!.labels[over]}`,
    );
}

/**
 * The samples a model is measured on, from any source: an IDX directory's t10k files; a folder or a CSV
 * file whole, or, when it is the very data the model was trained on with a test split (same content,
 * per the model's meta), that split's test part. Folder pictures are prepared as the model takes them;
 * labels are mapped onto the model's classes by name. A source that does not fit the model is exit 3.
 */
export async function loadTestSet(
  p: string,
  model: ModelInfo,
  modelFile: string,
  o: Pick<DataOptions, 'format' | 'labelColumn' | 'onProgress'> = {},
): Promise<TestSet> {
  const set = await pickTestSet(p, model, modelFile, o);
  // Nothing measured is never a success: an accuracy over no samples would be NaN.
  if (!set.dataset.test?.count) throw invalidInput(`${p}: no test samples (${set.note}: 0 samples)`);
  return set;
}

async function pickTestSet(
  p: string,
  model: ModelInfo,
  modelFile: string,
  o: Pick<DataOptions, 'format' | 'labelColumn' | 'onProgress'>,
): Promise<TestSet> {
  const format = o.format ?? detectFormat(p);
  const want = modelInput(model);
  const on = trainedOn(model.meta);
  const mismatch = (has: string) =>
    invalidInput(`${modelFile}: input is ${describeInput(model.input)}, ${p} holds ${has}`);
  if (format === 'idx') {
    const d = await loadIdxDataset(p, {
      splits: ['test'],
      preprocess: want.kind === 'image' ? want.preprocess : undefined,
    });
    checkFits(model, modelFile, d);
    return { dataset: { ...d, labels: model.labels }, note: 'the t10k files' };
  }
  const fraction = on.split?.fraction;
  const sameSplit = (digest: string) => fraction !== undefined && Object.values(on.sha256 ?? {}).includes(digest);
  if (format === 'folder') {
    if (want.kind !== 'image') throw mismatch('an image folder');
    const f = await readImageFolder(p, { input: want, classes: model.labels, onProgress: o.onProgress });
    const base: Dataset = {
      path: p,
      format,
      input: want,
      labels: model.labels,
      test: f.split,
      sha256: { [path.basename(path.resolve(p))]: f.digest },
      split: { from: p },
      skipped: f.skipped,
    };
    if (!sameSplit(f.digest)) return { dataset: base, note: 'every image in the folder' };
    const seed = on.split?.seed ?? SPLIT_SEED;
    const s = stratifiedSplit(f.split.labels, f.split.id, fraction!, seed);
    return {
      dataset: { ...base, test: pick(f.split, s.test, sizeOf(want)), split: { fraction: fraction!, seed } },
      note: `the ${Math.round(fraction! * 100)}% test split the model was trained with`,
    };
  }
  if (want.kind !== 'vector') throw mismatch('feature vectors (a CSV file)');
  const column = o.labelColumn ?? on.labelColumn ?? 'label';
  const rows = await readCsvRows(p, column, want.names.length ? want.names : undefined);
  if (rows.names.length !== want.size)
    throw invalidInput(`${p}: ${rows.names.length} feature columns, ${modelFile} takes ${want.size} features`);
  const d = await loadCsvDataset(p, {
    labelColumn: column,
    features: rows.names,
    classes: model.labels,
    testOnly: true,
    testSplit: sameSplit(rows.sha256) ? fraction : undefined,
  });
  return {
    dataset: { ...d, input: want },
    note:
      'fraction' in d.split
        ? `the ${Math.round(fraction! * 100)}% test split the model was trained with`
        : 'every row of the file',
  };
}
