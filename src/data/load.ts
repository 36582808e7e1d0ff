/**
 * Load IDX directories into memory as validated typed arrays: the MNIST layout (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte and the t10k pair), each file raw or gzipped (`<name>.gz`, inflated while it is
 * read and refused once it inflates past the size its IDX header implies), images of any size, labels
 * 0..K-1.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { invalidInput } from '../errors.js';
import { readInputFile } from '../node/input-file.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from './idx.js';
import { MNIST_FILES } from './mnist.js';
import { recogniseDataset } from './datasets.js';
import { checkNameCount, MAX_CLASSES, readLabelsFile, type Dataset, type Split } from './dataset.js';

export interface MnistSplit {
  /** count*rows*cols bytes, row-major, ink = 255 on 0. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface LoadedMnist {
  dir: string;
  train?: MnistSplit;
  test?: MnistSplit;
  /** SHA-256 of each file read, keyed by file name. */
  sha256: Record<string, string>;
}

/** The largest IDX payload read (2 GiB): a header that implies more is refused before anything is inflated. */
export const MAX_IDX_BYTES = 2 ** 31 - 1;

/**
 * How many bytes an IDX file whose first bytes are `head` holds in all, or null while `head` is too
 * short to say (the magic and the dimensions come first).
 */
export function idxLength(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  const headerBytes = 4 + 4 * head[3];
  if (head.length < headerBytes) return null;
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let n = 1;
  for (let d = 0; d < head[3]; d++) n *= v.getUint32(4 + 4 * d, false);
  return headerBytes + n;
}

/** Inflate a gzipped IDX file, stopping as soon as it inflates past what its header implies. */
async function gunzipIdx(file: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  let limit = MAX_IDX_BYTES;
  const stream = fs.createReadStream(file).pipe(zlib.createGunzip());
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (limit === MAX_IDX_BYTES) {
        const implied = idxLength(chunks.length === 1 ? chunk : Buffer.concat(chunks));
        if (implied !== null) {
          if (implied > MAX_IDX_BYTES)
            throw invalidInput(`${file}: the IDX header implies ${implied} bytes, more than the ${MAX_IDX_BYTES} read`);
          limit = implied;
        }
      }
      if (total > limit)
        throw invalidInput(`${file}: inflates past the ${limit} bytes its IDX header implies; refused`);
    }
  } catch (err) {
    stream.destroy();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw invalidInput(`${file}: no such file`);
    if (typeof e.code === 'string' && e.code.startsWith('Z_'))
      throw invalidInput(`${file}: not a valid gzip file (${e.message})`);
    throw err;
  }
  const all = Buffer.concat(chunks, total);
  return new Uint8Array(all.buffer, all.byteOffset, total);
}

/**
 * The bytes of IDX file `name` in `dir`: the raw file, else `name.gz` inflated. Neither there is exit 3
 * saying to run `digitkit download`. Returns the path read too.
 */
export async function readIdx(dir: string, name: string): Promise<{ file: string; bytes: Uint8Array }> {
  const raw = path.join(dir, name);
  if (fs.existsSync(raw) || !fs.existsSync(raw + '.gz')) {
    const missing = `not found: run \`digitkit download --dir ${dir}\` first (or point --data at a directory of IDX files, raw or .gz)`;
    return { file: raw, bytes: new Uint8Array(await readInputFile(raw, { kind: 'IDX', missing })) };
  }
  return { file: raw + '.gz', bytes: await gunzipIdx(raw + '.gz') };
}

interface IdxPair {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  labelFile: string;
}

async function loadPair(dir: string, split: 'train' | 't10k', sha: Record<string, string>): Promise<IdxPair> {
  const imgName = MNIST_FILES.find((f) => f.split === split && f.kind === 'images')!.name;
  const lblName = MNIST_FILES.find((f) => f.split === split && f.kind === 'labels')!.name;
  // Read both at once, but report a problem with the images first whichever read fails first (a
  // missing directory names the same file every time).
  const [imgRead, lblRead] = await Promise.allSettled([readIdx(dir, imgName), readIdx(dir, lblName)]);
  if (imgRead.status === 'rejected') throw imgRead.reason;
  if (lblRead.status === 'rejected') throw lblRead.reason;
  const [img, lbl] = [imgRead.value, lblRead.value];
  sha[imgName] = createHash('sha256').update(img.bytes).digest('hex');
  sha[lblName] = createHash('sha256').update(lbl.bytes).digest('hex');
  const images = parseIdx(img.bytes, img.file, IDX_IMAGES_MAGIC);
  const labels = parseIdx(lbl.bytes, lbl.file, IDX_LABELS_MAGIC);
  if (images.dims[0] !== labels.dims[0])
    throw invalidInput(
      `${lbl.file}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${path.basename(img.file)}`,
    );
  return {
    images: images.data,
    labels: labels.data,
    count: images.dims[0],
    rows: images.dims[1],
    cols: images.dims[2],
    labelFile: lbl.file,
  };
}

/** A label at or above `classes`: exit 3 naming the label file, the index and the class count. */
function checkLabels(p: IdxPair, classes: number, why: string): void {
  const at = p.labels.findIndex((l) => l >= classes);
  if (at >= 0) throw invalidInput(`${p.labelFile}: label ${p.labels[at]} at index ${at} is above ${why}`);
}

/** Load the requested splits (default both) from `dir`. Missing files say to run `digitkit download` (exit 3). */
export async function loadMnist(
  dir: string,
  splits: ReadonlyArray<'train' | 't10k'> = ['train', 't10k'],
): Promise<LoadedMnist> {
  const sha256: Record<string, string> = {};
  const out: LoadedMnist = { dir, sha256 };
  for (const split of splits) {
    const p = await loadPair(dir, split, sha256);
    checkLabels(p, 10, 'the 10 classes of MNIST (0..9)');
    const { images, labels, count, rows, cols } = p;
    out[split === 'train' ? 'train' : 'test'] = { images, labels, count, rows, cols };
  }
  return out;
}

export interface IdxOptions {
  splits?: ReadonlyArray<'train' | 'test'>;
  /** A file of class names, one per line, for labels 0..K-1. */
  labels?: string;
  /** How pictures become this model's pixels (default: the named dataset's, else "digit"). */
  preprocess?: 'digit' | 'resize';
}

/**
 * An IDX directory as a dataset: images of any size (one channel), labels 0..K-1. Class names come from
 * `labels`, else from the named dataset the files hash to (MNIST's digits, Fashion-MNIST's clothes),
 * else "0".."K-1" with K one more than the largest label.
 */
export async function loadIdxDataset(dir: string, o: IdxOptions = {}): Promise<Dataset> {
  const splits = o.splits ?? ['train', 'test'];
  const sha256: Record<string, string> = {};
  const pairs: Partial<Record<'train' | 'test', IdxPair>> = {};
  for (const s of splits) pairs[s] = await loadPair(dir, s === 'train' ? 'train' : 't10k', sha256);
  const all = Object.values(pairs) as IdxPair[];
  const [first] = all;
  for (const p of all)
    if (p.rows !== first.rows || p.cols !== first.cols)
      throw invalidInput(
        `${dir}: the training images are ${first.cols}x${first.rows}, the test images ${p.cols}x${p.rows}`,
      );
  const named = recogniseDataset(sha256);
  const max = Math.max(...all.map((p) => p.labels.reduce((m, l) => Math.max(m, l), 0)));
  let labels: string[];
  if (o.labels) {
    labels = readLabelsFile(o.labels);
    for (const p of all) checkLabels(p, labels.length, `the ${labels.length} class names in ${o.labels}`);
    // Training reads every class: a name no label uses is a labels file for other data.
    if (pairs.train) checkNameCount(labels, max, o.labels, dir);
  } else labels = named?.classes ?? Array.from({ length: max + 1 }, (_, i) => String(i));
  if (labels.length > MAX_CLASSES) throw invalidInput(`${dir}: ${labels.length} classes, at most ${MAX_CLASSES}`);
  for (const p of all)
    checkLabels(p, labels.length, `the ${labels.length} class names (labels 0..${labels.length - 1})`);
  const asSplit = (p: IdxPair, prefix: string): Split => ({
    count: p.count,
    inputs: p.images,
    labels: p.labels,
    id: (i) => `${prefix}-${i}`,
  });
  return {
    path: dir,
    format: 'idx',
    named,
    input: {
      kind: 'image',
      width: first.cols,
      height: first.rows,
      channels: 1,
      preprocess: o.preprocess ?? named?.preprocess ?? 'digit',
    },
    labels,
    ...(pairs.train && { train: asSplit(pairs.train, 'train') }),
    ...(pairs.test && { test: asSplit(pairs.test, 't10k') }),
    sha256,
    split: { from: 't10k' },
    skipped: [],
  };
}
