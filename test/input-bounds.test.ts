// No input may exhaust memory or the stack, or wait forever (issue 19, items 4-7): JSON nested past a
// small bound is refused before it is parsed, in bounded time and memory; only regular files are read,
// and never past the size they had; standard input has the image files' size cap. Through the real CLI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkJsonShape, MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, readInputFile } from '../src/node/input-file.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { BIN, ROOT, runCli, type CliResult } from './helpers/cli.js';
import { randomModelText, tempDir } from './helpers/random-model.js';

const dir = tempDir('digitkit-input-bounds-');
const SMALL = [784, 8, 10];

/** A model file whose meta holds `nested` (raw JSON text) in place of its seed. */
function modelWithMeta(name: string, nested: string, dtype: 'int8' | 'float32' = 'int8'): string {
  const text = randomModelText({ shape: SMALL, dtype, meta: { seed: 424242 } });
  expect(text).toContain('{"seed":424242}');
  const file = path.join(dir, name);
  fs.writeFileSync(file, text.replace('{"seed":424242}', `{"deep":${nested}}`));
  return file;
}

const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON nesting bound (items 4, 5)', () => {
  it('checkJsonShape: brackets inside strings do not count; the bound is exact; the message names file and line', () => {
    // The object is level 1, so its 64th array is the 65th level, at byte 7 + 63.
    expect(() =>
      checkJsonShape(Buffer.from(`{"a":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`), 'f.json'),
    ).not.toThrow();
    expect(() => checkJsonShape(nest(MAX_JSON_DEPTH), 'f.json')).not.toThrow();
    expect(() => checkJsonShape(`{\n"a":\n${nest(MAX_JSON_DEPTH)}}`, 'f.json')).toThrow(
      `f.json: JSON nested deeper than ${MAX_JSON_DEPTH} levels (at line 3, byte ${7 + MAX_JSON_DEPTH - 1}); refused before parsing`,
    );
    expect(() => checkJsonShape('[' + '[],'.repeat(MAX_JSON_CONTAINERS) + '[]]', 'w.json')).toThrow(
      `w.json: JSON holds more than ${MAX_JSON_CONTAINERS} arrays and objects`,
    );
  });

  it('checkJsonShape: a quote after an even run of backslashes ends the string, after an odd run it does not', () => {
    const deep = nest(MAX_JSON_DEPTH + 1);
    // "x\\" is x and one backslash: the string ends, and the brackets after it count.
    expect(() => checkJsonShape(`{"a":"x\\\\","b":${deep}}`, 'f.json')).toThrow('JSON nested deeper than');
    // "x\\\"…" holds a backslash and a quote: the brackets that follow are inside the string.
    expect(() => checkJsonShape(`{"a":"x\\\\\\"${deep}"}`, 'f.json')).not.toThrow();
    // An unterminated string ends the scan: JSON.parse reports it.
    expect(() => checkJsonShape(`{"a":"${deep}`, 'f.json')).not.toThrow();
  });

  it('predict: a 40 MB model of nested arrays in meta is exit 3 naming the file, in a 256 MB heap', async () => {
    // Before the bound: V8 ran out of memory building the arrays (exit 134 after half a minute).
    const file = modelWithMeta('deep40.json', nest(20_000_000));
    expect(fs.statSync(file).size).toBeGreaterThan(40e6);
    const r = await runCli(['predict', '--model', file, path.join(ROOT, 'README.md')], {
      env: { NODE_OPTIONS: '--max-old-space-size=256' },
      timeoutMs: 60_000,
    });
    expect(r.stderr).toMatch(
      new RegExp(
        `^digitkit predict: ${file}: JSON nested deeper than 64 levels \\(at line 1, byte \\d+\\); refused before parsing\\n$`,
      ),
    );
    expect(r.code).toBe(3);
    fs.rmSync(file);
  });

  it('predict: a model holding millions of empty arrays is exit 3 (bounded memory, not only depth)', async () => {
    const file = modelWithMeta('wide.json', '[' + '[],'.repeat(3_000_000) + '[]]');
    const r = await runCli(['predict', '--model', file, path.join(ROOT, 'README.md')], {
      env: { NODE_OPTIONS: '--max-old-space-size=128' },
      timeoutMs: 60_000,
    });
    expect(r.stderr).toContain(`${file}: JSON holds more than 1000000 arrays and objects`);
    expect(r.code).toBe(3);
    fs.rmSync(file);
  });

  it('quantize: a float model whose meta nests 5,000 deep is exit 3 (was a stack overflow), nothing written', async () => {
    const file = modelWithMeta('deep5000.json', nest(5000), 'float32');
    const out = path.join(dir, 'q.json');
    const r = await runCli(['quantize', '--in', file, '--out', out, '--data', embeddedMnistDir()]);
    expect(r.stderr).toContain(`${file}: JSON nested deeper than 64 levels`);
    expect(r.code).toBe(3);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('verify: fixtures nested past the bound are exit 3 naming the fixtures file', async () => {
    const model = path.join(dir, 'm.json');
    fs.writeFileSync(model, randomModelText({ shape: SMALL }));
    const fixtures = path.join(dir, 'deep-fixtures.json');
    fs.writeFileSync(fixtures, `{"format":"digitkit-fixtures","version":1,"extra":${nest(100_000)}}`);
    const r = await runCli(['verify', '--model', model, '--fixtures', fixtures]);
    expect(r.stderr).toContain(`${fixtures}: JSON nested deeper than 64 levels`);
    expect(r.code).toBe(3);
  });
});

describe('only regular files, never past their size (item 6)', () => {
  it('readInputFile refuses a FIFO and /dev/zero (through a symlink) at once, naming the file', async () => {
    const fifo = path.join(dir, 'fifo.json');
    await new Promise((resolve) => spawn('mkfifo', [fifo]).on('close', resolve));
    const zero = path.join(dir, 'zero.json');
    fs.symlinkSync('/dev/zero', zero);
    for (const f of [fifo, zero])
      await expect(readInputFile(f, { kind: 'model' })).rejects.toThrow(`${f}: not a regular file`);
    const r = await runCli(['predict', '--model', fifo, path.join(ROOT, 'README.md')], { timeoutMs: 20_000 });
    expect([r.code, r.stderr]).toEqual([3, `digitkit predict: ${fifo}: not a regular file\n`]);
  });
});

describe('data sources: only regular files, never past what they promise, no endless walks (item 6)', () => {
  const mkfifo = (f: string) => new Promise((resolve) => spawn('mkfifo', [f]).on('close', resolve));

  it('an IDX directory whose .gz images file is a FIFO, or whose images are /dev/zero, is exit 3 at once', async () => {
    const model = path.join(dir, 'idx-model.json');
    fs.writeFileSync(model, randomModelText({ shape: SMALL }));
    const idx = path.join(dir, 'idx-fifo');
    fs.mkdirSync(idx);
    fs.copyFileSync(path.join(embeddedMnistDir(), 't10k-labels-idx1-ubyte'), path.join(idx, 't10k-labels-idx1-ubyte'));
    await mkfifo(path.join(idx, 't10k-images-idx3-ubyte.gz'));
    // Before: the gzip stream waited for a writer forever.
    const r = await runCli(['eval', '--model', model, '--data', idx], { timeoutMs: 30_000 });
    expect(r.stderr).toContain(`${path.join(idx, 't10k-images-idx3-ubyte.gz')}: not a regular file`);
    expect(r.code).toBe(3);
    fs.rmSync(path.join(idx, 't10k-images-idx3-ubyte.gz'));
    fs.symlinkSync('/dev/zero', path.join(idx, 't10k-images-idx3-ubyte'));
    const z = await runCli(['eval', '--model', model, '--data', idx], { timeoutMs: 30_000 });
    expect(z.stderr).toContain(`${path.join(idx, 't10k-images-idx3-ubyte')}: not a regular file`);
    expect(z.code).toBe(3);
  });

  it('a raw IDX file longer than its header implies is refused with only its header read', async () => {
    const f = path.join(dir, 'long-idx');
    const header = Buffer.from([0, 0, 8, 1, 0, 0, 0, 3]);
    fs.writeFileSync(f, Buffer.concat([header, Buffer.alloc(1 << 20)]));
    let payloadRead = false;
    const implied = (head: Uint8Array) => {
      payloadRead ||= head.length > 1024;
      return 8 + new DataView(head.buffer, head.byteOffset).getUint32(4, false);
    };
    await expect(readInputFile(f, { kind: 'IDX', implied })).rejects.toThrow(
      `${f}: header promises 11 bytes, file has ${8 + (1 << 20)}`,
    );
    expect(payloadRead).toBe(false);
  });

  it('an image folder with a link to its parent and a FIFO: the walk ends, the FIFO is skipped as not a regular file', async () => {
    const root = path.join(dir, 'folder-loop');
    fs.mkdirSync(path.join(root, 'a'), { recursive: true });
    fs.mkdirSync(path.join(root, 'b'));
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: 'white' } })
      .composite([{ input: Buffer.alloc(6 * 12 * 3), raw: { width: 6, height: 12, channels: 3 }, left: 7, top: 4 }])
      .png()
      .toBuffer();
    for (const d of ['a', 'b']) for (const k of [1, 2]) fs.writeFileSync(path.join(root, d, `${k}.png`), png);
    // Two links to the root inside a class: without a visited set the walk doubles at every level.
    fs.symlinkSync('..', path.join(root, 'a', 'up'));
    fs.symlinkSync('../..', path.join(root, 'a', 'up2'));
    await mkfifo(path.join(root, 'b', 'fifo.png'));
    const r = await runCli(['inspect', root, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain('not a regular file');
  });
});

describe('standard input (item 7)', () => {
  it('predict - < /dev/zero stops at the 256 MiB image cap: exit 5 naming stdin', async () => {
    const model = path.join(dir, 'stdin-model.json');
    fs.writeFileSync(model, randomModelText({ shape: SMALL }));
    const zero = fs.openSync('/dev/zero', 'r');
    const r = await new Promise<CliResult>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'predict', '--model', model, '-'], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: [zero, 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      // Before the cap it read on without end (5.6 GB in 20 s).
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    fs.closeSync(zero);
    expect(r.stderr).toBe(
      'digitkit predict: -: more than 268435456 bytes on standard input, the limit for an image file\n',
    );
    expect(r.code).toBe(5);
  });
});
