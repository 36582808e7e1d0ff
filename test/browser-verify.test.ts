// `digitkit verify --browser`: the fixtures through the shipped modules (the core, and core-wasm on
// its WebAssembly SIMD kernel) inside headless Chromium, through the real CLI. Parity in both runtimes; a core that is wrong (or does not load) only in a browser is
// caught there; no Chromium is exit 4, never a pass. The shipped model and fixtures are checked last
// (and fail, saying so, until they are committed).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { runFixtures } from '../src/verify/fixtures.js';
import { ROOT, runCli } from './helpers/cli.js';
import { coreVariant } from './helpers/fixtures-for.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const dir = tempDir('digitkit-browser-verify-');
const model = path.join(dir, 'model.json');
const fixtures = path.join(dir, 'parity.json');
const COUNT = 30;
const CORE = path.join(ROOT, 'dist/core/index.js');
const CHROMIUM_LINE = /^browser {3}Chromium \d+\.\d+\.\d+\.\d+ \(headless\)$/m;

beforeAll(async () => {
  writeRandomModel(dir, 'model.json', { seed: 41, perChannel: true });
  await runFixtures({ model, out: fixtures, count: COUNT, data: embeddedMnistDir() });
});

const verify = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(['verify', '--model', model, '--fixtures', fixtures, ...args], { env });

const maxOf = (stdout: string, where: string) => {
  const m = new RegExp(`^max \\|Δp\\| {2}(\\S+) \\(case t10k-\\d+, class \\d\\)${where}$`, 'm').exec(stdout);
  expect(m, stdout).not.toBeNull();
  return Number(m![1]);
};

describe('digitkit verify --browser', () => {
  it('runs both shipped modules in Chromium by default (core-wasm on its kernel there), a row each within 1e-6', async () => {
    const r = await verify(['--browser', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.rows.map((x: { name: string; engine?: string }) => [x.name, x.engine])).toEqual([
      ['chromium (dist/core/index.js)', undefined],
      ['chromium (dist/core-wasm/index.js)', 'wasm'],
    ]);
    for (const row of doc.rows) {
      expect(row.version).toMatch(/^Chromium \d+\./);
      expect(row.max.diff).toBeLessThanOrEqual(1e-6);
    }
  });

  it('passes in Chromium as in Node: PARITY OK, max |Δp| <= 1e-6 in both, labelled with the browser version', async () => {
    const [browser, node] = [await verify(['--browser', '--core', CORE]), await verify(['--core', CORE])];
    expect(browser.stderr).toBe('');
    expect(browser.code).toBe(0);
    expect(browser.stdout).toMatch(CHROMIUM_LINE);
    expect(browser.stdout).toContain('core      dist/core/index.js');
    expect(browser.stdout).toMatch(new RegExp(`^correct {3}\\d+/${COUNT} cases$`, 'm'));
    expect(browser.stdout.trim().split('\n').pop()).toBe('PARITY OK');
    expect(maxOf(browser.stdout, ' in Chromium \\d+\\.[\\d.]+')).toBeLessThanOrEqual(1e-6);
    expect(node.code).toBe(0);
    expect(maxOf(node.stdout, '')).toBeLessThanOrEqual(1e-6);
  });

  it('catches a core that is wrong only in a browser (Node passes it; --browser exits 1, --json names the cases)', async () => {
    const core = coreVariant(dir, 'browser-only-bug.js', (js) =>
      // The shipped core is minified (one statement per line, local names renamed; top-level names kept).
      js.replace(
        'export const classifyPixels=classify(forwardPixels,"pixels")\n',
        'const classifyExact=classify(forwardPixels,"pixels")\n' +
          "export const classifyPixels=(m,p)=>{const c=classifyExact(m,p);if(typeof document!='undefined')c.probs[0]+=3e-6;return c}\n",
      ),
    );
    expect((await verify(['--core', core])).code).toBe(0);
    const r = await verify(['--core', core, '--browser', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, cases: COUNT, core, browser: expect.stringMatching(/^Chromium \d+\./) });
    expect(doc.failures).toHaveLength(COUNT);
    expect(doc.max.diff).toBeGreaterThan(1e-6);
  });

  it('a core module that does not load in a browser (it imports node:fs) is exit 3, though Node loads it', async () => {
    const core = coreVariant(dir, 'imports-node.js', (js) => `import 'node:fs';\n${js}`);
    expect((await verify(['--core', core])).code).toBe(0);
    const r = await verify(['--core', core, '--browser']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(`^digitkit verify: ${core}: the core module does not load in Chromium \\d+\\.[\\d.]+ \\(.+\\)\\n$`),
    );
  });

  it('no Chromium: exit 4 saying how to install one, in text and in --json (DIGITKIT_CHROMIUM or --chromium at a missing path)', async () => {
    const missing = path.join(dir, 'no-such-chromium');
    const r = await verify(['--browser'], { DIGITKIT_CHROMIUM: missing });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${missing} (from DIGITKIT_CHROMIUM) is not an executable file`);
    expect(r.stderr).toContain('apt-get install chromium');
    expect(r.stderr).toContain('DIGITKIT_CHROMIUM');
    const j = await verify(['--browser', '--json', '--chromium', missing]);
    expect(j.code).toBe(4);
    expect(JSON.parse(j.stdout).error).toMatchObject({
      code: 4,
      message: expect.stringContaining('apt-get install chromium'),
    });
  });

  it('fixtures made for another model: exit 3 as in Node; --chromium without --browser: exit 2', async () => {
    const other = writeRandomModel(dir, 'other.json', { seed: 42 });
    const r = await runCli(['verify', '--browser', '--model', other, '--fixtures', fixtures]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('regenerate the fixtures');
    expect((await verify(['--chromium', '/usr/bin/chromium'])).code).toBe(2);
  });
});

describe('the shipped model and fixtures in Chromium', () => {
  it('digitkit verify --browser passes on models/mnist-int8.json + fixtures/parity.json, max |Δp| <= 1e-6 in Chromium and in Node, through both modules', async () => {
    const missing = ['models/mnist-int8.json', 'fixtures/parity.json'].filter(
      (f) => !fs.existsSync(path.join(ROOT, f)),
    );
    if (missing.length)
      throw new Error(
        `${missing.join(' and ')} not in the repository yet: commit the shipped model and fixtures (\`digitkit pipeline\` writes both)`,
      );
    const [browser, node] = [await runCli(['verify', '--browser', '--json']), await runCli(['verify', '--json'])];
    expect(browser.code, browser.stderr).toBe(0);
    expect(node.code, node.stderr).toBe(0);
    const [b, n] = [JSON.parse(browser.stdout), JSON.parse(node.stdout)];
    expect(b.browser).toMatch(/^Chromium \d+\./);
    expect(b.ok && n.ok).toBe(true);
    // Both modules in both runtimes, each within 1e-6 (the top-level max is the worst row's).
    for (const doc of [b, n]) {
      expect(doc.rows.map((x: { module: string }) => x.module)).toEqual([
        'dist/core/index.js',
        'dist/core-wasm/index.js',
      ]);
      for (const row of doc.rows) expect(row.max.diff, row.name).toBeLessThanOrEqual(1e-6);
    }
  });
});
