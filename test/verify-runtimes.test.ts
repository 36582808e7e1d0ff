// `digitkit verify --runtime node,chromium,firefox,deno,bun,onnxruntime`: the same fixtures through
// the shipped modules (the core and core-wasm, by default) in every runtime (real Chromium, Firefox ESR, Deno, Bun, onnxruntime), one table;
// a core with a changed constant fails in every JavaScript runtime (exit 1), and its JUnit file
// validates against the JUnit schema CI reporters read (test/fixtures/junit.xsd, with xmllint compiled
// to WebAssembly) and names the failing cases; GitHub Actions annotations and step summary; every
// runtime that is missing is exit 4 naming how to install it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { formatFixtures } from '../src/verify/fixtures-file.js';
import { runFixtures } from '../src/verify/fixtures.js';
import { ROOT, runCli } from './helpers/cli.js';
import { breastCancer, coreVariant, fixturesFor } from './helpers/fixtures-for.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const dir = tempDir('digitkit-verify-runtimes-');
const model = path.join(dir, 'model.json');
const fixtures = path.join(dir, 'parity.json');
const COUNT = 25;
const CORE = path.join(ROOT, 'dist/core/index.js');
const JS = ['node', 'chromium', 'firefox', 'deno', 'bun'];
const ALL = [...JS, 'onnxruntime'];
const SCHEMA = fs.readFileSync(path.join(ROOT, 'test/fixtures/junit.xsd'), 'utf8');

beforeAll(async () => {
  writeRandomModel(dir, 'model.json', { seed: 71, perChannel: true });
  await runFixtures({ model, out: fixtures, count: COUNT, data: embeddedMnistDir() });
});

const verify = (args: string[], env: Record<string, string | undefined> = {}, cwd?: string) =>
  runCli(['verify', '--model', model, '--fixtures', fixtures, ...args], { env: { GITHUB_ACTIONS: '', ...env }, cwd });

async function schemaErrors(xml: string): Promise<string[]> {
  const r = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [SCHEMA] });
  return r.errors.map((e) => e.rawMessage);
}

/** testsuite name -> the names of its testcases that hold a <failure> (or <error>). */
function failingCases(xml: string, tag: 'failure' | 'error' = 'failure'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const suite of xml.split('<testsuite ').slice(1)) {
    const name = /^name="([^"]*)"/.exec(suite)![1];
    const cases = [...suite.matchAll(new RegExp(`<testcase name="([^"]*)"[^>]*>\\s*<${tag} `, 'g'))].map((m) => m[1]);
    out.set(name, cases);
  }
  return out;
}

describe('digitkit verify --runtime', () => {
  it('on the shipped model: the shipped core passes in node, chromium, firefox, deno, bun and onnxruntime; a core with a changed constant fails in every JavaScript runtime (exit 1); the JUnit file validates and names the failing cases', async () => {
    // The exponent of the exact packed first layer (two int8 columns per float64 lane): 2**26 -> 2**25.
    const broken = coreVariant(dir, 'changed-constant.js', (js) => js.replaceAll('2**26', '2**25'));
    const junit = path.join(dir, 'all.xml');
    const summary = path.join(dir, 'summary.md');
    fs.writeFileSync(summary, '');
    const r = await runCli(['verify', '--runtime', ALL.join(','), '--core', CORE, '--core', broken, '--junit', junit], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    // The table (not the annotations: printed under a real GitHub Actions run they would become its own).
    console.log(
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::'))
        .join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    const brokenRows = JS.map((rt) => `${rt} (${broken})`);
    expect(lines.pop()).toBe(`PARITY FAILED in ${brokenRows.join(', ')} (5 of 11 checks)`);
    for (const [rt, version] of [
      ['node', /Node\.js \d+\.\d+\.\d+/],
      ['chromium', /Chromium \d+\.[\d.]+/],
      ['firefox', /Firefox \d+\.[\d.]+/],
      ['deno', /Deno \d+\.\d+\.\d+/],
      ['bun', /Bun \d+\.\d+\.\d+/],
      ['onnxruntime', /onnxruntime 1\.30\.\d+/],
    ] as const) {
      const name = rt === 'onnxruntime' ? rt : `${rt} (dist/core/index.js)`;
      const row = lines.find((l) => l.startsWith(name + ' '));
      expect(row, r.stdout).toMatch(
        new RegExp(
          `^${name.replace(/[().]/g, '\\$&')} +${version.source} +(\\S+) +t10k-\\d+, \\d +\\d+/100 +\\d+\\.\\d\\d s`,
        ),
      );
      expect(Number(row!.split(/ {2,}/)[2])).toBeLessThanOrEqual(1e-6);
    }
    // JUnit: a testsuite per row; the shipped core's pass, the changed core's name their failing cases.
    const xml = fs.readFileSync(junit, 'utf8');
    expect(await schemaErrors(xml)).toEqual([]);
    expect(xml.match(/<testsuite /g)).toHaveLength(11);
    expect(xml.match(/<testcase /g)).toHaveLength(1100);
    const failing = failingCases(xml);
    const json = JSON.parse((await runCli(['verify', '--core', broken, '--json'])).stdout);
    const ids = json.failures.map((f: { id: string }) => f.id).sort();
    expect(ids.length).toBeGreaterThan(10);
    for (const rt of JS) {
      expect(failing.get(`${rt} (${broken})`)!.slice().sort(), rt).toEqual(ids);
      expect(failing.get(`${rt} (dist/core/index.js)`), rt).toEqual([]);
    }
    expect(failing.get('onnxruntime')).toEqual([]);
    expect(xml.match(new RegExp(`failures="${ids.length}" errors="0"`, 'g'))).toHaveLength(5);
    expect(xml).toMatch(
      /<failure message="class \d: expected [\d.e-]+, got [\d.e-]+ \(\|Δp\| [\d.e+-]+ &gt; 1\.000e-6\)" type="ParityError">/,
    );
    // GitHub: an error annotation on the model file per failing row, then on the fixtures lines of failing cases.
    const notes = lines.filter((l) => l.startsWith('::error '));
    expect(notes).toHaveLength(10);
    expect(notes[0]).toMatch(
      /^::error file=models\/mnist-int8\.json,title=digitkit verify%3A PARITY FAILED in node \(.*changed-constant\.js\) \(Node\.js [\d.]+\)::\d+ of 100 cases outside tolerance/,
    );
    const caseNote = notes.find((l) => l.startsWith('::error file=fixtures/parity.json,line='))!;
    const [, line, id] = /,line=(\d+),title=node \(.*\)%3A case (t10k-\d+) outside tolerance::/.exec(caseNote)!;
    expect(fs.readFileSync(path.join(ROOT, 'fixtures/parity.json'), 'utf8').split('\n')[Number(line) - 1]).toContain(
      `"id":"${id}"`,
    );
    const md = fs.readFileSync(summary, 'utf8');
    expect(md).toContain('### digitkit verify: PARITY FAILED');
    for (const rt of JS)
      expect(md).toMatch(
        new RegExp(`^\\| ${rt} \\(.*changed-constant\\.js\\) \\| .+ \\| ❌ ${ids.length} cases \\|$`, 'm'),
      );
    expect(md).toMatch(/^\| onnxruntime \| onnxruntime 1\.30\.\d+ \| .+ \| ✅ ok \|$/m);
  });

  it('a vector model (values cases, fixtures v2) and a 3-channel image model pass in node, chromium, deno, bun and onnxruntime', async () => {
    const { x, y } = breastCancer();
    const vec = writeRandomModel(dir, 'cancer.json', {
      seed: 72,
      shape: [30, 12, 2],
      input: { kind: 'vector', size: 30, offset: x[0].map((_, j) => x[j % 5][j]), scale: new Array(30).fill(0.01) },
      labels: ['malignant', 'benign'],
    });
    const rgb = writeRandomModel(dir, 'rgb.json', {
      seed: 73,
      shape: [6 * 5 * 3, 8, 3],
      input: { kind: 'image', width: 6, height: 5, channels: 3, scale: 1 / 255, preprocess: 'resize' },
      labels: ['r', 'g', 'b'],
    });
    const pick = Array.from({ length: 20 }, (_, k) => k * 25);
    const images = pick.map((k) => Array.from({ length: 90 }, (_, i) => (k * 7 + i * 31) % 256));
    for (const [m, fx] of [
      [
        vec,
        fixturesFor(
          vec,
          pick.map((i) => x[i]),
          pick.map((i) => y[i]),
          true,
        ),
      ],
      [
        rgb,
        fixturesFor(
          rgb,
          images,
          pick.map((i) => i % 3),
          false,
        ),
      ],
    ] as const) {
      const file = m.replace(/\.json$/, '-fixtures.json');
      fs.writeFileSync(file, formatFixtures(fx));
      const r = await runCli(
        ['verify', '--model', m, '--fixtures', file, '--runtime', 'node,chromium,deno,bun,onnxruntime', '--json'],
        {
          env: { GITHUB_ACTIONS: '' },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout).rows;
      for (const row of rows) expect(row.max.diff, row.name).toBeLessThanOrEqual(1e-6);
      // Both shipped modules in each JavaScript runtime: core-wasm runs its kernel in all four.
      expect(rows.map((x: { name: string; engine?: string }) => [x.name, x.engine ?? null])).toEqual([
        ...['node', 'chromium', 'deno', 'bun'].flatMap((rt) => [
          [`${rt} (dist/core/index.js)`, null],
          [`${rt} (dist/core-wasm/index.js)`, 'wasm'],
        ]),
        ['onnxruntime', null],
      ]);
    }
  });

  it('a module that throws in one runtime only: that row is an error (its cases <error> in JUnit), the others pass, exit 1', async () => {
    const core = coreVariant(dir, 'deno-only-bug.js', (js) =>
      js.replace(
        'export const classifyPixels=classify(forwardPixels,"pixels")\n',
        'const classifyExact=classify(forwardPixels,"pixels")\n' +
          "export const classifyPixels=(m,p)=>{if(typeof Deno!='undefined')throw new TypeError('no Deno here');return classifyExact(m,p)}\n",
      ),
    );
    const junit = path.join(dir, 'deno.xml');
    const r = await verify(['--runtime', 'node,deno,bun', '--core', core, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^deno +Deno [\d.]+ +error +– +0\/25/m);
    expect(r.stdout).toContain('  deno: the module failed: TypeError: no Deno here');
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY FAILED in deno (1 of 3 runtimes)');
    const xml = fs.readFileSync(junit, 'utf8');
    expect(await schemaErrors(xml)).toEqual([]);
    expect(failingCases(xml, 'error').get('deno')).toHaveLength(COUNT);
    expect(failingCases(xml, 'error').get('node')).toHaveLength(0);
    // One runtime: the report as verify always printed it, the failure named on stderr.
    const one = await verify(['--runtime', 'deno', '--core', core]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(
      /^digitkit verify: the core at .*deno-only-bug\.js failed in Deno [\d.]+: TypeError: no Deno here\n$/,
    );
  });

  it('--core twice: a row per module in each JavaScript runtime, onnxruntime once', async () => {
    const copy = path.join(dir, 'copy', 'index.js');
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(CORE, copy);
    const r = await verify(['--runtime', 'node,bun,onnxruntime', '--core', CORE, '--core', copy, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.rows.map((x: { name: string }) => x.name)).toEqual([
      'node (dist/core/index.js)',
      `node (${copy})`,
      'bun (dist/core/index.js)',
      `bun (${copy})`,
      'onnxruntime',
    ]);
  });

  it('a runtime that is not installed is exit 4 naming how to install it; unknown runtimes and stray flags are exit 2', async () => {
    const missing = path.join(dir, 'no-such-binary');
    for (const [rt, env, how] of [
      ['firefox', 'DIGITKIT_FIREFOX', 'apt-get install firefox-esr'],
      ['deno', 'DIGITKIT_DENO', 'npm install --save-dev deno'],
      ['bun', 'DIGITKIT_BUN', 'npm install --save-dev bun'],
      ['chromium', 'DIGITKIT_CHROMIUM', 'apt-get install chromium'],
    ]) {
      const r = await verify(['--runtime', `node,${rt}`], { [env]: missing });
      expect(r.code, rt).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`${missing} (from ${env}) is not an executable file`);
      expect(r.stderr).toContain(how);
    }
    const bad = await verify(['--runtime', 'node,safari']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown runtime "safari" (expected node, chromium, firefox, deno, bun, onnxruntime)');
    expect((await verify(['--runtime', 'node', '--chromium', '/usr/bin/chromium'])).code).toBe(2);
  });

  it('onnxruntime-node missing (an install without it, run from outside any project): exit 4 with the install line', async () => {
    // A copy of the built package whose node_modules lacks onnxruntime-node (the rest linked).
    const pkg = path.join(dir, 'no-ort');
    fs.mkdirSync(path.join(pkg, 'node_modules'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.cpSync(path.join(ROOT, 'bin'), path.join(pkg, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    for (const name of fs.readdirSync(path.join(ROOT, 'node_modules')))
      if (name !== 'onnxruntime-node' && name !== '.bin')
        fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(pkg, 'node_modules', name));
    const s = spawnSync(
      process.execPath,
      [
        path.join(pkg, 'bin/digitkit.js'),
        'verify',
        '--runtime',
        'onnxruntime',
        '--model',
        model,
        '--fixtures',
        fixtures,
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(s.status).toBe(4);
    expect(s.stderr).toContain(
      'onnxruntime-node is not installed; install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@~1.30.0`',
    );
  });
});
