/**
 * An image folder as a dataset: one subfolder per class, named after it (Keras's
 * image_dataset_from_directory convention; classes are the sorted subfolder names), any image format
 * sharp reads. Every picture becomes the model's pixels through the core's `prepareImage`, exactly
 * as `predict` and the browser page turn a picture into pixels, so training and deployment see the
 * same inputs. Files that are not images, or cannot be decoded, are listed and skipped; a class with
 * no images, or a folder with fewer than two classes, is an error (exit 3).
 */
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { prepareImage, type ModelInfo } from '../core/index.js';
import { DigitkitError, invalidInput } from '../errors.js';
import { decodeImageRgba } from '../node/image.js';
import {
  MAX_CLASSES,
  pick,
  relative,
  sizeOf,
  SPLIT_SEED,
  stratifiedSplit,
  type DataInput,
  type Dataset,
  type Split,
} from './dataset.js';

type ImageInput = Extract<DataInput, { kind: 'image' }>;

/** Image files larger than this are skipped unread (no picture a small model is trained on is this big). */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface FolderOptions {
  /** The pictures' target: size, channels, preprocess. */
  input: ImageInput;
  /** Take the classes in this order (a model's labels); a subfolder that is not one of them is an error. */
  classes?: readonly string[];
  /** Whose classes they are, for that error (default "the model's classes"). */
  classesOf?: string;
  /** Files decoded at once. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ImageFolder {
  dir: string;
  /** Class names: the sorted subfolder names, or `classes` when given. */
  labels: string[];
  split: Split;
  /** Files read, relative to `dir`, by sample. */
  files: string[];
  skipped: { file: string; reason: string }[];
  /** SHA-256 over every image file's path and bytes: identifies the folder's content. */
  digest: string;
}

const visible = (name: string) => !name.startsWith('.');

/** Every file under `dir` (recursively, hidden ones left out), sorted by path. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => visible(e.name));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    const st = await fsp.stat(p).catch(() => null);
    if (st?.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Read an image folder (see the file comment). */
export async function readImageFolder(dir: string, o: FolderOptions): Promise<ImageFolder> {
  let entries;
  try {
    entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => visible(e.name));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalidInput(`${dir}: ${code === 'ENOENT' ? 'no such directory' : `cannot read (${code})`}`);
  }
  const skipped: { file: string; reason: string }[] = [];
  const subdirs: string[] = [];
  for (const e of entries) {
    const st = await fsp.stat(path.join(dir, e.name)).catch(() => null);
    if (st?.isDirectory()) subdirs.push(e.name);
    else skipped.push({ file: e.name, reason: 'not in a class folder' });
  }
  subdirs.sort();
  let labels: string[];
  if (o.classes) {
    const unknown = subdirs.filter((d) => !o.classes!.includes(d));
    if (unknown.length)
      throw invalidInput(
        `${dir}: class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not among ${o.classesOf ?? "the model's classes"} (${o.classes.join(', ')})`,
      );
    labels = [...o.classes];
  } else {
    if (subdirs.length === 0)
      throw invalidInput(`${dir}: no class folders (put the images of each class in a subfolder named after it)`);
    if (subdirs.length === 1)
      throw invalidInput(`${dir}: only one class folder ("${subdirs[0]}"); a classifier needs at least two classes`);
    if (subdirs.length > MAX_CLASSES)
      throw invalidInput(`${dir}: ${subdirs.length} class folders, at most ${MAX_CLASSES}`);
    labels = subdirs;
  }

  const work: { file: string; label: number }[] = [];
  const fileCount = new Map<string, number>();
  for (const d of subdirs) {
    const files = await listFiles(path.join(dir, d));
    fileCount.set(d, files.length);
    for (const f of files) work.push({ file: f, label: labels.indexOf(d) });
  }
  const size = sizeOf(o.input);
  const info = { input: { ...o.input, scale: 1 / 255, size } } as unknown as ModelInfo;
  const pixels: (Uint8ClampedArray | null)[] = new Array(work.length).fill(null);
  const hashes: string[] = new Array(work.length).fill('');
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let i = next++; i < work.length; i = next++) {
      const { file } = work[i];
      const rel = relative(dir, file);
      try {
        const st = await fsp.stat(file);
        if (st.size > MAX_FILE_BYTES) throw new Error(`${st.size} bytes, larger than the ${MAX_FILE_BYTES}-byte limit`);
        const bytes = await fsp.readFile(file);
        const img = await decodeImageRgba(bytes, rel);
        const p = prepareImage(info, img.rgba, img.width, img.height);
        if (!p.found) throw new Error('no ink stands out from the background (a blank picture)');
        pixels[i] = p.pixels;
        hashes[i] = createHash('sha256').update(bytes).digest('hex');
      } catch (err) {
        const m = (err as Error).message;
        const code = (err as NodeJS.ErrnoException).code;
        const reason =
          err instanceof DigitkitError && m.startsWith(`${rel}: `)
            ? m.slice(rel.length + 2)
            : code
              ? `cannot read (${code})`
              : m;
        skipped.push({ file: rel, reason });
      }
      o.onProgress?.(++done, work.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 8) }, lane));

  const kept = work.map((_, i) => i).filter((i) => pixels[i]);
  const counts = labels.map(() => 0);
  for (const i of kept) counts[work[i].label]++;
  for (const d of subdirs) {
    if (counts[labels.indexOf(d)] === 0)
      throw invalidInput(
        `${path.join(dir, d)}: no images in class "${d}" (${fileCount.get(d) ? `${fileCount.get(d)} files, none of them a readable image` : 'the folder is empty'})`,
      );
  }
  const inputs = new Uint8Array(kept.length * size);
  const classOf = new Uint8Array(kept.length);
  const files: string[] = [];
  const digest = createHash('sha256');
  kept.forEach((i, k) => {
    inputs.set(pixels[i]!, k * size);
    classOf[k] = work[i].label;
    files.push(relative(dir, work[i].file));
    digest.update(`${files[k]}\0${hashes[i]}\n`);
  });
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return {
    dir,
    labels,
    split: { count: kept.length, inputs, labels: classOf, id: (i) => files[i] },
    files,
    skipped,
    digest: digest.digest('hex'),
  };
}

export interface FolderDatasetOptions {
  input: ImageInput;
  /** A test folder of the same classes. */
  test?: string;
  /** Otherwise this fraction of each class is the test split (seeded, stratified). */
  testSplit?: number;
  /** Read only the test split (the whole folder, or its `testSplit` part). */
  testOnly?: boolean;
  classes?: readonly string[];
  onProgress?: (done: number, total: number) => void;
}

/**
 * An image folder as a dataset: its training and test splits (a `test` folder, or a seeded stratified
 * `testSplit` fraction). With `testOnly`, the folder is test data: all of it, or its `testSplit` part.
 */
export async function loadFolderDataset(dir: string, o: FolderDatasetOptions): Promise<Dataset> {
  const main = await readImageFolder(dir, { input: o.input, classes: o.classes, onProgress: o.onProgress });
  const size = sizeOf(o.input);
  let train: Split | undefined;
  let test: Split;
  const sha256: Record<string, string> = { [path.basename(path.resolve(dir))]: main.digest };
  const skipped = [...main.skipped];
  let split: Dataset['split'];
  if (o.test !== undefined && !o.testOnly) {
    const t = await readImageFolder(o.test, {
      input: o.input,
      classes: main.labels,
      classesOf: `the classes of ${dir}`,
    });
    train = main.split;
    test = t.split;
    sha256[`test:${path.basename(path.resolve(o.test))}`] = t.digest;
    skipped.push(...t.skipped.map((s) => ({ file: path.join(o.test!, s.file), reason: s.reason })));
    split = { from: o.test };
  } else if (o.testSplit !== undefined) {
    const s = stratifiedSplit(main.split.labels, main.split.id, o.testSplit, SPLIT_SEED);
    train = o.testOnly ? undefined : pick(main.split, s.train, size);
    test = pick(main.split, s.test, size);
    split = { fraction: o.testSplit, seed: SPLIT_SEED };
  } else {
    if (!o.testOnly) throw new Error('loadFolderDataset: a test folder or a test split is needed to train');
    test = main.split;
    split = { from: dir };
  }
  return {
    path: dir,
    format: 'folder',
    input: o.input,
    labels: main.labels,
    ...(train && { train }),
    test,
    sha256,
    split,
    skipped,
  };
}
