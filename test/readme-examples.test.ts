// The README's example outputs are real (issue 18): each `$ digitkit …` example below is run as
// written, in a scratch directory laid out as a fresh clone is (copies of models/ and fixtures/, dist/ from this
// repository, data/mnist from `digitkit download`), and every line the README shows must be a line of
// the real output, in order. Where the README leaves real lines out, it says so with a line "…" at
// that place (a cut without "…" fails). Timings and runtime versions are compared as placeholders.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { nonDigitPng } from './helpers/non-digits.js';
import { tempDir } from './helpers/random-model.js';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const FASHION = '/usr/share/datasets/fashion-mnist';

/** Every `$ digitkit …` command in the README's code blocks, with the lines shown under it. */
function examples(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let inBlock = false;
  let current: string[] | null = null;
  for (const line of README.split('\n')) {
    if (line.startsWith('```')) {
      inBlock = !inBlock;
      current = null;
      continue;
    }
    if (!inBlock) continue;
    const cmd = /^\$ (?:npx )?(digitkit .*?)\s*(#.*)?$/.exec(line);
    if (cmd) {
      current = [];
      // The same command twice (download, then again): numbered.
      let key = cmd[1];
      for (let k = 2; out.has(key); k++) key = `${cmd[1]} #${k}`;
      out.set(key, current);
    } else current?.push(line);
  }
  return out;
}

/** Times and runtime versions vary from run to run and host to host; column widths with the paths. */
const normal = (l: string) =>
  l
    .replace(/\d+(\.\d+)? s\b/g, 'T s')
    .replace(/Node\.js \d+\.\d+\.\d+/g, 'Node.js V')
    .replace(/\s+/g, ' ')
    .trim();

/** The README's lines must be the real output's lines in order, each cut marked by "…". */
function checkShown(cmd: string, shown: string[], real: string[]): void {
  // Blank lines are layout, not content.
  const want = shown.filter((l) => l.trim() !== '');
  const got = real.map(normal);
  let at = 0;
  let cut = false;
  for (const line of want) {
    if (line.trim() === '…') {
      cut = true;
      continue;
    }
    const j = got.indexOf(normal(line), at);
    expect(
      j,
      `${cmd}: README line not in the real output (from line ${at}):\n${line}\nreal:\n${real.join('\n')}`,
    ).toBeGreaterThanOrEqual(0);
    if (j > at)
      expect(
        cut,
        `${cmd}: README leaves out real lines before "${line}" without "…":\n${real.slice(at, j).join('\n')}`,
      ).toBe(true);
    cut = false;
    at = j + 1;
  }
  if (at < got.length)
    expect(cut, `${cmd}: README ends before the real output does, without "…":\n${real.slice(at).join('\n')}`).toBe(
      true,
    );
}

const ex = examples();
let dir: string;

beforeAll(async () => {
  dir = tempDir('digitkit-readme-');
  for (const d of ['models', 'fixtures']) {
    fs.mkdirSync(path.join(dir, d));
    for (const f of fs.readdirSync(path.join(ROOT, d)))
      if (f.endsWith('.json')) fs.copyFileSync(path.join(ROOT, d, f), path.join(dir, d, f));
  }
  fs.symlinkSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
  fs.mkdirSync(path.join(dir, 'pictures'));
  for (const n of ['scribble', 'A', 'dot'])
    fs.writeFileSync(path.join(dir, 'pictures', `${n}.png`), await nonDigitPng(n));
  if (fs.existsSync(FASHION)) {
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.symlinkSync(FASHION, path.join(dir, 'data', 'fashion-mnist'));
  }
});

/** Run a README command as written, in the scratch clone: its stdout lines, then its stderr lines. */
async function run(cmd: string): Promise<string[]> {
  const args = cmd
    .replace(/ #\d+$/, '')
    .split(/\s+/)
    .slice(1);
  const r = await runCli(args, { cwd: dir, timeoutMs: 120_000 });
  expect(r.signal, `${cmd}: ${r.stderr}`).toBeNull();
  // The package's own files (the default core) are named from the package: shown relative, as from a clone.
  return [...r.stdout.split('\n'), ...r.stderr.split('\n')]
    .map((l) => l.replaceAll(`${ROOT}/`, '').trimEnd())
    .filter((l) => l !== '');
}

// In this order: download first (it makes data/mnist, which the others read).
const RUN = [
  'digitkit download',
  'digitkit download #2',
  'digitkit verify',
  'digitkit verify --core dist/core-wasm/index.js',
  'digitkit export --onnx mnist.onnx',
  'digitkit eval --compare models/mnist-f32.json',
  'digitkit eval --confidence',
  'digitkit predict pictures/ --min-confidence 0.56',
  'digitkit quantize',
  'digitkit quantize --auto --max-bytes 90000',
  ...(fs.existsSync(FASHION) ? ['digitkit inspect data/fashion-mnist'] : []),
];

describe('README examples are real output, cuts marked with "…"', () => {
  it('the README has each example this test runs', () => {
    for (const cmd of RUN) expect(ex.has(cmd), cmd).toBe(true);
  });
  for (const cmd of RUN)
    it(
      cmd,
      async () => {
        checkShown(cmd, ex.get(cmd)!, await run(cmd));
      },
      180_000,
    );
});
