// Data sources on real data: IDX directories of another size (MNIST digits at 14x14, raw and gzipped),
// Fashion-MNIST recognised by its bytes, scikit-learn's CSVs (wine), and image folders of real pictures
// (Fashion-MNIST test images as PNG, JPEG and WebP of mixed sizes). Each bad input the issue names is
// one clear error naming the file (and line and column for CSV).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareImage, type ModelInfo } from '../src/core/index.js';
import { classNamesOf, parseCsv, standardise } from '../src/data/csv.js';
import { loadCsvDataset } from '../src/data/csv-dataset.js';
import { detectFormat, stratifiedSplit } from '../src/data/dataset.js';
import { loadFolderDataset, readImageFolder } from '../src/data/folder.js';
import { loadIdxDataset } from '../src/data/load.js';
import { loadDataset } from '../src/data/open.js';
import { decodeImageRgba } from '../src/node/image.js';
import { FASHION_DEBIAN, fashionAvailable, folderName, writeFashionFolder } from './helpers/fashion.js';
import { sklearnTable, writeCsv } from './helpers/sklearn-csv.js';
import { idx, small, writeSmallIdx } from './helpers/small-idx.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-datasets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('IDX directories of any size, raw or gzipped', () => {
  const dir = writeSmallIdx(path.join(tmp, 'idx14'));

  it('reads 14x14 images and 4 classes, the test files through gunzip', async () => {
    expect(detectFormat(dir)).toBe('idx');
    const ds = await loadIdxDataset(dir);
    expect(ds.input).toEqual({ kind: 'image', width: 14, height: 14, channels: 1, preprocess: 'digit' });
    expect(ds.labels).toEqual(['0', '1', '2', '3']);
    expect([ds.train!.count, ds.test!.count]).toEqual([400, 100]);
    expect(Buffer.from(ds.test!.inputs.subarray(0, 196)).equals(Buffer.from(small('test', 1).images))).toBe(true);
    expect(ds.test!.id(7)).toBe('t10k-7');
    expect(ds.named).toBeUndefined();
    const names = path.join(tmp, 'names.txt');
    fs.writeFileSync(names, 'zero\none\ntwo\nthree\n');
    expect((await loadIdxDataset(dir, { labels: names })).labels).toEqual(['zero', 'one', 'two', 'three']);
  });

  it('a labels file with the wrong count, an IDX label above the label count: exit 3 naming the file', async () => {
    const five = path.join(tmp, 'five.txt');
    fs.writeFileSync(five, 'a\nb\nc\nd\ne\n');
    await expect(loadIdxDataset(dir, { labels: five })).rejects.toMatchObject({
      code: 3,
      message: `${five}: 5 class names, ${dir} has 4 classes (labels 0..3): is it the labels file of other data?`,
    });
    const three = path.join(tmp, 'three.txt');
    fs.writeFileSync(three, 'a\nb\nc\n');
    const at = small('train', 400).labels.indexOf(3);
    await expect(loadIdxDataset(dir, { labels: three })).rejects.toMatchObject({
      code: 3,
      message: `${path.join(dir, 'train-labels-idx1-ubyte')}: label 3 at index ${at} is above the 3 class names in ${three}`,
    });
    const dup = path.join(tmp, 'dup.txt');
    fs.writeFileSync(dup, 'a\nb\na\nc\n');
    await expect(loadIdxDataset(dir, { labels: dup })).rejects.toMatchObject({
      message: `${dup}:3: class name "a" appears twice`,
    });
  });

  it('refuses a gzip that inflates past what its IDX header implies, without inflating it all', async () => {
    const bomb = path.join(tmp, 'bomb');
    writeSmallIdx(bomb);
    // The header promises 100 labels (108 bytes); 64 MiB of zeros follow.
    const big = Buffer.concat([idx(2049, [100], new Uint8Array(100)), Buffer.alloc(64 << 20)]);
    fs.writeFileSync(path.join(bomb, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(big, { level: 1 }));
    const t0 = performance.now();
    await expect(loadIdxDataset(bomb)).rejects.toMatchObject({
      code: 3,
      message: `${path.join(bomb, 't10k-labels-idx1-ubyte.gz')}: inflates past the 108 bytes its IDX header implies; refused`,
    });
    expect(performance.now() - t0).toBeLessThan(3000);
    fs.writeFileSync(
      path.join(bomb, 't10k-labels-idx1-ubyte.gz'),
      zlib.gzipSync(idx(2049, [100], new Uint8Array(100))).subarray(0, 30),
    );
    await expect(loadIdxDataset(bomb)).rejects.toMatchObject({
      code: 3,
      message: expect.stringMatching(/t10k-labels-idx1-ubyte\.gz: not a valid gzip file \(unexpected end of file\)$/),
    });
  });

  it.skipIf(!fashionAvailable())(
    "recognises Fashion-MNIST by its bytes (Debian's gzips): class names, whole-picture preprocessing",
    async () => {
      const ds = await loadIdxDataset(FASHION_DEBIAN, { splits: ['test'] });
      expect(ds.named?.name).toBe('fashion-mnist');
      expect(ds.labels[0]).toBe('T-shirt/top');
      expect(ds.labels[9]).toBe('Ankle boot');
      expect(ds.input).toMatchObject({ width: 28, height: 28, preprocess: 'resize' });
      expect(ds.sha256['t10k-images-idx3-ubyte']).toBe(
        '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      );
    },
  );
});

describe('CSV and TSV files', () => {
  const wine = sklearnTable('wine');

  it('parses quotes, CRLF, a byte-order mark, blank lines and tabs', () => {
    const t = parseCsv('\uFEFFa,"b, quoted",label\r\n1,"2",x\r\n\r\n3,4,"say ""y"""\r\n', 'q.csv');
    expect(t.header).toEqual(['a', 'b, quoted', 'label']);
    expect(t.rows).toEqual([
      ['1', '2', 'x'],
      ['3', '4', 'say "y"'],
    ]);
    expect(t.lines).toEqual([2, 4]);
    expect(parseCsv('a\tlabel\n1.5\tz\n', 'x.tsv').rows).toEqual([['1.5', 'z']]);
  });

  it('a text cell, a ragged row, an empty file: exit 3 naming the file, line and column', async () => {
    const bad = (name: string, text: string) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const text = bad('text.csv', 'a,b,label\n1,2,x\n3,n/a,y\n');
    await expect(loadCsvDataset(text)).rejects.toMatchObject({
      code: 3,
      message: `${text}:3:2: "n/a" is not a number (column "b")`,
    });
    const ragged = bad('ragged.csv', 'a,b,label\n1,2,x\n3,4\n');
    await expect(loadCsvDataset(ragged)).rejects.toMatchObject({ message: `${ragged}:3: 2 fields, the header has 3` });
    const empty = bad('empty.csv', '');
    await expect(loadCsvDataset(empty)).rejects.toMatchObject({
      code: 3,
      message: `${empty}: empty, expected a header row and rows of values`,
    });
    const head = bad('head.csv', 'a,label\n\n');
    await expect(loadCsvDataset(head)).rejects.toMatchObject({
      message: `${head}: has a header but no rows of values`,
    });
    const nolabel = bad('nolabel.csv', 'a,b\n1,2\n');
    await expect(loadCsvDataset(nolabel)).rejects.toMatchObject({
      message: `${nolabel}: no column named "label" (columns: a, b); name the label column with --label-column`,
    });
    const inf = bad('inf.csv', 'a,label\n1e999,x\n');
    await expect(loadCsvDataset(inf)).rejects.toMatchObject({
      message: `${inf}:2:1: "1e999" is not a finite number (column "a")`,
    });
    const quote = bad('quote.csv', 'a,label\n"1,x\n');
    await expect(loadCsvDataset(quote)).rejects.toMatchObject({
      message: `${quote}:2: a quoted field is not closed before the end of the file`,
    });
  });

  it('wine: class names sorted, a seeded stratified 20% test split that follows rows, not their order', async () => {
    const file = writeCsv(path.join(tmp, 'wine.csv'), wine);
    const ds = await loadDataset(file);
    expect(ds.format).toBe('csv');
    expect(ds.input).toEqual({ kind: 'vector', size: 13, names: wine.names });
    expect(ds.labels).toEqual(['class_0', 'class_1', 'class_2']);
    const per = (s: typeof ds.test) => [0, 1, 2].map((c) => s!.labels.filter((l) => l === c).length);
    expect(per(ds.test)).toEqual([12, 14, 10]);
    expect(per(ds.train)).toEqual([47, 57, 38]);
    // The same rows are held out when the file's rows come in another order.
    const shuffled = writeCsv(
      path.join(tmp, 'wine-reversed.csv'),
      wine,
      wine.x.map((_, i) => wine.x.length - 1 - i),
    );
    const again = await loadDataset(shuffled);
    const rows = (d: typeof ds) =>
      Array.from({ length: d.test!.count }, (_, i) =>
        Array.from(d.test!.inputs.subarray(i * 13, i * 13 + 13)).join(),
      ).sort();
    expect(rows(again)).toEqual(rows(ds));
    // Validation takes the last training rows: every class is among them.
    const last = new Set(ds.train!.labels.subarray(ds.train!.count - 20));
    expect(last.size).toBe(3);
  });

  it('integer labels are class indices (named by --labels), standardisation keeps constant columns', async () => {
    const file = writeCsv(path.join(tmp, 'wine-int.csv'), wine, undefined, { numericLabels: true });
    expect((await loadDataset(file)).labels).toEqual(['0', '1', '2']);
    const names = path.join(tmp, 'cultivars.txt');
    fs.writeFileSync(names, 'barolo\ngrignolino\nbarbera\n');
    expect((await loadDataset(file, { labels: names })).labels).toEqual(['barolo', 'grignolino', 'barbera']);
    expect(classNamesOf(['b', 'a', 'b'])).toEqual(['a', 'b']);
    expect(classNamesOf(['10', '2', '2'])).toEqual(['2', '10']);
    const s = standardise([1, 5, 3, 5, 5, 5], 3, 2);
    expect(s.offset).toEqual([3, 5]);
    expect(s.scale[0]).toBeCloseTo(1 / Math.sqrt(8 / 3), 12);
    expect(s.scale[1]).toBe(1);
  });

  it('the split is the same from the same seed and a fraction, stratified per class', () => {
    const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2];
    const a = stratifiedSplit(labels, (i) => `s${i}`, 0.2);
    expect(stratifiedSplit(labels, (i) => `s${i}`, 0.2)).toEqual(a);
    expect(a.test.map((i) => labels[i])).toEqual([0, 1, 1, 2]);
    expect(a.train.length + a.test.length).toBe(labels.length);
  });
});

describe.skipIf(!fashionAvailable())('image folders of real pictures', () => {
  const root = path.join(tmp, 'clothes');
  const made = writeFashionFolder(root, [0, 1, 7], 20);

  it('reads every picture as predict prepares it; lists and skips what is not one', async () => {
    await made;
    fs.writeFileSync(path.join(root, 'Trouser', 'notes.txt'), 'not a picture');
    fs.writeFileSync(
      path.join(root, 'Sneaker', 'broken.png'),
      fs.readFileSync((await made).Sneaker[0]).subarray(0, 60),
    );
    fs.writeFileSync(path.join(root, 'README'), 'stray');
    const input = { kind: 'image', width: 20, height: 16, channels: 1, preprocess: 'resize' } as const;
    const f = await readImageFolder(root, { input });
    expect(f.labels).toEqual(['Sneaker', 'T-shirt-top', 'Trouser']);
    expect(f.split.count).toBe(60);
    expect(f.skipped.map((s) => s.file)).toEqual(['README', 'Sneaker/broken.png', 'Trouser/notes.txt']);
    expect(f.skipped[2].reason).toBe('not an image (expected PNG, JPEG, WebP, GIF, TIFF or AVIF)');
    expect(f.skipped[1].reason).toMatch(/^(truncated or corrupt|cannot decode) PNG/);
    // Training sees exactly what deployment computes from the same file.
    const info = { input: { ...input, scale: 1 / 255, size: 320 } } as unknown as ModelInfo;
    for (const k of [0, 25, 59]) {
      const file = path.join(root, f.files[k]);
      const img = await decodeImageRgba(fs.readFileSync(file), file);
      const want = prepareImage(info, img.rgba, img.width, img.height).pixels;
      expect(Buffer.from(f.split.inputs.subarray(k * 320, (k + 1) * 320)).equals(Buffer.from(want))).toBe(true);
    }
    const ds = await loadFolderDataset(root, { input, testSplit: 0.25 });
    expect([ds.train!.count, ds.test!.count]).toEqual([45, 15]);
    expect(ds.sha256.clothes).toBe(f.digest);
  });

  it('a folder with one class, a class with no images, a test folder with another class: exit 3', async () => {
    const input = { kind: 'image', width: 28, height: 28, channels: 1, preprocess: 'resize' } as const;
    const one = path.join(tmp, 'one-class');
    await writeFashionFolder(one, [1], 3);
    await expect(readImageFolder(one, { input })).rejects.toMatchObject({
      code: 3,
      message: `${one}: only one class folder ("Trouser"); a classifier needs at least two classes`,
    });
    const hollow = path.join(tmp, 'hollow');
    await writeFashionFolder(hollow, [1, 5], 3);
    fs.mkdirSync(path.join(hollow, 'Empty'));
    fs.writeFileSync(path.join(hollow, 'Empty', 'a.txt'), 'x');
    await expect(readImageFolder(hollow, { input })).rejects.toMatchObject({
      code: 3,
      message: `${path.join(hollow, 'Empty')}: no images in class "Empty" (1 files, none of them a readable image)`,
    });
    const other = path.join(tmp, 'other-test');
    await writeFashionFolder(other, [1, 8], 2);
    await expect(loadFolderDataset(path.join(tmp, 'clothes'), { input, test: other })).rejects.toMatchObject({
      code: 3,
      message: `${other}: class folder "${folderName(8)}" is not among the classes of ${path.join(tmp, 'clothes')} (Sneaker, T-shirt-top, Trouser)`,
    });
  });
});
