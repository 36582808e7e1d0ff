// A small IDX directory of real data in another shape: MNIST digits of classes 0-3, 2x2-averaged to
// 14x14, training files raw and test files gzipped (an IDX dataset that is neither MNIST nor 28x28).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadMnist } from '../../src/data/load.js';
import { embeddedMnistDir } from '../../src/data/mnist.js';

const mnist = await loadMnist(embeddedMnistDir());

/** IDX bytes: an unsigned-byte header (magic, dims) and the data. */
export function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** The first `n` MNIST digits of classes 0-3 of a split, 2x2-averaged to 14x14, with their labels. */
export function small(which: 'train' | 'test', n: number): { images: Uint8Array; labels: Uint8Array } {
  const split = mnist[which]!;
  const images: number[] = [];
  const labels: number[] = [];
  for (let i = 0; labels.length < n; i++) {
    if (split.labels[i] > 3) continue;
    labels.push(split.labels[i]);
    const d = (r: number, c: number) => split.images[i * 784 + r * 28 + c];
    for (let y = 0; y < 14; y++)
      for (let x = 0; x < 14; x++)
        images.push(
          Math.round((d(2 * y, 2 * x) + d(2 * y + 1, 2 * x) + d(2 * y, 2 * x + 1) + d(2 * y + 1, 2 * x + 1)) / 4),
        );
  }
  return { images: Uint8Array.from(images), labels: Uint8Array.from(labels) };
}

/** A 14x14, 4-class IDX directory: training files raw, test files gzipped. */
export function writeSmallIdx(dir: string, nTrain = 400, nTest = 100): string {
  fs.mkdirSync(dir, { recursive: true });
  const tr = small('train', nTrain);
  const te = small('test', nTest);
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx(2051, [nTrain, 14, 14], tr.images));
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idx(2049, [nTrain], tr.labels));
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), zlib.gzipSync(idx(2051, [nTest, 14, 14], te.images)));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(idx(2049, [nTest], te.labels)));
  return dir;
}
