// The shipped byte-budget frontier (issue 12): models/mnist-64k.json, mnist-40k.json and mnist-20k.json,
// written by `digitkit compress --max-bytes 64000|40000|20000` from the shipped float model. Each fits
// its budget, holds the accuracy floor on the test set (counted here through the core), and passes
// verify with its fixtures in Node and in Chromium (<= 1e-6).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyPixels, loadModel } from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { ROOT, runCli } from './helpers/cli.js';

const FRONTIER: [string, number, number][] = [
  ['64k', 64_000, 0.99],
  ['40k', 40_000, 0.988],
  ['20k', 20_000, 0.98],
];

describe.each(FRONTIER)('the shipped %s model', (tag, budget, floor) => {
  const model = `models/mnist-${tag}.json`;
  const fixtures = `fixtures/mnist-${tag}.json`;

  it(`fits ${budget} bytes and reaches ${(floor * 100).toFixed(1)}% on the test set through the core, as its meta says`, async () => {
    const file = path.join(ROOT, model);
    if (!fs.existsSync(file))
      throw new Error(`${model} is not in the repository: digitkit compress --max-bytes ${budget} writes it`);
    expect(fs.statSync(file).size).toBeLessThanOrEqual(budget);
    const text = fs.readFileSync(file, 'utf8');
    const m = loadModel(text, model);
    const { test } = await loadMnist(embeddedMnistDir(), ['t10k']);
    let ok = 0;
    for (let i = 0; i < test!.count; i++)
      if (classifyPixels(m, test!.images.subarray(i * 784, (i + 1) * 784)).index === test!.labels[i]) ok++;
    expect(ok / test!.count).toBeGreaterThanOrEqual(floor);
    const meta = m.meta as Record<string, any>;
    expect(meta.trainer).toBe('digitkit compress');
    expect(meta.compress.budget).toBe(budget);
    expect(meta.testAccuracy).toBeCloseTo(ok / test!.count, 5);
  });

  it('passes verify with its fixtures in Node and in Chromium, max |Δp| <= 1e-6', async () => {
    const args = ['verify', '--model', model, '--fixtures', fixtures, '--json'];
    const [node, browser] = [await runCli(args), await runCli([...args, '--browser'])];
    expect(node.code, node.stderr).toBe(0);
    expect(browser.code, browser.stderr).toBe(0);
    const [n, b] = [JSON.parse(node.stdout), JSON.parse(browser.stdout)];
    expect(n.ok && b.ok).toBe(true);
    expect(b.browser).toMatch(/^Chromium \d+\./);
    expect(Math.max(n.max.diff, b.max.diff)).toBeLessThanOrEqual(1e-6);
  });
});
