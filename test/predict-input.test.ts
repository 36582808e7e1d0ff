// `digitkit predict` on bad input: every rejected file is named with its reason, the others are still
// classified, and the exit code says what happened. The weights do not matter here, so these tests
// use a small model with random weights written through the real model writer.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatModel } from '../src/node/model-file.js';
import type { Prediction } from '../src/predict/jobs.js';
import { runCli } from './helpers/cli.js';
import { randomLayers } from './helpers/random-model.js';
import {
  blankPaperJpeg,
  digitAt,
  loadT10k,
  PNG_SIGNATURE,
  pngChunk,
  renderDigit,
  rng,
  type Look,
} from './helpers/render.js';

/** One entry of `predict --json`. */
type Row = Prediction;

let tmp: string;
let model: string;
let digitPng: Buffer;
const look: Look = { width: 160, height: 120, size: [70, 100], ink: [0, 0, 0], background: [255, 255, 255] };

/** Random weights (they do not matter here) for a model whose input is `side` x `side`. */
function randomModel(side = 28): string {
  const shape = [side * side, 16, 10];
  return formatModel({
    dtype: 'int8',
    input: { width: side, height: side, scale: 1 / 255 },
    layers: randomLayers({ shape, seed: 11 }),
  });
}

/** A PNG whose header claims 65536x65536 gray pixels (4 GiB decoded) with a few bytes of data. */
function bombPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(65536, 0);
  ihdr.writeUInt32BE(65536, 4);
  ihdr[8] = 8; // 8-bit gray
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(65537))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** `png` with one bit of its first IDAT chunk's CRC flipped: the pixels intact, the file corrupt. */
function badCrc(png: Buffer): Buffer {
  const bad = Buffer.from(png);
  const idat = bad.indexOf('IDAT');
  bad[idat + 4 + bad.readUInt32BE(idat - 4)] ^= 1;
  return bad;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-predict-input-'));
  model = path.join(tmp, 'model.json');
  fs.writeFileSync(model, randomModel());
  digitPng = (await renderDigit(digitAt(await loadT10k(), 0).pixels, look, rng(1))).bytes;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const parse = (stdout: string) => JSON.parse(stdout) as Row[];

describe('digitkit predict: bad input', () => {
  it('names each rejected file with its reason, classifies the rest, and exits 5', async () => {
    const dir = path.join(tmp, 'mixed');
    fs.mkdirSync(dir);
    const jpeg = await sharp(digitPng).jpeg({ quality: 80 }).toBuffer();
    const files: Record<string, Buffer> = {
      'a-good.png': digitPng,
      'b-not-an-image.png': Buffer.from('%PDF-1.4 this is not a picture\n'),
      'c-truncated.png': digitPng.subarray(0, Math.floor(digitPng.length / 2)),
      'c2-bad-crc.png': badCrc(digitPng),
      'd-truncated.jpg': jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      'e-empty.png': Buffer.alloc(0),
      'f-bomb.png': bombPng(),
      'g-blank.png': await sharp({ create: { width: 200, height: 200, channels: 3, background: '#ffffff' } })
        .png()
        .toBuffer(),
      'h-good.jpg': jpeg,
    };
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
    fs.writeFileSync(path.join(dir, 'readme.txt'), 'skipped: not an image file name');
    const emptyDir = path.join(tmp, 'no-images');
    fs.mkdirSync(emptyDir);
    fs.writeFileSync(path.join(emptyDir, 'notes.md'), '# nothing to see');
    const missing = path.join(tmp, 'missing.png');
    const throughFile = path.join(dir, 'a-good.png', 'x.png');

    const res = await runCli(['predict', dir, emptyDir, missing, throughFile, '--json', '--model', model]);
    expect(res.code).toBe(5);
    const rows = parse(res.stdout);
    const byName = Object.fromEntries(rows.map((r) => [path.basename(r.file), r]));
    expect(rows.map((r) => r.file)).toEqual([
      ...Object.keys(files).map((n) => path.join(dir, n)),
      emptyDir,
      missing,
      throughFile,
      // The directories' other files, counted (not classified, not rejected): a record each, last.
      path.join(dir, 'readme.txt'),
      path.join(emptyDir, 'notes.md'),
    ]);
    expect(rows.slice(-2).map((r) => (r as { skipped?: string }).skipped)).toEqual([
      'not an image file (by its extension)',
      'not an image file (by its extension)',
    ]);
    for (const good of ['a-good.png', 'h-good.jpg']) {
      expect(byName[good].error).toBeUndefined();
      expect(byName[good].digit).toBeTypeOf('number');
      expect(byName[good].top).toHaveLength(3);
    }
    const reasons: Record<string, RegExp> = {
      'b-not-an-image.png': /^not an image/,
      'c-truncated.png': /^truncated or corrupt PNG/,
      'c2-bad-crc.png': /^truncated or corrupt PNG/,
      'd-truncated.jpg': /^truncated or corrupt JPEG/,
      'e-empty.png': /^empty file \(0 bytes\)$/,
      'f-bomb.png': /^image 65536x65536 is larger than the \d+-pixel limit \(refused before decoding\)$/,
      'g-blank.png': /^no digit found/,
      'no-images': /^directory has no image files/,
      'missing.png': /^no such file or directory$/,
      'x.png': /ENOTDIR/,
    };
    for (const [name, reason] of Object.entries(reasons)) {
      expect(byName[name].error, name).toMatch(reason);
      expect(byName[name], name).toMatchObject({ digit: null, probability: null, top: [] });
    }

    // Human output: results on stdout, one line per rejected file on stderr naming it.
    const human = await runCli(['predict', dir, emptyDir, missing, '--model', model]);
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/a-good\.png +\d /);
    expect(human.stdout).toMatch(/h-good\.jpg +\d /);
    expect(human.stdout).toContain('11 inputs: 2 classified, 9 rejected');
    const errLines = human.stderr.trim().split('\n');
    expect(errLines, human.stderr).toHaveLength(9);
    expect(errLines).toContain(`digitkit predict: ${path.join(dir, 'e-empty.png')}: empty file (0 bytes)`);
    expect(errLines).toContain(`digitkit predict: ${missing}: no such file or directory`);
  });

  it('refuses the decompression bomb by its header (the pixel limit), alone on the command line too', async () => {
    const file = path.join(tmp, 'bomb.png');
    fs.writeFileSync(file, bombPng());
    const res = await runCli(['predict', file, '--json', '--model', model]);
    expect(res.code).toBe(5);
    expect(parse(res.stdout)[0].error).toContain('65536x65536');
  });

  it('a blank image is "no digit found", never a guess, whatever the polarity', async () => {
    const dir = path.join(tmp, 'blank');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'white.png'),
      await sharp({ create: { width: 120, height: 90, channels: 3, background: '#fff' } })
        .png()
        .toBuffer(),
    );
    fs.writeFileSync(
      path.join(dir, 'black.png'),
      await sharp({ create: { width: 120, height: 90, channels: 3, background: '#000' } })
        .png()
        .toBuffer(),
    );
    fs.writeFileSync(
      path.join(dir, 'transparent.png'),
      await sharp({ create: { width: 120, height: 90, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .png()
        .toBuffer(),
    );
    const paper = await blankPaperJpeg(300, 200, '#efe9dc', { mean: 232, sigma: 5 }, 35);
    fs.writeFileSync(path.join(dir, 'paper.jpg'), paper);
    for (const invert of ['auto', 'yes', 'no']) {
      const res = await runCli(['predict', dir, '--invert', invert, '--json', '--model', model]);
      expect(res.code, invert).toBe(5);
      for (const row of parse(res.stdout)) {
        expect(row, `${row.file} --invert ${invert}`).toMatchObject({ digit: null, probability: null, top: [] });
        expect(row.error).toMatch(/^no digit found/);
      }
    }
  });

  it('unreadable paths are per-file errors', async () => {
    const locked = path.join(tmp, 'locked.png');
    fs.writeFileSync(locked, digitPng);
    fs.chmodSync(locked, 0o000);
    const fifo = path.join(tmp, 'a-fifo.png');
    execFileSync('mkfifo', [fifo]);
    const inputs = [locked, fifo, path.join(tmp, 'missing-dir', 'x.png')];
    const res = await runCli(['predict', ...inputs, '--json', '--model', model], { timeoutMs: 30_000 });
    fs.chmodSync(locked, 0o644);
    expect(res.code).toBe(5);
    const rows = parse(res.stdout);
    expect(rows.map((r) => r.file)).toEqual(inputs);
    // root reads a mode-000 file anyway; everyone else is refused.
    if (process.getuid?.() !== 0) expect(rows[0].error).toMatch(/^permission denied/);
    expect(rows[1].error).toMatch(/^not a regular file/);
    expect(rows[2].error).toBe('no such file or directory');
  });

  it('decodes JPEG, WebP, GIF, TIFF and AVIF as well as PNG; lossless ones give the identical input, lossy ones nearly', async () => {
    const dir = path.join(tmp, 'formats');
    const out = path.join(tmp, 'formats-28');
    fs.mkdirSync(dir);
    const img = () => sharp(digitPng);
    const encoded: Record<string, Buffer> = {
      'digit.png': digitPng,
      'digit.tif': await img().tiff({ compression: 'lzw' }).toBuffer(),
      'digit.gif': await img().gif().toBuffer(),
      'digit.webp': await img().webp({ lossless: true }).toBuffer(),
      'digit.jpg': await img().jpeg({ quality: 90 }).toBuffer(),
      'digit.avif': await img().avif({ quality: 80 }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(encoded)) fs.writeFileSync(path.join(dir, name), bytes);
    const res = await runCli(['predict', dir, '--save-preprocessed', out, '--json', '--model', model]);
    expect(res.code).toBe(0);
    const rows = parse(res.stdout);
    expect(rows.map((r) => path.extname(r.file)).sort()).toEqual(['.avif', '.gif', '.jpg', '.png', '.tif', '.webp']);
    const pixels = async (f: string) => sharp(f).extractChannel(0).raw().toBuffer();
    // Same base name six times: digit.28x28.png, digit-2.28x28.png, ... in input order.
    expect(rows.map((r) => path.basename(r.preprocessed!))).toEqual(
      ['digit', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6'].map((b) => `${b}.28x28.png`),
    );
    const ref = await pixels(rows.find((r) => r.file.endsWith('.png'))!.preprocessed!);
    for (const row of rows) {
      const p = await pixels(row.preprocessed!);
      if (['.tif', '.webp'].includes(path.extname(row.file))) expect(p.equals(ref), row.file).toBe(true);
      else {
        // Compression can tip the integer centring by a pixel: the same shape, possibly one pixel over.
        let best = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            let dot = 0,
              pp = 0,
              rr = 0;
            for (let y = 1; y < 27; y++)
              for (let x = 1; x < 27; x++) {
                const a = p[(y + dy) * 28 + x + dx],
                  b = ref[y * 28 + x];
                dot += a * b;
                pp += a * a;
                rr += b * b;
              }
            best = Math.max(best, dot / Math.sqrt(pp * rr));
          }
        expect(best, row.file).toBeGreaterThan(0.95);
      }
    }
  });
});

describe('digitkit predict: the run itself', () => {
  it('an invalid or missing model is exit 3 naming the file, before any image is read', async () => {
    const bad = path.join(tmp, 'bad-model.json');
    fs.writeFileSync(bad, '{"format": "digitkit-mlp", "version": 1, "dtype": "int8"');
    const r1 = await runCli(['predict', path.join(tmp, 'whatever.png'), '--model', bad]);
    expect(r1.code).toBe(3);
    expect(r1.stderr).toContain(`${bad}: is not valid JSON`);
    const r2 = await runCli([
      'predict',
      path.join(tmp, 'whatever.png'),
      '--model',
      path.join(tmp, 'nope.json'),
      '--json',
    ]);
    expect(r2.code).toBe(3);
    expect(JSON.parse(r2.stdout).error).toMatchObject({
      code: 3,
      message: expect.stringContaining('no such model file'),
    });
    // A vector model classifies CSV rows: an image given to it is exit 3 naming the file.
    const vector = path.join(tmp, 'model-vector.json');
    fs.writeFileSync(
      vector,
      formatModel({
        dtype: 'int8',
        input: { kind: 'vector', size: 4, scale: 1 },
        labels: ['a', 'b'],
        layers: randomLayers({ shape: [4, 3, 2], seed: 3 }),
      }),
    );
    const png = path.join(tmp, 'for-vector.png');
    fs.writeFileSync(png, digitPng);
    const r3 = await runCli(['predict', png, '--model', vector]);
    expect(r3.code).toBe(3);
    expect(r3.stderr).toBe(
      `digitkit predict: ${png}: an image; ${vector} is a vector model, it classifies the rows of CSV files\n`,
    );
  });

  it("any image model: a 14x14 digit model gets the core's digit recipe at its own size", async () => {
    const small = path.join(tmp, 'model-14.json');
    fs.writeFileSync(small, randomModel(14));
    const img = path.join(tmp, 'for-14.png');
    fs.writeFileSync(img, digitPng);
    const save = path.join(tmp, 'seen-14');
    const r = await runCli(['predict', img, '--model', small, '--json', '--save-preprocessed', save]);
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.stdout);
    expect(row.digit).toBeTypeOf('number');
    const meta = await sharp(path.join(save, 'for-14.14x14.png')).metadata();
    expect([meta.width, meta.height]).toEqual([14, 14]);
  });

  it('usage errors are exit 2', async () => {
    const img = path.join(tmp, 'usage.png');
    fs.writeFileSync(img, digitPng);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [[], /missing required argument/],
      [[img, '--top', '0'], /--top/],
      [[img, '--top', '11'], /--top/],
      [[img, '--invert', 'maybe'], /expected one of auto, yes, no/],
      [['-', '-'], /only once/],
      [[img, '--save-preprocessed', path.join(file, 'sub')], /--save-preprocessed/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(['predict', ...args, '--model', model]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toMatch(message);
    }
  });
});
