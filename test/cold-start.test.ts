// `digitkit predict` and `digitkit --version` start from one bundled file (dist/cli/hot.js, see
// src/cli/hot.ts): it must load only that file of digitkit's and none of the built-ins predict does not
// need, and say and exit exactly what the full program (dist/cli/main.js) does. Its speed is measured by
// `npm run bench -- predict`, not here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './helpers/cli.js';
import { digitAt, loadT10k } from './helpers/render.js';
import { tempDir } from './helpers/random-model.js';

const tmp = tempDir('digitkit-cold-');
const png = path.join(tmp, 'seven.png');
const csv = path.join(tmp, 'rows.csv');

beforeAll(async () => {
  // A real t10k digit (index 0, a 7), dark on white at 120 px on a 200x200 canvas, as the bench draws it.
  const digit = await sharp(Buffer.from(digitAt(await loadT10k(), 0).pixels), {
    raw: { width: 28, height: 28, channels: 1 },
  })
    .negate()
    .resize(120, 120, { kernel: 'cubic' })
    .png()
    .toBuffer();
  await sharp({ create: { width: 200, height: 200, channels: 3, background: '#ffffff' } })
    .composite([{ input: digit, left: 30, top: 40 }])
    .png()
    .toFile(png);
  fs.writeFileSync(csv, 'a,b\n1,2\n');
});

/** Run the CLI through bin/digitkit.js, or through the full program with every command (`full`). */
function run(args: string[], full = false, extra: string[] = []) {
  const entry = path.join(tmp, 'full.mjs');
  if (full && !fs.existsSync(entry))
    fs.writeFileSync(
      entry,
      `const { main } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/cli/main.js')).href)});\nawait main(process.argv);\n`,
    );
  const r = spawnSync(process.execPath, [...extra, full ? entry : BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the hot path (dist/cli/hot.js)', () => {
  it('predict loads one file of digitkit besides the bin, and not node:child_process, node:crypto or node:worker_threads', () => {
    const log = path.join(tmp, 'loaded.txt');
    // Every module file the run loads (ESM loader hooks) and, at exit, every built-in (process.moduleLoadList).
    const hooks = path.join(tmp, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      `import fs from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) fs.appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}`,
    );
    const register = path.join(tmp, 'register.mjs');
    fs.writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const r = run(['predict', png], false, ['--import', pathToFileURL(register).href]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/seven\.png\s+7\s/);
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    const ours = lines
      .filter((l) => l.startsWith(pathToFileURL(ROOT).href + '/'))
      .map((l) => l.slice(pathToFileURL(ROOT).href.length + 1));
    expect(ours.filter((f) => !f.startsWith('node_modules/'))).toEqual(['bin/digitkit.js', 'dist/cli/hot.js']);
    expect(ours.filter((f) => f.startsWith('node_modules/'))).toEqual([]); // commander is in the bundle
    // Built-ins in a run without the hooks (they run on a worker thread of their own).
    const preload = path.join(tmp, 'builtins.cjs');
    const builtins = path.join(tmp, 'builtins.txt');
    fs.writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(builtins)}, process.moduleLoadList.join('\\n')));`,
    );
    expect(run(['predict', png], false, ['--require', preload])).toEqual(r);
    const loaded = fs.readFileSync(builtins, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule zlib'); // the PNG's inflate: the list is real
    for (const builtin of ['child_process', 'crypto', 'worker_threads'])
      expect(loaded).not.toContain(`NativeModule ${builtin}`);
  });

  it('says and exits exactly what the full program does: results, --json, help, bad input, usage errors, --version', () => {
    const cases = [
      ['predict', png],
      ['predict', png, '--json', '--top', '2'],
      ['predict', png, path.join(tmp, 'missing.png')],
      ['predict', csv],
      ['predict', png, '--top', '0'],
      ['predict', png, '--invert', 'sideways'],
      ['predict', png, '--model', path.join(tmp, 'no-model.json')],
      ['predict', png, '--nope'],
      ['predict'],
      ['predict', '--help'],
      ['--version'],
      ['-V'],
    ];
    for (const args of cases) {
      const hot = run(args);
      const full = run(args, true);
      expect({ args, ...hot }).toEqual({ args, ...full });
    }
    // The cases cover success, rejected images (5), bad input (3) and usage errors (2).
    const codes = new Set(cases.map((a) => run(a).code));
    expect([...codes].sort()).toEqual([0, 2, 3, 5]);
  });
});
