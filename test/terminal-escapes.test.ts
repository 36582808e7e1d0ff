// File names and snippets reach the terminal with control characters escaped (issue 19, item 3): a
// file name holding escape sequences cannot retitle the window, clear the screen or split an error
// line. Through the real CLI, on real files with such names.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { shown, shownLine } from '../src/format.js';
import { runCli } from './helpers/cli.js';
import { randomModelText, tempDir } from './helpers/random-model.js';

const dir = tempDir('digitkit-escapes-');
const images = path.join(dir, 'images');
const model = path.join(dir, 'model.json');
// Sets the window title, clears the screen, rings the bell; a newline; a right-to-left override.
const EVIL = 'a\u001b]0;pwned\u0007\u001b[2J\nb\u202e';
const EVIL_SHOWN = 'a\\x1b]0;pwned\\x07\\x1b[2J\\nb\\u202e';
/** No control character at all but the newlines ending lines (and, with colour, SGR codes). */
const clean = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').replace(/\n/g, '');

beforeAll(async () => {
  fs.mkdirSync(images);
  fs.writeFileSync(model, randomModelText({ shape: [784, 8, 10] }));
  const digit = await sharp({ create: { width: 40, height: 40, channels: 3, background: 'white' } })
    .composite([{ input: Buffer.alloc(10 * 24 * 3, 0), raw: { width: 10, height: 24, channels: 3 }, left: 15, top: 8 }])
    .png()
    .toBuffer();
  fs.writeFileSync(path.join(images, `${EVIL}.png`), digit);
  fs.writeFileSync(path.join(images, `${EVIL}-broken.png`), 'not a png');
});

describe('control characters in names and snippets', () => {
  it('shown() escapes C0, C1, DEL and bidi controls and nothing else; shownLine keeps colour and newlines when asked', () => {
    expect(shown(EVIL)).toBe(EVIL_SHOWN);
    expect(shown('\u0000\u007f\u0085\u2028 ünïcødé 数字 ok')).toBe('\\x00\\x7f\\x85\\u2028 ünïcødé 数字 ok');
    expect(shownLine('\u001b[31mred\u001b[39m \u001b]0;t\u0007', { keepColor: true })).toBe(
      '\u001b[31mred\u001b[39m \\x1b]0;t\\x07',
    );
    expect(shownLine('\u001b[31mx\nmore', { keepNewlines: true })).toBe('\\x1b[31mx\nmore');
  });

  it('predict on a directory of hostile names: results and rejections name the files escaped, one line each', async () => {
    for (const env of [{}, { FORCE_COLOR: '1', NO_COLOR: undefined }]) {
      const r = await runCli(['predict', '--model', model, images], { env });
      expect(r.code).toBe(5);
      expect(clean(r.stdout + r.stderr)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
      const out = r.stdout
        .replace(/\u001b\[[0-9;]*m/g, '')
        .trim()
        .split('\n');
      expect(out[1]).toBe('2 inputs: 1 classified, 1 rejected');
      expect(out).toHaveLength(2);
      expect(out[0].startsWith(path.join(images, EVIL_SHOWN + '.png'))).toBe(true);
      const err = r.stderr
        .replace(/\u001b\[[0-9;]*m/g, '')
        .trim()
        .split('\n');
      expect(err).toHaveLength(1);
      expect(err[0]).toContain(`digitkit predict: ${path.join(images, EVIL_SHOWN + '-broken.png')}: `);
    }
  });

  it('an error naming a file with escapes is one escaped line (human), and plain JSON (--json)', async () => {
    const missing = path.join(dir, `${EVIL}.json`);
    const r = await runCli(['verify', '--model', missing]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`digitkit verify: ${path.join(dir, EVIL_SHOWN)}.json: no such model file\n`);
    const j = await runCli(['verify', '--model', missing, '--json']);
    expect(JSON.parse(j.stdout).error.message).toBe(`${missing}: no such model file`);
    expect(j.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});
