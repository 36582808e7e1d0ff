/**
 * What every data source becomes: a dataset is training and test splits of typed inputs with class
 * indices, the class names, and what the inputs are (images of a size and kind, or feature vectors).
 * IDX directories (idx-dataset.ts), image folders (folder.ts) and CSV/TSV files (csv-dataset.ts) load
 * into this shape; `loadDataset` picks the loader from what the path is, or from `format`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { invalidInput, OptionError } from '../errors.js';
import type { NamedDataset } from './datasets.js';

export const DATA_FORMATS = ['idx', 'folder', 'csv'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** What a sample is: an image (pixels 0..255, channels interleaved) or a vector of named features. */
export type DataInput =
  | { kind: 'image'; width: number; height: number; channels: 1 | 3; preprocess: 'digit' | 'resize' }
  | { kind: 'vector'; size: number; names: string[] };

export const sizeOf = (input: DataInput): number =>
  input.kind === 'image' ? input.width * input.height * input.channels : input.size;

/** "28x28 gray digits", "32x32 RGB images", "13 features". */
export function describeDataInput(input: DataInput): string {
  if (input.kind === 'vector') return `${input.size} features`;
  const what = input.preprocess === 'digit' ? 'digits' : 'images';
  return `${input.width}x${input.height} ${input.channels === 3 ? 'RGB' : 'gray'} ${what}`;
}

export interface Split {
  count: number;
  /** Images: count x size uint8 pixels; vectors: count x size raw feature values (before any scaling). */
  inputs: Uint8Array | Float64Array;
  /** Class indices into the dataset's labels. */
  labels: Uint8Array;
  /** Names sample i in fixtures and reports ("t10k-17", "cat/003.png", "line 18"). */
  id(i: number): string;
}

export type SplitRule = { from: string } | { fraction: number; seed: number };

export interface Dataset {
  path: string;
  format: DataFormat;
  /** A dataset digitkit knows, recognised by its bytes. */
  named?: NamedDataset;
  input: DataInput;
  labels: string[];
  train?: Split;
  test?: Split;
  /** SHA-256 of each IDX file read, or of a whole folder or CSV file (one digest). */
  sha256: Record<string, string>;
  /** Where the test split came from: files of its own, or a seeded stratified fraction of the data. */
  split: SplitRule;
  /** Files of a folder that were not images (or could not be decoded), and why. */
  skipped: { file: string; reason: string }[];
}

/** Most classes a dataset may have (labels are stored as bytes, as IDX stores them). */
export const MAX_CLASSES = 256;

/** The fixed seed of test splits, so `eval` and `fixtures` can cut the same split `train` did. */
export const SPLIT_SEED = 1;

/**
 * A seeded, stratified split of samples into training and test: in each class, the samples are ranked
 * by a hash of (seed, id) and the first round(fraction x count) go to test (at least one and at most
 * count - 1 when the class has two or more). A sample's side depends only on its own id, the seed and
 * its class's size. The training samples come back in hash order too (classes mixed), so taking the
 * last ones for validation takes a sample of every class.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  ids: (i: number) => string,
  fraction: number,
  seed = SPLIT_SEED,
): { train: number[]; test: number[] } {
  const key = (i: number) =>
    createHash('sha256')
      .update(`${seed}:${ids(i)}`)
      .digest()
      .readUInt32BE(0) *
      2 ** 20 +
    (i % 2 ** 20);
  const keys = Array.from({ length: labels.length }, (_, i) => key(i));
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const members of byClass.values()) {
    members.sort((a, b) => keys[a] - keys[b]);
    const n = members.length;
    const k = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
    test.push(...members.slice(0, k));
    train.push(...members.slice(k));
  }
  train.sort((a, b) => keys[a] - keys[b]);
  test.sort((a, b) => a - b);
  return { train, test };
}

/** The samples `picks` of a split, as a new split (ids follow). */
export function pick(s: Split, picks: readonly number[], size: number): Split {
  const Inputs = s.inputs instanceof Uint8Array ? Uint8Array : Float64Array;
  const inputs = new Inputs(picks.length * size);
  const labels = new Uint8Array(picks.length);
  picks.forEach((p, k) => {
    inputs.set(s.inputs.subarray(p * size, (p + 1) * size), k * size);
    labels[k] = s.labels[p];
  });
  return { count: picks.length, inputs, labels, id: (i) => s.id(picks[i]) };
}

/**
 * Read a labels file: one class name per line (surrounding spaces dropped, blank lines at the end
 * ignored). Empty names in between and repeated names are errors (exit 3).
 */
export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalidInput(`${file}: ${code === 'ENOENT' ? 'no such labels file' : `cannot read (${code})`}`);
  }
  const names = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim());
  while (names.length && names[names.length - 1] === '') names.pop();
  if (names.length === 0) throw invalidInput(`${file}: no class names (one name per line)`);
  const blank = names.indexOf('');
  if (blank >= 0) throw invalidInput(`${file}:${blank + 1}: an empty class name`);
  const dup = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (dup >= 0) throw invalidInput(`${file}:${dup + 1}: class name "${names[dup]}" appears twice`);
  if (names.length > MAX_CLASSES) throw invalidInput(`${file}: ${names.length} class names, at most ${MAX_CLASSES}`);
  return names;
}

/**
 * A labels file for integer labels 0..max must name every class and no more: more names than classes
 * means it belongs to other data (exit 3 naming the file; a label above its count is the data's error).
 */
export function checkNameCount(names: readonly string[], max: number, labelsFile: string, data: string): void {
  if (names.length > max + 1)
    throw invalidInput(
      `${labelsFile}: ${names.length} class names, ${data} has ${max + 1} classes (labels 0..${max}): is it the labels file of other data?`,
    );
}

/**
 * Which kind of source a path is, from what is there: a file is CSV, a directory holding IDX files is
 * IDX, any other directory an image folder. A path that does not exist is taken for what its name
 * says (.csv/.tsv: CSV; anything else an IDX directory), so the error says what to do: run `digitkit
 * download` for MNIST's directory.
 */
export function detectFormat(p: string): DataFormat {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return /\.(csv|tsv|tab|txt)$/i.test(p) ? 'csv' : 'idx';
    throw invalidInput(`${p}: cannot read (${code})`);
  }
  if (st.isFile()) return 'csv';
  if (!st.isDirectory()) throw invalidInput(`${p}: not a file or a directory`);
  const names = fs.readdirSync(p);
  if (names.some((n) => /^(train|t10k)-(images-idx3|labels-idx1)-ubyte(\.gz)?$/.test(n))) return 'idx';
  return 'folder';
}

/** The largest picture side a folder is resized to. */
export const MAX_SIDE = 4096;

/** Parse a size written WxH (the syntax; loadDataset checks the range). */
export function parseSize(value: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m) throw new OptionError('size', `${value}: expected WxH (e.g. 28x28)`);
  return [Number(m[1]), Number(m[2])];
}

/** A path relative to `root`, with forward slashes (ids and messages read the same everywhere). */
export const relative = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');
