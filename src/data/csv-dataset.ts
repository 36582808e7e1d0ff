/**
 * A CSV/TSV file as a dataset of feature vectors: the header names the features, one column holds the
 * class (`label`, or another named by `labelColumn`). Labels are class names (sorted for a stable
 * index) or integers (class indices; named by a labels file if one is given). The raw values are kept:
 * standardisation is the trainer's (statistics from the training rows only, stored in the model).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { invalidInput } from '../errors.js';
import { readInputFile } from '../node/input-file.js';
import { classNamesOf, csvFeatures, list, parseCsv } from './csv.js';
import {
  checkNameCount,
  MAX_CLASSES,
  pick,
  readLabelsFile,
  SPLIT_SEED,
  stratifiedSplit,
  type Dataset,
  type Split,
} from './dataset.js';

/** CSV files larger than this are refused before being read. */
export const MAX_CSV_BYTES = 512 * 1024 * 1024;

export interface CsvOptions {
  /** The label column's name (default "label"); null for rows without labels. */
  labelColumn?: string | null;
  /** A file of class names for integer labels 0..K-1. */
  labels?: string;
  /** The feature columns to read, in this order (a model's names); default every column but the label. */
  features?: readonly string[];
  /** Map labels onto these classes (a model's labels) instead of deriving them. */
  classes?: readonly string[];
  /** A test file with the same columns. */
  test?: string;
  /** Otherwise this fraction of each class is the test split (seeded, stratified). */
  testSplit?: number;
  /** Read only the test split (the whole file, or its `testSplit` part). */
  testOnly?: boolean;
}

export interface CsvRows {
  file: string;
  names: string[];
  values: Float64Array;
  count: number;
  labelCells: string[] | null;
  lines: number[];
  /** A key per row from its content (the split's hash does not move when rows are added or reordered). */
  keys: string[];
  sha256: string;
}

/** Read and validate a CSV file's features (and label cells): exit 3 naming the file, line and column. */
export async function readCsvRows(
  file: string,
  labelColumn: string | null,
  features?: readonly string[],
): Promise<CsvRows> {
  const bytes = await readInputFile(file, { kind: 'CSV', limit: MAX_CSV_BYTES, missing: 'no such CSV file' });
  const text = bytes.toString('utf8');
  const table = parseCsv(text, file);
  const f = csvFeatures(table, file, labelColumn, features);
  return {
    file,
    names: f.names,
    values: f.values,
    count: table.rows.length,
    labelCells: f.labels,
    lines: f.lines,
    keys: table.rows.map((r) => r.join('\u0001')),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Class indices for label cells, onto `classes` (by name, else an integer cell as an index). */
function mapLabels(rows: CsvRows, classes: readonly string[], column: string, why: string): Uint8Array {
  return Uint8Array.from(rows.labelCells!, (cell, i) => {
    let k = classes.indexOf(cell);
    if (k < 0 && /^\d+$/.test(cell)) k = classes.indexOf(String(Number(cell)));
    if (k < 0 && /^\d+$/.test(cell) && Number(cell) < classes.length && !classes.some((c) => /^\d+$/.test(c)))
      k = Number(cell);
    if (k < 0)
      throw invalidInput(
        `${rows.file}:${rows.lines[i]}: label "${cell}" (column "${column}") is not one of ${why} (${list(classes.map(String))})`,
      );
    return k;
  });
}

function asSplit(rows: CsvRows, labels: Uint8Array): Split {
  return { count: rows.count, inputs: rows.values, labels, id: (i) => `line-${rows.lines[i]}` };
}

/** A CSV file (and optionally a test file) as a dataset; see CsvOptions. */
export async function loadCsvDataset(file: string, o: CsvOptions = {}): Promise<Dataset> {
  const column = o.labelColumn === undefined ? 'label' : o.labelColumn;
  if (column === null) throw new Error('loadCsvDataset: a dataset needs a label column');
  const main = await readCsvRows(file, column, o.features);
  const test = o.test !== undefined && !o.testOnly ? await readCsvRows(o.test, column, main.names) : undefined;
  const cells = [...main.labelCells!, ...(test?.labelCells ?? [])];
  let labels: string[];
  if (o.classes) labels = [...o.classes];
  else if (o.labels) {
    labels = readLabelsFile(o.labels);
    const bad = cells.findIndex((c) => !/^\d+$/.test(c));
    if (bad >= 0) {
      const r = bad < main.count ? main : test!;
      const i = bad < main.count ? bad : bad - main.count;
      throw invalidInput(
        `${r.file}:${r.lines[i]}: label "${cells[bad]}" is not an integer; --labels names integer labels 0..K-1`,
      );
    }
    const max = Math.max(...cells.map(Number));
    for (const r of test ? [main, test] : [main]) {
      const at = r.labelCells!.findIndex((c) => Number(c) >= labels.length);
      if (at >= 0)
        throw invalidInput(
          `${r.file}:${r.lines[at]}: label ${r.labelCells![at]} is above the ${labels.length} class names in ${o.labels}`,
        );
    }
    if (!o.testOnly) checkNameCount(labels, max, o.labels, file);
  } else labels = classNamesOf(cells);
  if (labels.length > MAX_CLASSES) throw invalidInput(`${file}: ${labels.length} classes, at most ${MAX_CLASSES}`);
  if (!o.classes && !o.testOnly && labels.length < 2)
    throw invalidInput(`${file}: every row has the label "${labels[0]}"; a classifier needs at least two classes`);
  const why = o.classes ? "the model's classes" : 'the classes';
  const mainLabels = mapLabels(main, labels, column, why);
  const sha256: Record<string, string> = { [path.basename(file)]: main.sha256 };
  let train: Split | undefined;
  let testSplit: Split;
  let split: Dataset['split'];
  if (test) {
    train = asSplit(main, mainLabels);
    testSplit = asSplit(test, mapLabels(test, labels, column, why));
    sha256[`test:${path.basename(test.file)}`] = test.sha256;
    split = { from: test.file };
  } else if (o.testSplit !== undefined) {
    const whole = asSplit(main, mainLabels);
    const s = stratifiedSplit(mainLabels, (i) => main.keys[i], o.testSplit, SPLIT_SEED);
    train = o.testOnly ? undefined : pick(whole, s.train, main.names.length);
    testSplit = pick(whole, s.test, main.names.length);
    split = { fraction: o.testSplit, seed: SPLIT_SEED };
  } else {
    if (!o.testOnly) throw new Error('loadCsvDataset: a test file or a test split is needed to train');
    testSplit = asSplit(main, mainLabels);
    split = { from: file };
  }
  return {
    path: file,
    format: 'csv',
    input: { kind: 'vector', size: main.names.length, names: main.names },
    labels,
    ...(train && { train }),
    test: testSplit,
    sha256,
    split,
    skipped: [],
  };
}
