// `digitkit verify`: the shipped modules (dist/core/index.js and dist/core-wasm/index.js) against
// fixtures made by the float64 reference, and every way of breaking that chain: tampered model,
// tampered fixtures, degraded core.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { runFixtures } from '../src/verify/fixtures.js';
import { SHIPPED_CORE } from '../src/node/paths.js';
import { compareProbs, runVerify } from '../src/verify/verify.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const DATA = embeddedMnistDir();
const dir = tempDir();
const model = path.join(dir, 'model.json');
const fixtures = path.join(dir, 'parity.json');
const COUNT = 30;

beforeAll(async () => {
  writeRandomModel(dir, 'model.json', { seed: 12 });
  await runFixtures({ model, out: fixtures, count: COUNT, data: DATA });
});

const verify = (args: string[] = [], m = model, f = fixtures): Promise<CliResult> =>
  runCli(['verify', '--model', m, '--fixtures', f, ...args]);

/** Write an edited copy of a file; `edit` gets and returns the text. */
function edited(file: string, name: string, edit: (text: string) => string): string {
  const out = path.join(dir, name);
  const text = fs.readFileSync(file, 'utf8');
  const changed = edit(text);
  expect(changed).not.toBe(text);
  fs.writeFileSync(out, changed);
  return out;
}

const REGENERATE = (m: string) => `regenerate the fixtures with \`digitkit fixtures --model ${m} --out ${fixtures}\``;

/** The table row of one module in one runtime: [version, engine, max |Δp|, case and class, correct]. */
function rowOf(stdout: string, name: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(name + '  '));
  expect(line, stdout).toBeDefined();
  return line!.slice(name.length).trim().split(/ {2,}/);
}

describe('digitkit verify on intact files', () => {
  it('by default runs the cases through both shipped modules, the core and core-wasm (its kernel), a row each (exit 0)', async () => {
    const r = await verify();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const core = rowOf(r.stdout, 'node (dist/core/index.js)');
    const wasm = rowOf(r.stdout, 'node (dist/core-wasm/index.js)');
    expect(core.slice(0, 2)).toEqual([`Node.js ${process.versions.node}`, '–']);
    expect(wasm.slice(0, 2)).toEqual([`Node.js ${process.versions.node}`, 'wasm']);
    for (const row of [core, wasm]) {
      expect(Number(row[2])).toBeLessThanOrEqual(1e-6);
      expect(row[3]).toMatch(/^t10k-\d+, \d$/);
      expect(row[4]).toMatch(new RegExp(`^\\d+/${COUNT}$`));
    }
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK in 2 checks (2 modules, 1 runtime)');
    const doc = JSON.parse((await verify(['--json'])).stdout);
    expect(doc.rows.map((x: { module: string; engine?: string }) => [x.module, x.engine])).toEqual([
      ['dist/core/index.js', undefined],
      ['dist/core-wasm/index.js', 'wasm'],
    ]);
  });

  it('one module (--core): prints max |Δp| with its case and class, cases correct N/M and PARITY OK (exit 0)', async () => {
    const r = await verify(['--core', SHIPPED_CORE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^max \|Δp\| {2}(0|\d(\.\d+)?e-\d+) \(case t10k-\d+, class \d\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^correct {3}\\d+/${COUNT} cases$`, 'm'));
    expect(r.stdout).toContain('core      dist/core/index.js');
    expect(r.stdout.trim().split('\n').pop()).toBe('PARITY OK');
  });

  it('--json gives the whole report', async () => {
    const r = await verify(['--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      ok: true,
      cases: COUNT,
      tolerance: 1e-6,
      failures: [],
      fixtures,
      model: { path: model },
    });
    expect(doc.max.diff).toBeLessThanOrEqual(1e-6);
  });

  it('the shipped core matches the reference on the fixtures far inside 1e-6, for every kind of model', async () => {
    for (const [name, o] of [
      ['pc.json', { seed: 13, perChannel: true }],
      ['f32.json', { seed: 14, dtype: 'float32' as const }],
    ] as const) {
      const m = writeRandomModel(dir, name, o);
      const f = path.join(dir, `fx-${name}`);
      await runFixtures({ model: m, out: f, count: 20, data: DATA });
      const r = await runVerify({ model: m, fixtures: f });
      expect(r.core).toBe(path.relative(process.cwd(), SHIPPED_CORE));
      expect(r.ok).toBe(true);
      expect(r.max!.diff).toBeLessThan(1e-12);
    }
  });
});

describe('digitkit verify catches tampering', () => {
  it('one weight byte changed in the model: sha256 mismatch, exit 3, names the regenerate command', async () => {
    const m = edited(model, 'byte.json', (text) => {
      const doc = JSON.parse(text);
      const w = Buffer.from(doc.layers[0].w, 'base64');
      w[1000] = w[1000] === 5 ? 6 : 5; // one int8 weight, still a valid value
      return text.replace(doc.layers[0].w, w.toString('base64'));
    });
    const r = await verify([], m);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${m}: sha256 `);
    expect(r.stderr).toContain(
      `is not ${JSON.parse(fs.readFileSync(fixtures, 'utf8')).model.sha256}, the model ${fixtures} was made for`,
    );
    expect(r.stderr).toContain(REGENERATE(m));
  });

  it('one scale changed in the model: the same', async () => {
    const m = edited(model, 'scale.json', (text) =>
      text.replace(/"scale":([0-9.e-]+)/, (_, s) => `"scale":${Number(s) * 1.0001}`),
    );
    const r = await verify(['--json'], m);
    expect(r.code).toBe(3);
    const { error } = JSON.parse(r.stdout);
    expect(error.code).toBe(3);
    expect(error.message).toContain('sha256');
    expect(error.message).toContain(REGENERATE(m));
  });

  it('one expected probability moved by 2e-6: PARITY FAILED naming the case and class, exit 1', async () => {
    const doc = JSON.parse(fs.readFileSync(fixtures, 'utf8'));
    const c = doc.cases[7];
    const f = edited(fixtures, 'moved.json', (text) =>
      text.replace(
        JSON.stringify(c.probs),
        JSON.stringify(c.probs.map((p: number, j: number) => (j === 3 ? p + 2e-6 : p))),
      ),
    );
    const r = await verify(['--core', SHIPPED_CORE], model, f);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^max \\|Δp\\| {2}2(\\.\\d+)?e-6 \\(case ${c.id}, class 3\\)$`, 'm'));
    expect(r.stdout).toContain(`  ${c.id} class 3: expected`);
    expect(r.stdout.trim().split('\n').pop()).toBe(`PARITY FAILED (1 of ${COUNT} cases outside tolerance)`);
    // By default both modules fail on it, each row naming the case.
    const both = await verify([], model, f);
    expect(both.code).toBe(1);
    for (const m of ['dist/core/index.js', 'dist/core-wasm/index.js']) {
      expect(rowOf(both.stdout, `node (${m})`)[3]).toBe(`${c.id}, 3`);
      expect(both.stdout).toContain(`  node (${m}): ${c.id} class 3: expected`);
    }
    expect(both.stdout.trim().split('\n').pop()).toBe(
      'PARITY FAILED in node (dist/core/index.js), node (dist/core-wasm/index.js) (2 of 2 checks)',
    );
    // A looser tolerance on the command line lets the same edit through.
    expect((await verify(['--tolerance', '1e-5'], model, f)).code).toBe(0);
  });

  it('a core whose weights are rounded to float16: PARITY FAILED, exit 1', async () => {
    const core = path.join(dir, 'degraded-core.mjs');
    const real = JSON.stringify(pathToFileURL(SHIPPED_CORE).href);
    fs.writeFileSync(
      core,
      `
      import * as real from ${real};
      export * from ${real};
      // Round to the nearest float16 (11 significant bits).
      const f16 = (x) => { if (x === 0) return 0; const u = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10); return Math.round(x / u) * u; };
      export function loadModel(text, source) {
        const m = real.loadModel(text, source);
        for (const l of m.layers) for (let i = 0; i < l.w.length; i++) l.w[i] = f16(l.w[i]);
        return m;
      }
    `,
    );
    const r = await verify(['--core', core]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`core      ${core}`);
    expect(r.stdout).toMatch(/^ {2}t10k-\d+ class \d: expected \S+, got \S+ \(\|Δp\| \S+ > 1e-6\)$/m);
    expect(r.stdout.trim().split('\n').pop()).toMatch(
      new RegExp(`^PARITY FAILED \\(\\d+ of ${COUNT} cases outside tolerance\\)$`),
    );
  });

  it('a core that returns fewer probabilities cannot pass', () => {
    const cases = [{ id: 'a', label: 1, pixels: '', probs: [0.25, 0.75] }];
    expect(compareProbs(cases, [[0.25]], 1).ok).toBe(false);
    expect(compareProbs(cases, [[0.25, NaN]], 1).ok).toBe(false);
    expect(compareProbs(cases, [[0.25, 0.75, 0]], 1).ok).toBe(false);
    expect(compareProbs(cases, [[0.25, 0.75]], 0)).toMatchObject({ ok: true, correct: 1, max: { id: 'a', diff: 0 } });
  });
});

describe('digitkit verify on unusable input (exit 3)', () => {
  it('fixtures with no cases', async () => {
    const f = edited(fixtures, 'empty.json', (text) => JSON.stringify({ ...JSON.parse(text), cases: [] }));
    const r = await verify([], model, f);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${f}: cases is empty: there is nothing to verify`);
  });

  it('a case that does not fit the model', async () => {
    const f = edited(fixtures, 'short.json', (text) => {
      const doc = JSON.parse(text);
      doc.cases[2].probs.pop();
      return JSON.stringify(doc);
    });
    const r = await verify([], model, f);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /cases\[2\] \(t10k-\d+\): probs has 9 entries, the model has 10 classes; regenerate the fixtures with/,
    );
  });

  it('missing model, missing fixtures, unloadable core', async () => {
    const noModel = await verify([], path.join(dir, 'nope.json'));
    expect(noModel.code).toBe(3);
    expect(noModel.stderr).toContain('nope.json: no such model file');
    const noFixtures = await verify([], model, path.join(dir, 'nope-fx.json'));
    expect(noFixtures.code).toBe(3);
    expect(noFixtures.stderr).toContain('nope-fx.json: no such fixtures file (make one with `digitkit fixtures');
    const broken = path.join(dir, 'broken-core.mjs');
    fs.writeFileSync(broken, 'export const = ;');
    const noCore = await verify(['--core', broken]);
    expect(noCore.code).toBe(3);
    expect(noCore.stderr).toContain(`${broken}: cannot load the core module`);
  });
});

describe('the gate cannot be loosened from inside the fixtures file (--max-tolerance)', () => {
  /** The attack: every expected probability 0.1 and a tolerance wide enough to pass anything. */
  const loosened = (name: string, tolerance: number) =>
    edited(fixtures, name, (text) => {
      const doc = JSON.parse(text);
      for (const c of doc.cases) c.probs = c.probs.map(() => 0.1);
      return JSON.stringify({ ...doc, tolerance });
    });

  it('a file asking for tolerance 1 or 1e308 is refused, exit 3 naming the value, in every runtime', async () => {
    for (const [tol, shown] of [
      [1, '1'],
      [1e308, '1e+308'],
    ] as const) {
      const f = loosened(`loose-${tol}.json`, tol);
      for (const extra of [[], ['--runtime', 'node,chromium,firefox,deno,bun,onnxruntime']]) {
        const r = await verify(extra, model, f);
        expect(r.code).toBe(3);
        expect(r.stdout).not.toContain('PARITY OK');
        expect(r.stderr).toContain(`${f}: tolerance ${shown} is above the maximum 1e-6 (`);
        expect(r.stderr).toContain('--max-tolerance');
      }
    }
    // The library refuses it the same way.
    const f = loosened('loose-lib.json', 1);
    await expect(runVerify({ model, fixtures: f })).rejects.toMatchObject({ code: 3 });
  });

  it('a tolerance just above 1e-6 is refused; --max-tolerance lets the caller accept it, and says so', async () => {
    const f = edited(fixtures, 'tol2e-6.json', (text) => JSON.stringify({ ...JSON.parse(text), tolerance: 2e-6 }));
    expect((await verify([], model, f)).code).toBe(3);
    const r = await verify(['--max-tolerance', '1e-5'], model, f);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`cases     ${COUNT} from ${f}, tolerance 2e-6 (fixtures, max 1e-5)`);
    const bad = await verify(['--max-tolerance', '-1'], model, f);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-tolerance -1: expected a finite number >= 0');
  });

  it('always prints the tolerance applied and whose it is, in text and --json', async () => {
    const plain = await verify();
    expect(plain.stdout).toContain(`cases     ${COUNT} from ${fixtures}, tolerance 1e-6 (fixtures, max 1e-6)`);
    const doc = JSON.parse((await verify(['--json'])).stdout);
    expect(doc).toMatchObject({ tolerance: 1e-6, toleranceFrom: 'fixtures', maxTolerance: 1e-6 });
    // The caller's --tolerance is the caller's choice (not the file's), shown as such, in every runtime.
    const own = await verify(['--tolerance', '1e-5', '--runtime', 'node,deno']);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(`cases     ${COUNT} from ${fixtures}, tolerance 1e-5 (--tolerance)`);
    const ownJson = JSON.parse((await verify(['--tolerance', '1e-5', '--json'])).stdout);
    expect(ownJson).toMatchObject({ tolerance: 1e-5, toleranceFrom: 'option' });
  });
});
