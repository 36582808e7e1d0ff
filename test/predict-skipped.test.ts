// `digitkit predict DIR` counts the directory's files that are not images instead of skipping them
// silently (issue 18): in the human output ("1 non-image file skipped", "2 non-image files skipped")
// and in --json (a record per skipped file); hidden files and subdirectories are not counted.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';
import { digitAt, loadT10k, LOOKS, renderDigit, rng } from './helpers/render.js';

async function scans(dir: string, others: string[]) {
  const t10k = await loadT10k();
  for (const i of [0, 1]) {
    const { bytes } = await renderDigit(digitAt(t10k, i).pixels, LOOKS['canvas 200x200'], rng(i + 1));
    fs.writeFileSync(path.join(dir, `digit-${i}.png`), bytes);
  }
  for (const name of others) fs.writeFileSync(path.join(dir, name), 'not an image\n');
  fs.writeFileSync(path.join(dir, '.DS_Store'), 'hidden');
  fs.mkdirSync(path.join(dir, 'old'));
}

describe('predict DIR: non-image files are counted', () => {
  it('one non-image file: "1 non-image file skipped", named; exit 0 (a skipped file is not a rejected image)', async () => {
    const dir = tempDir();
    await scans(dir, ['notes.txt']);
    const r = await runCli(['predict', dir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('2 inputs: 2 classified, 0 rejected');
    expect(lines.at(-1)).toBe(`1 non-image file skipped: ${path.join(dir, 'notes.txt')}`);
  });

  it('two: "2 non-image files skipped"; --json has a record for each, after the results', async () => {
    const dir = tempDir();
    await scans(dir, ['notes.txt', 'readme.md']);
    const r = await runCli(['predict', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(
      `2 non-image files skipped: ${path.join(dir, 'notes.txt')}, ${path.join(dir, 'readme.md')}`,
    );
    const json = await runCli(['predict', dir, '--json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { file: string; skipped?: string; probability?: number }[];
    expect(rows.map((x) => path.basename(x.file))).toEqual(['digit-0.png', 'digit-1.png', 'notes.txt', 'readme.md']);
    expect(rows.slice(2).map((x) => x.skipped)).toEqual([
      'not an image file (by its extension)',
      'not an image file (by its extension)',
    ]);
    expect(rows[0].skipped).toBeUndefined();
  });

  it('a directory of images only says nothing about skipping', async () => {
    const dir = tempDir();
    await scans(dir, []);
    const r = await runCli(['predict', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('skipped');
  });
});
