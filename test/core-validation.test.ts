// docs/contracts/model-format.md, "Validation a reader must do": one test per rejection, each
// checking that the error names the file and the offending field.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MODEL_BYTES, ModelError, parseRawModel } from '../src/core/index.js';
import { DigitkitError } from '../src/errors.js';
import { readModelFile } from '../src/node/model-file.js';
import { runCli } from './helpers/cli.js';
import { randomModelText, tempDir } from './helpers/random-model.js';

const FILE = 'models/x.json';
// Small but real: 784 inputs -> 8 -> 10 classes.
const VALID = randomModelText({ shape: [784, 8, 10], seed: 3 });
const VALID_F32 = randomModelText({ shape: [784, 8, 10], seed: 3, dtype: 'float32' });

type Doc = Record<string, any>;

/** Marks a number to be written as 1e999 (JSON.parse reads it as Infinity; JSON.stringify cannot write it). */
const INF = 'INFINITY-MARK';

function rejects(edit: (doc: Doc) => void, field: string, problem: RegExp, base = VALID): ModelError {
  const doc = JSON.parse(base);
  edit(doc);
  let caught: unknown;
  try {
    parseRawModel(JSON.stringify(doc).replace(`"${INF}"`, '1e999'), FILE);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ModelError);
  const err = caught as ModelError;
  expect(err.field).toBe(field);
  expect(err.message.startsWith(`${FILE}: ${field} `)).toBe(true);
  expect(err.message).toMatch(problem);
  return err;
}

/** Replace the weights of layer k with these bytes (base64). */
const setBytes = (doc: Doc, k: number, bytes: Uint8Array) => {
  doc.layers[k].w = Buffer.from(bytes).toString('base64');
};
const bytesOf = (doc: Doc, k: number) => new Uint8Array(Buffer.from(doc.layers[k].w, 'base64'));

describe("model validation (the contract's rejection list)", () => {
  it('accepts the valid models these tests start from', () => {
    expect(parseRawModel(VALID, FILE).layers).toHaveLength(2);
    expect(parseRawModel(VALID_F32, FILE).dtype).toBe('float32');
  });

  it('wrong format', () =>
    rejects((d) => (d.format = 'digitkit-cnn'), 'format', /is "digitkit-cnn", expected "digitkit-mlp"/));
  it('a version it does not know', () =>
    rejects((d) => (d.version = 3), 'version', /is 3, this reader knows versions 1 and 2/));
  it('a dtype other than int8 and float32', () =>
    rejects((d) => (d.dtype = 'float16'), 'dtype', /is "float16", expected "int8" or "float32"/));

  it('non-integer rows', () =>
    rejects((d) => (d.layers[1].rows = 8.5), 'layers[1].rows', /is 8.5, expected a positive integer/));
  it('non-positive cols', () =>
    rejects((d) => (d.layers[0].cols = 0), 'layers[0].cols', /is 0, expected a positive integer/));
  it('negative rows', () =>
    rejects((d) => (d.layers[0].rows = -784), 'layers[0].rows', /is -784, expected a positive integer/));
  it('shapes that do not chain', () =>
    rejects((d) => (d.layers[1].rows = 9), 'layers[1].rows', /is 9, expected 8 \(layers\[0\]\.cols\)/));
  it('a first layer that does not take width x height inputs', () =>
    rejects((d) => (d.input.width = 27), 'layers[0].rows', /is 784, expected 756 \(input.width x input.height\)/));
  it('a last layer that does not give one output per label', () =>
    rejects((d) => d.labels.pop(), 'layers[1].cols', /is 10, expected 9 \(labels.length\)/));
  it('more than 16,777,216 weights in a layer (checked before decoding)', () => {
    rejects(
      (d) => {
        d.layers[0].cols = 21_400; // 784 x 21400 = 16,777,600
        d.layers[1].rows = 21_400;
      },
      'layers[0]',
      /has 784x21400 weights, more than 16777216/,
    );
  });

  it('w that is not valid base64', () =>
    rejects((d) => (d.layers[0].w = d.layers[0].w.slice(0, -4) + 'A*A='), 'layers[0].w', /is not valid base64/));
  it('w with misplaced padding', () =>
    rejects((d) => (d.layers[1].w = 'AA=A' + d.layers[1].w.slice(4)), 'layers[1].w', /is not valid base64/));
  it('w missing', () => rejects((d) => delete d.layers[1].w, 'layers[1].w', /is missing, expected a base64 string/));
  it('w that decodes to the wrong byte count (int8)', () => {
    rejects(
      (d) => setBytes(d, 1, bytesOf(d, 1).subarray(0, 78)),
      'layers[1].w',
      /decodes to 78 bytes, expected 80 \(8x10 int8\)/,
    );
  });
  it('w that decodes to the wrong byte count (float32)', () => {
    rejects(
      (d) => setBytes(d, 1, bytesOf(d, 1).subarray(0, 316)),
      'layers[1].w',
      /decodes to 316 bytes, expected 320 \(8x10 float32\)/,
      VALID_F32,
    );
  });
  it('an int8 weight of -128 (outside [-127, 127])', () => {
    rejects(
      (d) =>
        setBytes(
          d,
          0,
          bytesOf(d, 0).map((b, i) => (i === 5 ? 0x80 : b)),
        ),
      'layers[0].w',
      /holds -128 at index 5, expected values in \[-127, 127\]/,
    );
  });
  it('a float32 weight that is not finite', () => {
    rejects(
      (d) => {
        const b = bytesOf(d, 1);
        new DataView(b.buffer).setFloat32(4 * 3, NaN, true);
        setBytes(d, 1, b);
      },
      'layers[1].w',
      /holds a non-finite weight at index 3/,
      VALID_F32,
    );
  });

  it('scale missing (int8)', () =>
    rejects(
      (d) => delete d.layers[0].scale,
      'layers[0].scale',
      /is missing, expected a finite positive number or an array of 8/,
    ));
  it('scale not finite', () =>
    rejects((d) => (d.layers[0].scale = INF), 'layers[0].scale', /is Infinity, expected a finite positive number/));
  it('scale not positive', () =>
    rejects((d) => (d.layers[1].scale = 0), 'layers[1].scale', /is 0, expected a finite positive number/));
  it('scale negative', () =>
    rejects((d) => (d.layers[1].scale = -0.01), 'layers[1].scale', /is -0.01, expected a finite positive number/));
  it('scale that is a string', () =>
    rejects((d) => (d.layers[1].scale = '0.01'), 'layers[1].scale', /is "0.01", expected a finite positive number/));
  it('a per-channel scale array of the wrong length', () =>
    rejects(
      (d) => (d.layers[0].scale = [0.1, 0.2]),
      'layers[0].scale',
      /is an array of 2, expected .* or an array of 8/,
    ));
  it('a per-channel scale array with a bad entry', () =>
    rejects(
      (d) => (d.layers[1].scale = Array(10).fill(0.01).fill(-1, 4, 5)),
      'layers[1].scale[4]',
      /is -1, expected a finite positive number/,
    ));

  it('b of the wrong length', () =>
    rejects((d) => d.layers[1].b.push(0), 'layers[1].b', /is an array of 11, expected an array of 10 numbers/));
  it('b with a non-finite value', () =>
    rejects((d) => (d.layers[0].b[3] = INF), 'layers[0].b[3]', /is Infinity, expected a finite number/));
  it('b with a value that is not a number', () =>
    rejects((d) => (d.layers[0].b[7] = '0.5'), 'layers[0].b[7]', /is "0.5", expected a finite number/));
  it('b missing', () =>
    rejects((d) => delete d.layers[1].b, 'layers[1].b', /is missing, expected an array of 10 numbers/));

  // JSON.parse makes "__proto__" an own key; JSON.stringify of an edited object cannot write one, so edit the text.
  const withKey = (text: string, key: string, where: 'top' | 'meta' | 'layer') => {
    if (where === 'top') return text.replace('{"format"', `{"${key}":{"polluted":true},"format"`);
    if (where === 'meta') return text.replace('"meta":{', `"meta":{"notes":[{"${key}":1}],`);
    return text.replace('{"rows":8,', `{"${key}":{},"rows":8,`);
  };
  it.each([
    ['__proto__', 'top', '__proto__'],
    ['__proto__', 'meta', 'meta.notes[0].__proto__'],
    ['constructor', 'layer', 'layers[1].constructor'],
    ['prototype', 'meta', 'meta.notes[0].prototype'],
  ] as const)('a %s key (%s) anywhere in the file', (key, where, field) => {
    const text = withKey(VALID, key, where);
    expect(text).not.toBe(VALID);
    let err: unknown;
    try {
      parseRawModel(text, FILE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).message).toBe(`${FILE}: ${field} is a forbidden key (the file is data, never code)`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a file larger than 64 MiB, before parsing it (readModelFile, exit 3)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'huge.json');
    // 65 MiB of zero bytes: not JSON at all, so the size must be what is rejected.
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 65 * 1024 * 1024);
    const err = await readModelFile(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DigitkitError);
    expect((err as DigitkitError).code).toBe(3);
    expect((err as DigitkitError).message).toBe(
      `${file}: ${65 * 1024 * 1024} bytes, larger than the ${MAX_MODEL_BYTES}-byte limit for a model file`,
    );
  });

  it("readModelFile decodes weights with Node's base64 only after the core's strict check: the same layers, the same rejections", async () => {
    const dir = tempDir();
    for (const [name, text] of [
      ['int8.json', VALID],
      ['f32.json', VALID_F32],
    ]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const { raw } = await readModelFile(file);
      const own = parseRawModel(text, file);
      raw.layers.forEach((l, k) => {
        expect(l.q.constructor).toBe(own.layers[k].q.constructor);
        expect(Array.from(l.q)).toEqual(Array.from(own.layers[k].q));
      });
    }
    // Buffer.from would decode these leniently; the core's check refuses them first.
    for (const bad of ['A*A=', 'AA=A', 'AAA']) {
      const doc = JSON.parse(VALID);
      doc.layers[1].w = doc.layers[1].w.slice(0, -4) + bad;
      const file = path.join(dir, 'bad.json');
      fs.writeFileSync(file, JSON.stringify(doc));
      const err = await readModelFile(file).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as DigitkitError).code, bad).toBe(3);
      expect((err as DigitkitError).message).toBe(`${file}: layers[1].w is not valid base64 (RFC 4648, with padding)`);
    }
  });

  it('text longer than 64 MiB handed to the core directly', () => {
    const text = ' '.repeat(MAX_MODEL_BYTES + 1);
    expect(() => parseRawModel(text, FILE)).toThrow(`${FILE}: is larger than ${MAX_MODEL_BYTES} bytes`);
  });

  it('text that is not JSON, or not an object', () => {
    expect(() => parseRawModel('{"format": ', FILE)).toThrow(/^models\/x\.json: is not valid JSON/);
    expect(() => parseRawModel('[1, 2]', FILE)).toThrow(`${FILE}: is not a JSON object`);
  });

  it('a deeply nested document is a ModelError, not a stack overflow', () => {
    const deep = VALID.replace('"meta":{', `"meta":{"deep":${'['.repeat(200_000)}${']'.repeat(200_000)},`);
    expect(() => parseRawModel(deep.replace('"digitkit-mlp"', '"other"'), FILE)).toThrow(ModelError);
  });

  it('the CLI reports a rejected model as exit 3 naming the file and field', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    const doc = JSON.parse(VALID);
    doc.layers[1].b.pop();
    fs.writeFileSync(file, JSON.stringify(doc));
    const f = await runCli(['fixtures', '--model', file, '--out', path.join(dir, 'f.json')]);
    expect(f.code).toBe(3);
    expect(f.stderr).toContain(`${file}: layers[1].b is an array of 9, expected an array of 10 numbers`);
    expect(fs.existsSync(path.join(dir, 'f.json'))).toBe(false);
    const q = await runCli(['quantize', '--in', file, '--out', path.join(dir, 'q.json')]);
    expect(q.code).toBe(3);
    expect(q.stderr).toContain(`${file}: layers[1].b is an array of 9, expected an array of 10 numbers`);
  });
});
