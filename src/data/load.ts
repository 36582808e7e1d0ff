/**
 * Load MNIST IDX files from a directory into memory as validated typed arrays.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { invalidInput } from '../errors.js';
import { readInputFile } from '../node/input-file.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from './idx.js';
import { MNIST_FILES } from './mnist.js';

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

async function readNamed(dir: string, name: string): Promise<Uint8Array> {
  const missing = `not found: run \`digitkit download --dir ${dir}\` first`;
  return new Uint8Array(await readInputFile(path.join(dir, name), { kind: 'IDX', missing }));
}

async function loadSplit(dir: string, split: 'train' | 't10k', sha: Record<string, string>): Promise<MnistSplit> {
  const imgName = MNIST_FILES.find((f) => f.split === split && f.kind === 'images')!.name;
  const lblName = MNIST_FILES.find((f) => f.split === split && f.kind === 'labels')!.name;
  // Read both at once, but report a problem with the images first whichever read fails first (a
  // missing directory names the same file every time).
  const [imgRead, lblRead] = await Promise.allSettled([readNamed(dir, imgName), readNamed(dir, lblName)]);
  if (imgRead.status === 'rejected') throw imgRead.reason;
  if (lblRead.status === 'rejected') throw lblRead.reason;
  const [imgBytes, lblBytes] = [imgRead.value, lblRead.value];
  sha[imgName] = createHash('sha256').update(imgBytes).digest('hex');
  sha[lblName] = createHash('sha256').update(lblBytes).digest('hex');
  const img = parseIdx(imgBytes, path.join(dir, imgName), IDX_IMAGES_MAGIC);
  const lbl = parseIdx(lblBytes, path.join(dir, lblName), IDX_LABELS_MAGIC);
  if (img.dims[0] !== lbl.dims[0]) {
    throw invalidInput(`${path.join(dir, lblName)}: ${lbl.dims[0]} labels for ${img.dims[0]} images in ${imgName}`);
  }
  for (let i = 0; i < lbl.data.length; i++) {
    if (lbl.data[i] > 9) throw invalidInput(`${path.join(dir, lblName)}: label ${lbl.data[i]} at index ${i}, expected 0..9`);
  }
  return { images: img.data, labels: lbl.data, count: img.dims[0], rows: img.dims[1], cols: img.dims[2] };
}

/** Load the requested splits (default both) from `dir`. Missing files say to run `digitkit download` (exit 3). */
export async function loadMnist(dir: string, splits: ReadonlyArray<'train' | 't10k'> = ['train', 't10k']): Promise<LoadedMnist> {
  const sha256: Record<string, string> = {};
  const out: LoadedMnist = { dir, sha256 };
  if (splits.includes('train')) out.train = await loadSplit(dir, 'train', sha256);
  if (splits.includes('t10k')) out.test = await loadSplit(dir, 't10k', sha256);
  return out;
}
