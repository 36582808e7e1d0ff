import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { embeddedMnistDir, MNIST_FILES } from '../src/data/mnist.js';
import { DigitkitError } from '../src/errors.js';

const dir = embeddedMnistDir();
const read = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)));

function header(magic: number, dims: number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return b;
}

describe('parseIdx on the real MNIST files', () => {
  it('parses t10k images and labels without copying the payload', () => {
    const bytes = read('t10k-images-idx3-ubyte');
    const img = parseIdx(bytes, 't10k-images-idx3-ubyte', IDX_IMAGES_MAGIC);
    expect(img.dims).toEqual([10000, 28, 28]);
    expect(img.data.buffer).toBe(bytes.buffer);
    expect(img.data.length).toBe(10000 * 784);
    const lbl = parseIdx(read('t10k-labels-idx1-ubyte'), 't10k-labels-idx1-ubyte', IDX_LABELS_MAGIC);
    expect(lbl.dims).toEqual([10000]);
    expect(Array.from(lbl.data.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('rejects a label file given where images are expected, naming the file and both magics', () => {
    expect(() => parseIdx(read('t10k-labels-idx1-ubyte'), 't10k-labels-idx1-ubyte', IDX_IMAGES_MAGIC)).toThrow(
      't10k-labels-idx1-ubyte: magic 2049, expected 2051 (a label file given where an image file was expected)',
    );
    expect(() => parseIdx(read('t10k-images-idx3-ubyte'), 'x', IDX_LABELS_MAGIC)).toThrow(
      'x: magic 2051, expected 2049',
    );
  });

  it('rejects a truncated file with the promised and actual sizes', () => {
    const bytes = read('train-images-idx3-ubyte').subarray(0, 1048576);
    try {
      parseIdx(bytes, 'train-images-idx3-ubyte', IDX_IMAGES_MAGIC);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DigitkitError);
      expect((e as DigitkitError).code).toBe(3);
      expect((e as Error).message).toBe('train-images-idx3-ubyte: header promises 47040016 bytes, file has 1048576');
    }
  });

  it('rejects trailing bytes, wrong dimension counts, zero-sized images and non-IDX bytes', () => {
    const extra = new Uint8Array(read('t10k-labels-idx1-ubyte').length + 3);
    extra.set(read('t10k-labels-idx1-ubyte'));
    expect(() => parseIdx(extra, 'l', IDX_LABELS_MAGIC)).toThrow('l: header promises 10008 bytes, file has 10011');
    const twoDims = new Uint8Array([...header(0x00000802, [2, 2]), 1, 2, 3, 4]);
    twoDims[3] = 2;
    expect(() => parseIdx(twoDims, 'img', IDX_IMAGES_MAGIC)).toThrow(/img: magic 2050, expected 2051/);
    const badDims = header(IDX_IMAGES_MAGIC, [1, 0, 28]);
    expect(() => parseIdx(badDims, 'img', IDX_IMAGES_MAGIC)).toThrow(
      'img: image dimensions 0x28, expected positive sizes',
    );
    expect(() => parseIdx(new TextEncoder().encode('<html>404</html>'), 'page', IDX_IMAGES_MAGIC)).toThrow(
      /page: magic \d+, expected 2051 \(not an unsigned-byte IDX file\)/,
    );
    expect(() => parseIdx(new Uint8Array(0), 'empty')).toThrow('empty: file has 0 bytes, too short for an IDX header');
  });

  it('knows the canonical sizes of all four files', () => {
    for (const f of MNIST_FILES) expect(fs.statSync(path.join(dir, f.name)).size).toBe(f.bytes);
  });
});
