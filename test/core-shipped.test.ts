// The core as it ships (dist/core/index.js): no imports, no Node globals, loads in a realm that
// has nothing but the JavaScript built-ins (as a browser page would give it), bundles for the
// browser, and fits its size budget.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { rolldown } from 'rolldown';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { ROOT } from './helpers/cli.js';
import { randomModelText, tempDir } from './helpers/random-model.js';

const CORE = path.join(ROOT, 'dist/core/index.js');
const source = () => fs.readFileSync(CORE, 'utf8');

describe('the shipped core module (dist/core/index.js)', () => {
  it('contains no import, require, node:, process or Buffer', () => {
    const js = source();
    for (const word of [/\bimport\b/, /\brequire\b/, /node:/, /\bprocess\b/, /\bBuffer\b/])
      expect(js).not.toMatch(word);
  });

  it('is at most 5 KB (5,120 bytes) gzipped (the budget, preprocessing and the version-2 contract included)', () => {
    const file = fs.readFileSync(CORE);
    // Both gzip(1) -9 and zlib level 9 (what servers use): they differ by a few dozen bytes.
    expect(execFileSync('gzip', ['-9', '-c'], { input: file }).length).toBeLessThanOrEqual(5120);
    expect(gzipSync(file, { level: 9 }).length).toBeLessThanOrEqual(5120);
  });

  it('bundles for the browser with no import left over and no warning', async () => {
    const warnings: string[] = [];
    const bundle = await rolldown({
      input: CORE,
      platform: 'browser',
      logLevel: 'warn',
      onLog: (_level, log) => {
        warnings.push(log.message);
      },
    });
    const { output } = await bundle.generate({ format: 'es' });
    await bundle.close();
    expect(warnings).toEqual([]);
    expect(output).toHaveLength(1);
    expect(output[0].imports).toEqual([]);
    expect(output[0].dynamicImports).toEqual([]);
  });

  it('runs in a fresh realm with only the JavaScript built-ins, and computes what Node computes', async () => {
    const dir = tempDir();
    const modelText = randomModelText({ seed: 21 });
    const { test } = await loadMnist(embeddedMnistDir(), ['t10k']);
    const images = [0, 1, 2].map((i) => Array.from(test!.images.subarray(i * 784, (i + 1) * 784)));
    // Base64 of every length (the realm has no atob: the core's own decoder runs).
    const bytes = Array.from({ length: 40 }, (_, n) => Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255));
    const base64 = bytes.map((b) => Buffer.from(b).toString('base64'));
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({ modelText, images, base64 }));
    // A vm context has no process, Buffer, require, atob, TextDecoder or fetch; the module linker
    // refuses every import. Needs --experimental-vm-modules, hence a child process.
    const script = path.join(dir, 'realm.mjs');
    fs.writeFileSync(
      script,
      `
      import fs from 'node:fs';
      import vm from 'node:vm';
      const [core, input] = process.argv.slice(2);
      const context = vm.createContext({});
      const names = vm.runInContext('Object.getOwnPropertyNames(globalThis).join()', context);
      const mod = new vm.SourceTextModule(fs.readFileSync(core, 'utf8'), { context, identifier: 'core' });
      await mod.link((spec) => { throw new Error('the core imports ' + spec); });
      await mod.evaluate();
      context.core = mod.namespace;
      context.input = fs.readFileSync(input, 'utf8');
      const out = vm.runInContext(\`
        const { modelText, images, base64 } = JSON.parse(input);
        const model = core.loadModel(modelText, 'model.json');
        JSON.stringify({
          probs: images.map((px) => Array.from(core.classifyPixels(model, px).probs)),
          decoded: base64.map((s) => Array.from(core.decodeBase64(s))),
          refused: ['AB=C', 'AA A', 'AA-_', 'A==='].map((s) => core.decodeBase64(s)),
        });
      \`, context);
      process.stdout.write(JSON.stringify({ names, ...JSON.parse(out) }));
    `,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--experimental-vm-modules',
      '--no-warnings',
      script,
      CORE,
      path.join(dir, 'input.json'),
    ]);
    const { names, probs, decoded, refused } = JSON.parse(stdout);
    for (const g of ['process', 'Buffer', 'require', 'atob', 'TextDecoder', 'fetch', 'window'])
      expect(names.split(',')).not.toContain(g);
    const node = await import(pathToFileURL(CORE).href);
    const model = node.loadModel(modelText);
    expect(probs).toEqual(images.map((px) => Array.from(node.classifyPixels(model, px).probs)));
    expect(decoded).toEqual(bytes);
    expect(refused).toEqual([null, null, null, null]);
  });
});
